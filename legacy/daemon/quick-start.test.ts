import { afterEach, describe, expect, it } from 'vitest';
import { Node, RecoveryMode } from '../protocol/constants.ts';
import { QUICK_START_TIMING } from './daemon.ts';
import { TestCluster } from './testing/test-cluster.ts';

/**
 * `ctdb-bridge node --quick-start` (the embedded local cluster's default):
 * the first election starts once every node is connected instead of after
 * the leader timeout, and a node connects back to a peer as soon as that
 * peer connects to it. Leader timeout and reconnect interval are set to a
 * minute here, so only those two paths can bring the cluster up in time.
 */

const MINUTE = 60_000;
let cluster: TestCluster | undefined;

afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

describe('quick start', () => {
  it('elects and recovers once every node is connected, without waiting out the leader timeout or a reconnect interval', async () => {
    cluster = await TestCluster.create({
      nodes: 3, timing: { ...QUICK_START_TIMING, leaderTimeoutMs: MINUTE, reconnectIntervalMs: MINUTE },
    });
    const started = Date.now();
    await cluster.startAll(); // one after the other: node 0's first connect attempts fail
    await cluster.until(() => cluster!.settled(), 5_000, 'cluster settled');
    expect(Date.now() - started).toBeLessThan(5_000);
    // The node that started first has the earliest priority time: it wins, as with ctdbd's waits.
    expect(cluster.daemons.map((d) => d!.recoverd.leader)).toEqual([0, 0, 0]);
    for (const d of cluster.daemons) expect(d!.state.vnnMap.generation).not.toBe(1);
  });

  it("without it, ctdbd's wait holds: no election before the leader timeout", async () => {
    cluster = await TestCluster.create({ nodes: 2, timing: { leaderTimeoutMs: MINUTE } });
    await cluster.startAll();
    await cluster.until(() => cluster!.daemons.every((d) => d!.state.isConnected(0) && d!.state.isConnected(1)), 5_000, 'nodes connected');
    await new Promise((r) => setTimeout(r, 1_500));
    for (const d of cluster.daemons) {
      expect(d!.recoverd.leader).toBe(Node.UNKNOWN_PNN);
      expect(d!.state.recoveryMode).toBe(RecoveryMode.ACTIVE);
    }
  });

  it('a node rejoining a running cluster does not take the lead from the node that has it', async () => {
    cluster = await TestCluster.create({ nodes: 3, timing: { ...QUICK_START_TIMING, leaderTimeoutMs: MINUTE } });
    await cluster.startAll();
    await cluster.until(() => cluster!.settled(), 5_000, 'cluster settled');
    await cluster.stopNode(2);
    await cluster.startNode(2);
    await cluster.until(() => cluster!.settled(), 5_000, 'cluster settled after the rejoin');
    expect(cluster.daemons.map((d) => d!.recoverd.leader)).toEqual([0, 0, 0]);
  });

  it('a node that may not lead waits for the others instead of electing', async () => {
    cluster = await TestCluster.create({
      nodes: 1, extraConf: '[cluster]\n\tleader capability = false', timing: { ...QUICK_START_TIMING, leaderTimeoutMs: MINUTE },
    });
    await cluster.startAll();
    await new Promise((r) => setTimeout(r, 1_000));
    expect(cluster.daemons[0]!.recoverd.leader).toBe(Node.UNKNOWN_PNN);
  });
});
