/**
 * Keepalives and dead-node detection (behaviour.md §2): every interval a
 * REQ_KEEPALIVE goes to every other node we see connected; per node we
 * count the packets that arrived (by header srcnode). A node from which
 * nothing arrived for `limit` consecutive intervals is declared dead.
 */

export interface KeepaliveHost {
  /** PNNs of the other nodes we currently see connected (not DISCONNECTED/DELETED). */
  connectedPeers(): number[];
  sendKeepalive(pnn: number): void;
  declareDead(pnn: number, reason: string): void;
}

export class KeepaliveMonitor {
  private readonly rx: Uint32Array;
  private readonly deadCount: Uint32Array;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    nodeCount: number,
    private readonly host: KeepaliveHost,
    private readonly intervalMs: () => number,
    private readonly limit: () => number,
  ) {
    this.rx = new Uint32Array(nodeCount);
    this.deadCount = new Uint32Array(nodeCount);
  }

  /** Counts one received packet from `srcnode` (hot path: no allocation). */
  received(srcnode: number): void {
    if (srcnode < this.rx.length) this.rx[srcnode]++;
  }

  /** A (re)connected node starts with a clean slate. */
  reset(pnn: number): void {
    if (pnn < this.rx.length) {
      this.rx[pnn] = 0;
      this.deadCount[pnn] = 0;
    }
  }

  start(): void {
    this.schedule();
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.tick();
      this.schedule();
    }, this.intervalMs());
    this.timer.unref?.();
  }

  /** One keepalive period (public for tests). */
  tick(): void {
    const limit = this.limit();
    for (const pnn of this.host.connectedPeers()) {
      if (this.rx[pnn] === 0) {
        this.deadCount[pnn]++;
        if (this.deadCount[pnn] >= limit) {
          this.deadCount[pnn] = 0;
          this.host.declareDead(pnn, `no packets for ${limit} keepalive intervals`);
          continue;
        }
      } else {
        this.deadCount[pnn] = 0;
      }
      this.rx[pnn] = 0;
      this.host.sendKeepalive(pnn);
    }
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
