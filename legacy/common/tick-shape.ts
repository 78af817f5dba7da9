import { createHook } from 'node:async_hooks';

/**
 * Keeps one process.nextTick queue entry alive for the life of the process.
 *
 * Why: Node's streams call process.nextTick on every socket read and write.
 * Each queue entry is an object literal with computed keys; V8 optimizes it
 * only while the entry's hidden class (map) stays the same. When no entry is
 * alive, a full GC frees that map, the next entry gets a new one, and V8
 * marks the literal megamorphic for good: from then on every nextTick goes
 * through the V8 runtime. A process that once sat idle through a full GC
 * paid that on every packet from then on (measured: 4-6% of the embedded
 * daemon's CPU per round trip; ~1,000 instructions per transport request
 * in transportd). One retained entry keeps the map alive. Called by every
 * long-lived socket user: the embedded daemon, LegacyClient, transportd.
 * The entry is caught by a one-shot async hook (the only public way to see
 * it), disabled again at once, so no hook stays installed.
 *
 * Call early, before the process first idles through a full GC.
 */

let pinned: object | undefined;

export function pinTickObjectShape(): void {
  if (pinned) return;
  const hook = createHook({
    init(_asyncId, type, _triggerAsyncId, resource) {
      if (type === 'TickObject' && !pinned) pinned = resource;
    },
  });
  hook.enable();
  try {
    process.nextTick(noop);
  } finally {
    hook.disable();
  }
}

function noop(): void {}

/** The retained entry (tests). */
export function pinnedTickObject(): object | undefined {
  return pinned;
}
