// Quorum self-release: a node that cannot see a majority of the nodes file
// for longer than `[failoverd] quorum loss` ms gives up every public address
// it hosts by itself and takes nothing until it sees a majority again. The
// majority side moves those addresses meanwhile (the leader plans a node its
// clusterd finds unreachable as disconnected), so without this an isolated
// node would answer on addresses the survivors also answer on.
//
// Pure: the caller feeds clusterd's status and a monotonic clock.

import type { ClusterStatus, NodeStatus } from '../clusterd/status.ts';

/**
 * States clusterd gives a node that it cannot hear from. Everything else is
 * reachable, including a legacy-only node (no clusterd, stage 0/1 of a mixed
 * cluster) that ctdbd lists as connected: clusterd judges such a node by
 * ctdbd's flags alone, and counting it as lost would make a mixed cluster
 * release everything.
 */
const LOST_STATES: ReadonlySet<NodeStatus['state']> = new Set(['disconnected', 'unreachable', 'unknown']);

/** Nodes of the nodes file this node can see (itself always). */
export function reachableNodes(status: ClusterStatus, nodes: readonly number[]): number[] {
  const byPnn = new Map(status.nodes.map((n) => [n.pnn, n]));
  return nodes.filter((pnn) => {
    if (pnn === status.node) return true;
    const n = byPnn.get(pnn);
    return n !== undefined && !LOST_STATES.has(n.state);
  });
}

/** Nodes clusterd hears nothing from although a clusterd runs there: a takeover run plans them as disconnected. */
export function unreachableNodes(status: ClusterStatus | undefined): number[] {
  return (status?.nodes ?? []).filter((n) => n.pnn !== status!.node && n.clusterd && n.state === 'unreachable').map((n) => n.pnn);
}

export type QuorumState =
  /** A majority is visible (or clusterd has not answered yet: nothing to judge by). */
  | { kind: 'quorum' }
  /** Lost, but not yet for `lossMs`: keep hosting, take nothing new. */
  | { kind: 'lost'; sinceMs: number; seen: number[] }
  /** Lost for `lossMs` or longer: release everything hosted here. */
  | { kind: 'release'; sinceMs: number; seen: number[] };

export class QuorumGuard {
  private lostAt: number | undefined;

  constructor(private lossMs: number) {}

  setLossMs(ms: number): void {
    this.lossMs = ms;
  }

  /**
   * One observation. `status` undefined: clusterd does not answer; that says
   * nothing about the other nodes, so the previous judgement stands (a lost
   * quorum stays lost, a held one stays held).
   */
  observe(now: number, status: ClusterStatus | undefined, nodes: readonly number[]): QuorumState {
    if (status === undefined) {
      return this.lostAt === undefined ? { kind: 'quorum' } : this.judge(now, []);
    }
    const seen = reachableNodes(status, nodes);
    const majority = Math.floor(nodes.length / 2) + 1;
    if (seen.length >= majority) {
      this.lostAt = undefined;
      return { kind: 'quorum' };
    }
    this.lostAt ??= now;
    return this.judge(now, seen);
  }

  private judge(now: number, seen: number[]): QuorumState {
    const sinceMs = now - this.lostAt!;
    return { kind: sinceMs >= this.lossMs ? 'release' : 'lost', sinceMs, seen };
  }
}
