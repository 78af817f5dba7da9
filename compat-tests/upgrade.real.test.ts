import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../legacy/common/log.ts';
import { NetnsRealLocalCluster } from '../scripts/local-cluster/netns/index.ts';
import { trackCluster, untrackCluster } from './support/live-clusters.ts';
import { eventually } from './suites/client-support.ts';
import { killServices, killUpgradeWhen, pidFileOf, runUpgrade, servicePids, type UpgradeRun } from './suites/upgrade-cli.ts';
import { isAlive, readPidFile } from '../scripts/local-cluster/processes.ts';
import type { Stage } from '../scripts/cli/upgrade/stages.ts';

/**
 * The migration CLI on a 3-node cluster of Debian's ctdbd 4.17 with public
 * IP failover (netns harness, subnet 10.120-129.x): 0 -> 1 -> 2 node by
 * node, 3 and 4 cluster-wide (stage 4's ws transportds listen in the nodes'
 * namespaces), then back to 0; Debian's `ctdb status` and `ctdb ip` answer
 * on every node at every stage, and no public address moves (as `ctdb ip
 * all` says and as the client namespace finds); a refused preflight changes
 * nothing; a CLI killed mid-step leaves a half-done node that a rerun
 * finishes. Each CLI run is its own process (services outlive it), and each
 * transition's duration is printed.
 */

interface StatusJson {
  nodes: Array<{ pnn: number; stage: Stage; partial: string | null; uplink: string | null; failoverdMode: string | null }>;
  deciding: { mode: string; leaseHeld: boolean; differences: number } | null;
}

describe('ctdb-bridge upgrade on a real ctdbd 4.17 cluster with public addresses (netns)', () => {
  let cluster: NetnsRealLocalCluster;
  let dir: string;
  const timings: Array<[string, number]> = [];

  const status = async (): Promise<StatusJson> => {
    const r = await runUpgrade(dir, ['status', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as StatusJson;
  };
  const stages = async () => (await status()).nodes.map((n) => n.stage);

  /**
   * Debian's ctdb CLI answers on every node (asked in parallel): all nodes OK,
   * the same `ctdb ip all` everywhere, and every public address answered from
   * the client namespace by the node ctdb names. Returns that placement.
   */
  async function ctdbAnswers(label = 'start'): Promise<string> {
    const answers = await Promise.all(cluster.nodes.map(async (n) => {
      const [s, ip] = await Promise.all([cluster.ctdb(n.pnn, ['status']), cluster.ctdb(n.pnn, ['-X', 'ip', 'all'])]);
      expect(s.exitCode, s.stderr).toBe(0);
      expect(s.stdout.match(/^pnn:\d+ \S+ +OK/gm)?.length, s.stdout).toBe(cluster.nodes.length);
      expect(ip.exitCode, ip.stderr).toBe(0);
      return ip.stdout;
    }));
    expect(new Set(answers).size).toBe(1);
    const ctdb = await cluster.ctdbIpAll(0);
    const client = await cluster.netns.answersAll();
    expect(Object.fromEntries(client), `${label}: who answers from the client vs ctdb ip all`).toEqual(Object.fromEntries(ctdb));
    return JSON.stringify(Object.fromEntries(client));
  }

  /** `ctdb ip all` before the first step; every step must leave it as it was. */
  let placement = '';

  /**
   * Samples who answers each public address from the client while a step
   * runs. Returns the samples where an address was answered by another node
   * than before the step (moved), and the addresses that stayed silent for
   * longer than a client's retry would wait (2 s: a probe can time out on a
   * busy machine, a retry then succeeds).
   */
  function watchAddresses(): () => Promise<{ moved: string[]; silent: string[] }> {
    const before = new Map(Object.entries(JSON.parse(placement) as Record<string, number>));
    const moved: string[] = [];
    const silentSince = new Map<string, number>();
    const silent = new Set<string>();
    let stop = false;
    const started = Date.now();
    const loop = (async () => {
      while (!stop) {
        const t = Date.now();
        for (const [ip, pnn] of await cluster.netns.answersAll()) {
          if (pnn === undefined) {
            if (!silentSince.has(ip)) silentSince.set(ip, t);
            if (t - silentSince.get(ip)! > 2000) silent.add(ip);
          } else {
            silentSince.delete(ip);
            if (pnn !== before.get(ip)) moved.push(`+${t - started} ms: ${ip} answered by ${pnn}, was ${before.get(ip)}`);
          }
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    return async () => {
      stop = true;
      await loop;
      return { moved, silent: [...silent] };
    };
  }

  async function step(label: string, args: string[], expectStages: Stage[]): Promise<UpgradeRun> {
    const watching = watchAddresses();
    const r = await runUpgrade(dir, [...args, '--json']);
    const odd = await watching();
    expect(r.exitCode, `${label}: ${r.stdout}\n${r.stderr}`).toBe(0);
    const done = r.events.at(-1);
    expect(done).toMatchObject({ event: 'done', exitCode: 0 });
    timings.push([label, done!.event === 'done' ? done!.elapsedMs : NaN]);
    expect(r.events.filter((e) => e.event === 'progress' && e.line.startsWith('moved:'))).toEqual([]);
    expect(odd, `${label}: what the client saw during the step: ${JSON.stringify(odd)}; the CLI's events: ${r.stdout}`).toEqual({ moved: [], silent: [] });
    expect(await stages(), label).toEqual(expectStages);
    // After the step: the same placement from ctdb on every node and from the client (a timed-out probe is asked again).
    await eventually(async () => (await ctdbAnswers(label).catch(() => '')) === placement || undefined, 10_000, `${label}: placement as before`)
      .catch(async (err: Error) => {
        expect(await ctdbAnswers(label), `${label}: ${err.message}`).toBe(placement);
      });
    return r;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctdb-bridge-upgrade-'));
    cluster = new NetnsRealLocalCluster({
      dir, nodes: 3, ownerPid: process.pid, logger: silentLogger('upgrade-netns'), netns: { subnetRange: [120, 129] },
    });
    trackCluster(cluster, true);
    await cluster.up();
    for (const n of cluster.nodes) {
      await appendFile(join(n.base, 'ctdb-bridge.conf'), '[failoverd]\n\tcheck interval = 250\n\ttakeover lease = 3000\n\tsettle time = 1000\n');
    }
    // Settled before the first step: every address answered, by the node every ctdb names, and no longer
    // moving (ctdbd rebalances once more after the last node joins; on a loaded machine that comes late).
    let last: string | undefined;
    let since = 0;
    placement = await eventually(async () => {
      const client = await cluster.netns.answersAll();
      if (![...client.values()].every((p) => p !== undefined)) return undefined;
      const now = await ctdbAnswers().catch(() => undefined);
      if (now === undefined) return undefined;
      if (now !== last) {
        last = now;
        since = Date.now();
      }
      return Date.now() - since >= 3000 ? now : undefined;
    }, 90_000, 'every public address answered where ctdb ip all says, unchanged for 3 s');
  }, 180_000);

  afterAll(async () => {
    if (cluster) {
      await killServices(cluster.nodes);
      await cluster.down().catch(() => undefined);
      untrackCluster(cluster);
    }
    if (dir) await rm(dir, { recursive: true, force: true });
    // eslint-disable-next-line no-console
    console.log(`upgrade transitions (ms): ${timings.map(([l, ms]) => `${l} ${ms}`).join(', ')}`);
  }, 60_000);

  test('stage 0: status reads every node as legacy and plans transportd first', async () => {
    expect(await ctdbAnswers()).toBe(placement);
    expect(await stages()).toEqual([0, 0, 0]);
    const r = await runUpgrade(dir, ['plan', '--all', '--to', '4']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/1\. start-transportd \(node 0/);
    expect(r.stdout).toMatch(/8\. uplink-ws \(all nodes/);
  });

  test('0 -> 1 -> 2 node by node', async () => {
    await step('0->1 node 0', ['advance', '--node', '0'], [1, 0, 0]);
    await step('0->1 node 1', ['advance', '--node', '1'], [1, 1, 0]);
    await step('0->1 node 2', ['advance', '--node', '2'], [1, 1, 1]);
    for (const pnn of [0, 1, 2]) {
      const expected = [0, 1, 2].map((p) => (p <= pnn ? 2 : 1)) as Stage[];
      await step(`1->2 node ${pnn}`, ['advance', '--node', String(pnn), '--to', 'shadow'], expected);
    }
    const s = await status();
    expect(s.nodes.every((n) => n.failoverdMode === 'shadow' && n.uplink === 'tunnel')).toBe(true);
  }, 120_000);

  test('a refused preflight exits 2 and changes nothing: handover for one node', async () => {
    const pids = (await servicePids(cluster.nodes)).sort();
    const r = await runUpgrade(dir, ['advance', '--node', '1', '--to', '3', '--json']);
    expect(r.exitCode).toBe(2);
    expect(r.events.find((e) => e.event === 'refused')).toMatchObject({ checks: expect.arrayContaining([expect.objectContaining({ id: 'cluster-scope', ok: false })]) });
    expect(r.events.some((e) => e.event === 'step')).toBe(false);
    expect(await stages()).toEqual([2, 2, 2]);
    expect((await servicePids(cluster.nodes)).sort()).toEqual(pids);
  });

  test('2 -> 3 -> 4 cluster-wide: handover, then every transportd on the ws uplink', async () => {
    await step('2->3 handover', ['advance', '--all', '--to', '3'], [3, 3, 3]);
    expect((await status()).deciding).toMatchObject({ mode: 'active', leaseHeld: true, differences: 0 });
    await step('3->4 ws uplink', ['advance', '--all', '--to', '4'], [4, 4, 4]);
    const s = await status();
    expect(s.nodes.map((n) => n.uplink)).toEqual(['ws', 'ws', 'ws']);
    expect(s.deciding).toMatchObject({ mode: 'active', leaseHeld: true });
  }, 120_000);

  test('rollback 4 -> 0: tunnel uplink, handback, then services down (node 2 alone first)', async () => {
    await step('4->3 tunnel uplink', ['rollback', '--all', '--to', '3'], [3, 3, 3]);
    await step('3->2 handback', ['rollback', '--all', '--to', '2'], [2, 2, 2]);
    await step('2->0 node 2', ['rollback', '--node', '2', '--to', '0'], [2, 2, 0]);
    await step('2->0 nodes 0,1', ['rollback', '--all', '--to', '0'], [0, 0, 0]);
    expect(await servicePids(cluster.nodes)).toEqual([]);
  }, 120_000);

  test('a step that fails is undone in reverse: exit 3, the node back in stage 0', async () => {
    const conf = join(cluster.nodes[2].base, 'ctdb-bridge.conf');
    const good = await readFile(conf, 'utf8');
    await writeFile(conf, `${good}[failoverd]\n\tno such key = 1\n`); // the components refuse to start
    try {
      const r = await runUpgrade(dir, ['advance', '--node', '2', '--to', '2', '--json']);
      expect(r.exitCode, r.stdout).toBe(3);
      const seen = r.events.filter((e) => e.event === 'step-done' || e.event === 'step-failed' || e.event === 'undo')
        .map((e) => 'step' in e ? `${e.event} ${e.step.kind}@${e.step.node}` : '');
      expect(seen).toEqual([
        'step-done start-transportd@2', 'step-failed start-components@2', 'undo stop-components@2', 'undo stop-transportd@2',
      ]);
      expect(r.events.at(-1)).toMatchObject({ event: 'done', exitCode: 3, result: 'rolled back' });
      expect(await stages()).toEqual([0, 0, 0]);
      expect(await servicePids(cluster.nodes)).toEqual([]);
    } finally {
      await writeFile(conf, good);
    }
  }, 60_000);

  test('a CLI killed mid-step leaves a half-done node: other nodes are refused, a rerun finishes it', async () => {
    await step('0->1 all', ['advance', '--all', '--to', '1'], [1, 1, 1]);
    // Killed once node 1's clusterd has started and before its failoverd has.
    const node1 = cluster.nodes[1];
    const killed = await killUpgradeWhen(dir, ['advance', '--all', '--to', '2'], async () => (await readPidFile(pidFileOf(node1, 'clusterd'))) !== null);
    expect(isAlive(killed)).toBe(false);
    const half = await status();
    expect(half.nodes[0].stage).toBe(2);
    expect(half.nodes[1]).toMatchObject({ stage: 1, partial: 'clusterd without failoverd' });
    expect(half.nodes[2].stage).toBe(1);

    const clusterdPid = await readPidFile(pidFileOf(node1, 'clusterd'));
    const pids = (await servicePids(cluster.nodes)).sort();
    const refused = await runUpgrade(dir, ['advance', '--node', '2', '--to', '2', '--json']);
    expect(refused.exitCode).toBe(2);
    expect(JSON.stringify(refused.events)).toMatch(/node 1 is half-done \(clusterd without failoverd\)/);
    expect((await servicePids(cluster.nodes)).sort()).toEqual(pids);

    const rerun = await step('rerun 1->2 after kill', ['advance', '--all', '--to', '2'], [2, 2, 2]);
    expect(rerun.events.filter((e) => e.event === 'step').map((e) => e.event === 'step' && e.step.node)).toEqual([1, 2]);
    // The clusterd the killed run started was adopted, not started twice.
    expect(await readPidFile(pidFileOf(node1, 'clusterd'))).toBe(clusterdPid);
    expect(isAlive(clusterdPid!)).toBe(true);
    await step('2->0 all', ['rollback', '--all', '--to', '0'], [0, 0, 0]);
    expect(await servicePids(cluster.nodes)).toEqual([]);
  }, 120_000);
});
