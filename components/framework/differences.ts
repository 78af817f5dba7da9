// Shadow mode's bookkeeping, for every component that runs beside ctdbd and
// compares: which differences are open now, and how many appeared in all.
// A difference counts once from the moment it has lasted `settleMs` (state
// in flight on ctdbd's side is not a difference yet); one that goes and
// comes back counts again.

export interface Difference {
  /** "node 2", "leader", "10.0.0.1". */
  subject: string;
  ours: string;
  legacy: string;
}

export class DifferenceCounter {
  /** Open differences by key, with the time each was first seen. */
  private open = new Map<string, number>();
  private counted = new Set<string>();
  total = 0;
  /** The differences that have lasted at least settleMs. */
  current: Difference[] = [];

  /** `settleMs` may change at any time (a configuration reload): it applies from the next update. */
  constructor(public settleMs = 0) {}

  /** Returns the differences counted by this update. */
  update(diffs: Difference[], now = 0): Difference[] {
    const next = new Map<string, number>();
    const nextCounted = new Set<string>();
    const fresh: Difference[] = [];
    const current: Difference[] = [];
    for (const d of diffs) {
      const key = `${d.subject}|${d.ours}|${d.legacy}`;
      const since = this.open.get(key) ?? now;
      next.set(key, since);
      if (now - since < this.settleMs) continue;
      current.push(d);
      nextCounted.add(key);
      if (!this.counted.has(key)) fresh.push(d);
    }
    this.total += fresh.length;
    this.open = next;
    this.counted = nextCounted;
    this.current = current;
    return fresh;
  }
}
