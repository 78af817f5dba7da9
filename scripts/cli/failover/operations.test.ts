import { describe, expect, it } from 'vitest';
import type { TransportClient } from '../../../transport/index.ts';
import type { Endpoint } from '../../../transport/endpoint.ts';
import type { FailoverdMode } from '../../../components/framework/bridge-conf.ts';
import type { FailoverStatus } from '../../../components/failoverd/status.ts';
import { drainNode, FailoverStepError, switchMode } from './operations.ts';

/**
 * The operations against a scripted cluster of three nodes: clusterd on
 * node 0 leads; a drain marks the node on every failoverd, and the deciding
 * one's placement then moves node 1's address to node 2. `legacy` nodes run
 * no clusterd (stage 0).
 */
function fakeCluster(initial: FailoverdMode, legacy: number[] = []) {
  let mode = initial;
  const drained = new Set<number>();
  const requests: string[] = [];
  const status = (): FailoverStatus => ({
    node: 0, mode, leader: 0, epoch: 1, deciding: true,
    addresses: [{ ip: '10.0.1.1', host: 0, plan: 0 }, { ip: '10.0.1.2', host: drained.has(1) ? 2 : 1, plan: drained.has(1) ? 2 : 1 }],
    drained: [...drained], differences: { current: [], total: 0 }, lastRun: null, runs: 1,
    takeoverLease: mode === 'shadow' ? null : { held: true, nodes: [0, 1, 2], renewedAgoMs: 0 },
  });
  const client = {
    request: async (to: Endpoint, type: string, body: { pnn?: number; drained?: boolean; mode?: FailoverdMode }) => {
      requests.push(`${to.node}:${type}`);
      if (type === 'clusterd.status') return { leader: 0, nodes: [0, 1, 2].map((pnn) => ({ pnn, state: 'ok', clusterd: !legacy.includes(pnn) })) };
      if (legacy.includes(to.node)) throw new Error(`nothing answers on node ${to.node}`);
      if (type === 'failoverd.set-mode') {
        mode = body.mode!;
        return { mode };
      }
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

describe('failover handover with a legacy node', () => {
  it('switches the failoverd of every node running clusterd; the legacy node is left to its ctdbd', async () => {
    const { client, requests } = fakeCluster('shadow', [2]);
    const progress: string[] = [];
    const r = await switchMode(client, 'active', { ...opts, progress: (l) => progress.push(l) });
    expect(r.status.mode).toBe('active');
    expect(requests.filter((q) => q.endsWith('failoverd.set-mode'))).toEqual(['0:failoverd.set-mode', '1:failoverd.set-mode']);
    expect(progress).toContain('node(s) 2 legacy: their ctdbd follows failoverd\'s controls');
  });

  it('a node running clusterd whose failoverd is silent refuses the switch before any is made', async () => {
    const { client, requests } = fakeCluster('shadow');
    const silent = { ...client, request: async (to: Endpoint, type: string, body: unknown) => {
      if (to.node === 1 && type.startsWith('failoverd.')) throw new Error('no failoverd');
      return client.request(to, type, body as object);
    } } as unknown as TransportClient;
    await expect(switchMode(silent, 'active', opts)).rejects.toThrow(/failoverd does not answer on node\(s\) 1/);
    expect(requests.filter((q) => q.endsWith('failoverd.set-mode'))).toEqual([]);
  });
});
