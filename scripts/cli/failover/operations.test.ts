import { describe, expect, it } from 'vitest';
import type { TransportClient } from '../../../transport/index.ts';
import type { Endpoint } from '../../../transport/endpoint.ts';
import type { FailoverdMode } from '../../../components/framework/bridge-conf.ts';
import type { FailoverStatus } from '../../../components/failoverd/status.ts';
import { drainNode, FailoverStepError } from './operations.ts';

/**
 * drainNode against a scripted cluster of three failoverds: clusterd on
 * node 0 leads; a drain marks the node on every failoverd, and the deciding
 * one's placement then moves node 1's address to node 2.
 */
function fakeCluster(mode: FailoverdMode) {
  const drained = new Set<number>();
  const requests: string[] = [];
  const status = (): FailoverStatus => ({
    node: 0, mode, leader: 0, epoch: 1, deciding: true,
    addresses: [{ ip: '10.0.1.1', host: 0, plan: 0 }, { ip: '10.0.1.2', host: drained.has(1) ? 2 : 1, plan: drained.has(1) ? 2 : 1 }],
    drained: [...drained], differences: { current: [], total: 0 }, takeoverLease: null, lastRun: null, runs: 1,
  });
  const client = {
    request: async (to: Endpoint, type: string, body: { pnn?: number; drained?: boolean }) => {
      requests.push(`${to.node}:${type}`);
      if (type === 'clusterd.status') return { leader: 0, nodes: [0, 1, 2].map((pnn) => ({ pnn, state: 'healthy' })) };
      if (type === 'failoverd.drain') {
        if (body.drained) drained.add(body.pnn!);
        else drained.delete(body.pnn!);
        return { drained: [...drained] };
      }
      return status();
    },
  } as unknown as TransportClient;
  return { client, requests };
}

const opts = { timeoutMs: 1000, pollMs: 1, sleep: async () => undefined };

describe('failover drain', () => {
  it.each(['active', 'native'] as const)('in %s mode (failoverd performs the runs) marks the node on every failoverd and reports what moved', async (mode) => {
    const { client, requests } = fakeCluster(mode);
    const r = await drainNode(client, 1, true, opts);
    expect(r.moved).toEqual([{ ip: '10.0.1.2', from: 1, to: 2 }]);
    expect(requests.filter((q) => q.endsWith('failoverd.drain')).sort()).toEqual(['0:failoverd.drain', '1:failoverd.drain', '2:failoverd.drain']);
  });

  it('in shadow mode (ctdbd performs the runs) is refused before anything is marked', async () => {
    const { client, requests } = fakeCluster('shadow');
    await expect(drainNode(client, 1, true, opts)).rejects.toBeInstanceOf(FailoverStepError);
    expect(requests.filter((q) => q.endsWith('failoverd.drain'))).toEqual([]);
  });
});
