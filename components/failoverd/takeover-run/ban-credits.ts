/**
 * Banning credits of one takeover run: a node earns one per control that
 * failed on it. When the run fails, the node with the most (lowest PNN on a
 * tie) is reported to the local recovery daemon on SRVID_BANNING, which
 * bans repeat offenders (ctdb_takeover_helper's takeover_failed).
 */
export class BanCredits {
  private readonly counts = new Map<number, number>();

  add(pnn: number): void {
    this.counts.set(pnn, (this.counts.get(pnn) ?? 0) + 1);
  }

  get(pnn: number): number {
    return this.counts.get(pnn) ?? 0;
  }

  /** The node to report: most credits, lowest PNN among equals; undefined when nobody has any. */
  culprit(): number | undefined {
    let best: number | undefined;
    for (const [pnn, n] of this.counts) {
      if (best === undefined || n > this.get(best) || (n === this.get(best) && pnn < best)) best = pnn;
    }
    return best;
  }

  /** PNN -> credits, for results and logs. */
  toObject(): Record<number, number> {
    return Object.fromEntries([...this.counts].sort((a, b) => a[0] - b[0]));
  }
}
