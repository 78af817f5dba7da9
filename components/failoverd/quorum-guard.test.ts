import { describe, expect, test } from 'vitest';
import type { ClusterStatus, NodeStatus } from '../clusterd/status.ts';
import { QuorumGuard, reachableNodes, unreachableNodes } from './quorum-guard.ts';

const NODES = [0, 1, 2, 3, 4];

function status(self: number, views: Record<number, Partial<NodeStatus>>): ClusterStatus {
  return {
    node: self, mode: 'active', leader: 0, epoch: 1, leaseRemainingMs: null,
    nodes: NODES.map((pnn) => ({ pnn, address: `10.0.0.${pnn}`, state: 'ok', legacyFlags: 0, clusterd: true, heartbeatAgeMs: 100, ...views[pnn] })),
    legacy: { reachable: true, leader: 0 }, differences: { current: [], total: 0 }, clusterLock: null,
  };
}

describe('quorum guard', () => {
  test('reachable: self always; unreachable, disconnected and unknown nodes are not; legacy-only connected nodes are', () => {
    const s = status(4, { 0: { state: 'unreachable' }, 1: { state: 'disconnected' }, 2: { state: 'unknown' }, 3: { clusterd: false, state: 'banned' }, 4: { state: 'unreachable' } });
    expect(reachableNodes(s, NODES)).toEqual([3, 4]);
    expect(unreachableNodes(s)).toEqual([0]);
    expect(unreachableNodes(undefined)).toEqual([]);
  });

  test('lost below a majority; release only after the loss lasted lossMs; regained resets the clock', () => {
    const g = new QuorumGuard(1000);
    const two = status(0, { 2: { state: 'unreachable' }, 3: { state: 'unreachable' }, 4: { state: 'unreachable' } });
    const three = status(0, { 3: { state: 'unreachable' }, 4: { state: 'unreachable' } });
    expect(g.observe(0, three, NODES)).toEqual({ kind: 'quorum' });
    expect(g.observe(100, two, NODES)).toEqual({ kind: 'lost', sinceMs: 0, seen: [0, 1] });
    expect(g.observe(1099, two, NODES).kind).toBe('lost');
    expect(g.observe(1100, two, NODES)).toEqual({ kind: 'release', sinceMs: 1000, seen: [0, 1] });
    // clusterd silent: the judgement stands.
    expect(g.observe(1200, undefined, NODES).kind).toBe('release');
    expect(g.observe(1300, three, NODES)).toEqual({ kind: 'quorum' });
    expect(g.observe(1400, two, NODES).kind).toBe('lost');
    expect(new QuorumGuard(1000).observe(0, undefined, NODES)).toEqual({ kind: 'quorum' });
  });

  test('a quorum loss of 0 ms releases at the first observation', () => {
    const g = new QuorumGuard(0);
    expect(g.observe(5, status(0, { 1: { state: 'unreachable' }, 2: { state: 'unreachable' }, 3: { state: 'unreachable' } }), NODES).kind).toBe('release');
  });
});
