import type { Socket } from 'node:net';

/**
 * Socket writes of the daemon, batched per input chunk: while the daemon
 * handles one chunk read from a client or a node (`dispatch`), the first
 * packet for a socket is written at once (lowest latency for a single
 * reply) and further packets for the same socket are corked and leave in
 * one writev when the chunk is done. Writes outside a dispatch (timers,
 * async control handlers) go out directly.
 * (No closures per chunk: tsx's keepNames makes every closure creation costly.)
 */

export interface BatchTarget {
  readonly socket: Socket;
  /** Dispatch epoch of this target's last write (internal). */
  batchEpoch: number;
  batchCorked: boolean;
}

let epoch = 1;
let depth = 0;
const corked: BatchTarget[] = [];

/** Start of handling one input chunk (pair with endDispatch in a finally). */
export function beginDispatch(): void {
  if (depth++ === 0) epoch++;
}

export function endDispatch(): void {
  if (--depth === 0) flush();
}

export function batchWrite(t: BatchTarget, packet: Buffer): void {
  const s = t.socket;
  if (depth > 0) {
    if (t.batchEpoch !== epoch) {
      t.batchEpoch = epoch;
    } else if (!t.batchCorked) {
      t.batchCorked = true;
      s.cork();
      corked.push(t);
    }
  }
  s.write(packet);
}

function flush(): void {
  // Nearly always empty; setting .length on an array is a runtime call even then.
  if (corked.length === 0) return;
  for (let i = 0; i < corked.length; i++) {
    const t = corked[i];
    t.batchCorked = false;
    t.socket.uncork();
  }
  corked.length = 0;
}
