import { describe, expect, it } from 'vitest';
import { BUSY_PACKETS_PER_SECOND, V8_INTERRUPT_BUDGET, tierUpWhenBusy } from './tier-up.ts';

function harness() {
  let tick: (() => void) | undefined;
  let cleared = false;
  const flags: string[] = [];
  let count = 0;
  const stop = tierUpWhenBusy(() => count, {
    intervalMs: 1000, setFlags: (f) => flags.push(f), onTierUp: () => flags.push('told'),
    setInterval: (fn) => ((tick = fn), {}), clearInterval: () => (cleared = true),
  });
  return { flags, add: (n: number) => (count += n), tick: () => tick!(), cleared: () => cleared, stop };
}

describe('tierUpWhenBusy', () => {
  it('leaves an idle daemon alone however long it runs', () => {
    const h = harness();
    for (let s = 0; s < 10_000; s++) {
      h.add(BUSY_PACKETS_PER_SECOND / 10);
      h.tick();
    }
    expect(h.flags).toEqual([]);
    expect(h.cleared()).toBe(false);
  });

  it('restores V8\'s budget once, in the first busy interval, and stops watching', () => {
    const h = harness();
    h.add(BUSY_PACKETS_PER_SECOND - 1);
    h.tick();
    expect(h.flags).toEqual([]);
    h.add(BUSY_PACKETS_PER_SECOND);
    h.tick();
    expect(h.flags).toEqual([`--interrupt-budget=${V8_INTERRUPT_BUDGET}`, 'told']);
    expect(h.cleared()).toBe(true);
  });

  it('can be stopped before the daemon gets busy', () => {
    const h = harness();
    h.stop();
    expect(h.cleared()).toBe(true);
  });
});
