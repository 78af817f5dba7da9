import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CLI_ENTRY } from '../legacy/common/package-info.ts';
import type { FailoverStatus } from '../components/failoverd/status.ts';
import { isAlive, killAll } from '../scripts/local-cluster/processes.ts';
import { ChildProcessSpawner, LocalClusterServiceManager } from '../scripts/services/local-cluster-service-manager.ts';
import { BRIDGE_SERVICES } from '../scripts/services/services.ts';
import { startRealSuiteCluster, type RealSuiteCluster } from './support/suite-clusters.ts';
import { eventually } from './suites/client-support.ts';

const run = promisify(execFile);

/**
 * The local-cluster side of the service-manager seam with real daemons on a
 * 3-node cluster of Debian's ctdbd (handover needs ctdbd's takeover-run
 * controls): starting failoverd brings up transportd and clusterd first;
 * stopping failoverd runs the real `failover drain` first, as the unit's
 * ExecStop does (refused in shadow mode: the stop happens anyway; done in
 * active mode), and leaves the others running; every PID is gone after stopAll.
 */
describe('LocalClusterServiceManager with real daemons on a real ctdbd cluster', () => {
  let cluster: RealSuiteCluster;
  let manager: LocalClusterServiceManager;
  const warnings: string[] = [];
  const everyPid = new Set<number>();

  beforeAll(async () => {
    cluster = await startRealSuiteCluster({ nodes: 3 });
    manager = new LocalClusterServiceManager({
      cluster: { dir: cluster.fixture.dir, nodes: cluster.nodes },
      spawner: new ChildProcessSpawner({ pollIntervalMs: 250 }),
      warn: (line) => warnings.push(line),
    });
  }, 120_000);

  afterAll(async () => {
    await manager?.stopAll().catch(() => undefined);
    await killAll([...everyPid]);
    await cluster?.teardown();
  }, 120_000);

  const failover = async (pnn: number, args: string[]) =>
    JSON.parse((await run(process.execPath, [CLI_ENTRY, 'failover', ...args, '--json', '--socket', manager.transportSocket(pnn)],
      { timeout: 60_000 })).stdout) as { drained?: number[] } & FailoverStatus;

  test('starting failoverd on every node starts transportd and clusterd there first', async () => {
    await Promise.all(cluster.nodes.map((n) => manager.start(n.pnn, 'failoverd')));
    for (const n of cluster.nodes) {
      for (const service of BRIDGE_SERVICES) {
        const s = await manager.status(n.pnn, service);
        expect(s.state).toBe('running');
        expect(isAlive(s.pid!)).toBe(true);
        everyPid.add(s.pid!);
      }
    }
    expect(everyPid.size).toBe(9);
    await eventually(async () => (await failover(0, ['status']).catch(() => undefined))?.deciding === true || undefined,
      30_000, 'a deciding failoverd');
  });

  test('in shadow mode the drain is refused (ctdbd does failover): the stop still happens, with a warning', async () => {
    const pid = (await manager.status(2, 'failoverd')).pid!;
    await manager.stop(2, 'failoverd');
    expect(warnings).toEqual([expect.stringMatching(/^node 2: drain before stopping failoverd failed, stopping anyway: .*shadow mode/)]);
    expect(isAlive(pid)).toBe(false);
    expect((await manager.status(2, 'failoverd')).state).toBe('stopped');
    expect((await manager.status(2, 'clusterd')).state).toBe('running');
    await manager.start(2, 'failoverd');
    everyPid.add((await manager.status(2, 'failoverd')).pid!);
  });

  test('in active mode stopping failoverd drains its node first, then stops only failoverd', async () => {
    warnings.length = 0;
    await failover(0, ['handover']);
    const pid = (await manager.status(2, 'failoverd')).pid!;
    await manager.stop(2, 'failoverd');
    expect(warnings).toEqual([]);
    expect(isAlive(pid)).toBe(false);
    expect((await manager.status(2, 'clusterd')).state).toBe('running');
    expect((await failover(0, ['status'])).drained).toEqual([2]);
    await manager.start(2, 'failoverd');
    everyPid.add((await manager.status(2, 'failoverd')).pid!);
  });

  test('stopAll stops every process it started', async () => {
    await manager.stopAll();
    expect(manager.pids()).toEqual([]);
    expect([...everyPid].filter(isAlive)).toEqual([]);
    for (const n of cluster.nodes) for (const service of BRIDGE_SERVICES) expect((await manager.status(n.pnn, service)).state).toBe('stopped');
  }, 120_000);
});
