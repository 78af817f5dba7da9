import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger } from '../legacy/common/log.ts';
import { CtdbdDriver } from '../components/failoverd/ctdbd-driver.ts';
import { startRealSuiteCluster, type RealSuiteCluster } from './support/suite-clusters.ts';
import { eventually } from './suites/client-support.ts';

/**
 * failoverd's hold on ctdbd's own takeover runs, against Debian's ctdbd 4.17:
 * every node's recovery daemon confirms DISABLE_TAKEOVER_RUNS with its PNN,
 * logs it, turns its runs back on at timeout 0 (handback) and by itself when
 * a lease is not renewed (a dead failoverd); a dead node stays unconfirmed.
 */
describe('takeover-runs lease on a real ctdbd 4.17 cluster', () => {
  let cluster: RealSuiteCluster;
  let driver: CtdbdDriver;
  const log = (pnn: number) => readFile(join(cluster.nodes[pnn].base, 'log.ctdb'), 'utf8');
  const count = (text: string, needle: string) => text.split(needle).length - 1;

  beforeAll(async () => {
    cluster = await startRealSuiteCluster({ nodes: 3 });
    driver = new CtdbdDriver({ socketPath: cluster.nodes[0].socketPath, logger: silentLogger('lease-test') });
  }, 120_000);

  afterAll(async () => {
    await driver?.close();
    await cluster?.teardown();
  });

  test('hold: every recovery daemon confirms with its PNN and turns its takeover runs off for the lease', async () => {
    const answer = await driver.lease.hold([0, 1, 2], 30);
    expect(answer.confirmed.sort()).toEqual([0, 1, 2]);
    expect(answer.unconfirmed).toEqual([]);
    expect(answer.refusals).toEqual([]);
    for (const pnn of [0, 1, 2]) {
      await eventually(async () => (await log(pnn)).includes('Disabling takeover runs for 30 seconds'), 5000, `node ${pnn} logs the hold`);
    }
  });

  test('release (timeout 0) turns them back on at once on every node', async () => {
    const answer = await driver.lease.release([0, 1, 2]);
    expect(answer.confirmed.sort()).toEqual([0, 1, 2]);
    for (const pnn of [0, 1, 2]) {
      await eventually(async () => /Reenabling takeover runs\n/.test(await log(pnn)), 5000, `node ${pnn} logs the release`);
    }
  });

  test('a lease that is not renewed lapses: ctdbd turns its runs back on by itself', async () => {
    const before = await Promise.all([0, 1, 2].map(async (p) => count(await log(p), 'Reenabling takeover runs after timeout')));
    const answer = await driver.lease.hold([0, 1, 2], 1);
    expect(answer.confirmed.sort()).toEqual([0, 1, 2]);
    for (const pnn of [0, 1, 2]) {
      await eventually(async () => count(await log(pnn), 'Reenabling takeover runs after timeout') === before[pnn] + 1, 10_000, `node ${pnn} lapses`);
    }
  });

  test('a dead node stays unconfirmed; the others still confirm', async () => {
    await cluster.killNode(2);
    const answer = await driver.lease.hold([0, 1, 2], 5);
    expect(answer.confirmed.sort()).toEqual([0, 1]);
    expect(answer.unconfirmed).toEqual([2]);
    await driver.lease.release([0, 1]);
  });
});
