import type { ClientTimers } from './timers.ts';

/**
 * Timers driven by hand (tests, simulations): nothing fires until advance()
 * moves the clock past the deadline.
 */
export class ManualTimers implements ClientTimers {
  private now = 0;
  private seq = 0;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();
  /** Every delay ever requested, in order (to assert backoff schedules). */
  readonly requested: number[] = [];

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.requested.push(ms);
    this.pending.set(id, { at: this.now + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  get size(): number {
    return this.pending.size;
  }

  /** Move the clock forward, firing due timers in deadline order. */
  advance(ms: number): void {
    const target = this.now + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.pending) if (e[1].at <= target && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.pending.delete(next[0]);
      this.now = next[1].at;
      next[1].fn();
    }
    this.now = target;
  }
}
