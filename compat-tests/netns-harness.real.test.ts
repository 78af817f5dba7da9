import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../legacy/common/log.ts';
import { isAlive } from '../scripts/local-cluster/processes.ts';
import {
  NetnsEmbeddedLocalCluster, NetnsFabric, NetnsRealLocalCluster, listNamespaces, mountsFrom, openNetnsLocalCluster, sweepStaleNetns,
} from '../scripts/local-cluster/netns/index.ts';
import { trackCluster, untrackCluster } from './support/live-clusters.ts';

/**
 * The multi-host harness against Debian's ctdbd 4.17 outside test mode: one
 * network namespace per node, public IP failover on, 10.interface moving
 * the addresses. The client namespace's view (which node's responder
 * answers each public address) must match `ctdb ip all`, follow a crash,
 * and `down` must leave no namespace, process or mount behind. Needs root.
 */

type Answers = Map<string, number | undefined>;

function ownersByNode(answers: Answers): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const [ip, pnn] of answers) if (pnn !== undefined) out.set(pnn, [...(out.get(pnn) ?? []), ip]);
  return out;
}

describe('netns cluster of real ctdbd with public IP failover', () => {
  let dir: string;
  let cluster: NetnsRealLocalCluster;
  let namespaces: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctdb-bridge-netns-'));
    cluster = new NetnsRealLocalCluster({ dir, nodes: 3, ownerPid: process.pid, logger: silentLogger('netns-test') });
    trackCluster(cluster, true);
    await cluster.up();
    namespaces = cluster.netns.namespaces;
  }, 90_000);

  afterAll(async () => {
    if (!cluster) return;
    await cluster.down().catch(() => undefined);
    untrackCluster(cluster);
    await rm(dir, { recursive: true, force: true });
  });

  test('every public address is hosted exactly once, and the client sees what ctdb ip all says', async () => {
    const publics = cluster.netns.topology.publicAddresses;
    expect(publics).toHaveLength(6);
    // After "all OK" the first takeover runs may still be moving addresses
    // (onto the node that became healthy last): wait until both views agree
    // and every node hosts 2 (ctdbd's balance for 6 addresses on 3 nodes).
    const settled = async () => {
      const [ctdbView, answers] = [await cluster.ctdbIpAll(), await cluster.netns.answersAll()];
      const balanced = [...ownersByNode(answers).values()].map((ips) => ips.length).sort().join() === '2,2,2';
      const agree = ctdbView.size === answers.size && publics.every((ip) => ctdbView.get(ip) === answers.get(ip));
      return balanced && agree ? ctdbView : undefined;
    };
    await expect.poll(settled, { timeout: 30_000, interval: 250 }).toBeDefined();
    const ctdbView = (await settled())!;
    expect([...ctdbView.keys()].sort()).toEqual([...publics].sort());
    // Exactly one node namespace has each address on its eth0.
    const holders = await cluster.netns.holders();
    for (const ip of publics) expect(holders.get(ip), ip).toEqual([ctdbView.get(ip)]);
    // The client's ARP entry points at the hosting node's interface.
    expect(await cluster.netns.arpOwner(publics[0])).toBe(ctdbView.get(publics[0]));
  });

  test('cluster.json lets another process re-attach to the same namespaces', async () => {
    const again = await openNetnsLocalCluster(dir);
    expect(again.netns.namespaces).toEqual(namespaces);
    expect((await again.status()).allOk).toBe(true);
  });

  test('kill -9 of a non-leader: the survivors answer its addresses (ctdbd failover)', async () => {
    const leader = await cluster.leader();
    const before = await cluster.ctdbIpAll();
    const victim = [0, 1, 2].find((p) => p !== leader && [...before.values()].includes(p))!;
    const moved = [...before].filter(([, pnn]) => pnn === victim).map(([ip]) => ip);
    expect(moved.length).toBeGreaterThan(0);
    const started = Date.now();
    await cluster.killNode(victim);
    const { answers } = await cluster.netns.waitForAnswers(
      (a) => [...a.values()].every((pnn) => pnn !== undefined && pnn !== victim), 60_000);
    const ms = Date.now() - started;
    console.log(`netns failover after kill -9 of non-leader ${victim}: ${ms} ms for ${moved.join(', ')}`);
    for (const ip of moved) expect(answers.get(ip)).not.toBe(victim);
    const survivor = [0, 1, 2].find((p) => p !== victim)!;
    const after = await cluster.ctdbIpAll(survivor);
    for (const ip of moved) expect([...[0, 1, 2]].filter((p) => p !== victim)).toContain(after.get(ip));
  }, 90_000);

  test('down removes every process, namespace and mount', async () => {
    const pids = cluster.pids();
    expect(pids.length).toBeGreaterThan(0);
    expect(mountsFrom(dir).length).toBeGreaterThan(0);
    await cluster.down();
    expect(pids.filter(isAlive)).toEqual([]);
    expect(cluster.pids()).toEqual([]);
    expect(listNamespaces().filter((n) => namespaces.includes(n))).toEqual([]);
    expect(mountsFrom(dir)).toEqual([]);
  }, 60_000);
});

describe('netns cluster of the embedded daemon: isolation and per-node processes', () => {
  let dir: string;
  let cluster: NetnsEmbeddedLocalCluster;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctdb-bridge-netns-emb-'));
    cluster = new NetnsEmbeddedLocalCluster({ dir, nodes: 2, ownerPid: process.pid, logger: silentLogger('netns-emb') });
    trackCluster(cluster, true);
    await cluster.up();
  }, 60_000);

  afterAll(async () => {
    if (!cluster) return;
    await cluster.down().catch(() => undefined);
    untrackCluster(cluster);
    await rm(dir, { recursive: true, force: true });
  });

  test('the nodes come up on their namespace addresses', async () => {
    expect((await cluster.status()).allOk).toBe(true);
    const t = cluster.netns.topology;
    expect(cluster.nodes.map((n) => n.address)).toEqual(t.privateAddresses);
    for (const pnn of [0, 1]) expect(await cluster.whoAnswers(t.privateAddresses[pnn])).toBe(pnn);
  });

  for (const how of ['link', 'drop'] as const) {
    test(`isolate (${how}) cuts a node off the client, heal restores it`, async () => {
      const address = cluster.netns.topology.privateAddresses[1];
      await cluster.netns.isolate(1, how);
      expect(await cluster.whoAnswers(address)).toBeUndefined();
      expect(await cluster.whoAnswers(cluster.netns.topology.privateAddresses[0])).toBe(0);
      await cluster.netns.heal(1);
      await expect.poll(() => cluster.whoAnswers(address), { timeout: 5_000 }).toBe(1);
    });
  }

  test('an extra process runs inside a node\'s namespaces, with its directory over /etc/ctdb, and is stopped by PID', async () => {
    const logFile = join(dir, 'extra.log');
    const pid = await cluster.netns.startNodeProcess(1, 'extra',
      { file: 'sh', args: ['-c', 'cat /etc/ctdb/nodes; ip -4 -o addr show dev eth0; exec sleep 600'], env: process.env },
      { logFile, mountsOf: cluster.nodes[1].base });
    await expect.poll(async () => readFile(logFile, 'utf8'), { timeout: 5_000 }).toContain(cluster.nodes[1].address + '/24');
    expect(await readFile(logFile, 'utf8')).toContain(cluster.nodes[0].address + '\n');
    expect(cluster.netns.liveHelpers().map((h) => h.pid)).toContain(pid);
    await cluster.netns.stopNodeProcess(pid);
    expect(isAlive(pid)).toBe(false);
  });

  test('down removes the namespaces and every process', async () => {
    const namespaces = cluster.netns.namespaces;
    const pids = cluster.pids();
    await cluster.down();
    expect(pids.filter(isAlive)).toEqual([]);
    expect(listNamespaces().filter((n) => namespaces.includes(n))).toEqual([]);
  });
});

describe('netns leftovers of a dead owner', () => {
  test('the next sweep kills their processes and deletes their namespaces and mounts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctdb-bridge-netns-stale-'));
    try {
      // An owner that has exited: its PID is in the namespace names.
      const deadOwner = spawnSync('true').pid!;
      const fabric = await NetnsFabric.plan(dir, 2, deadOwner, {}, { logger: silentLogger('netns-stale'), save: async () => undefined });
      for (const pnn of [0, 1]) {
        for (const sub of ['run', 'var']) await mkdir(join(dir, `node.${pnn}`, sub), { recursive: true });
      }
      await fabric.up();
      // A process inside a node's namespaces with its private mounts, as ctdbd has them.
      const sleeper = await fabric.startNodeProcess(0, 'sleeper', { file: 'sleep', args: ['600'], env: process.env },
        { logFile: join(dir, 'sleeper.log'), mountsOf: join(dir, 'node.0') });
      const pids = fabric.pids();
      expect(pids).toContain(sleeper);
      expect(fabric.existingNamespaces()).toHaveLength(3);
      await expect.poll(() => mountsFrom(dir).length).toBeGreaterThan(0);

      const swept = await sweepStaleNetns();
      expect(swept.removed).toContain(fabric.topology.id);
      expect(pids.filter(isAlive)).toEqual([]);
      expect(fabric.existingNamespaces()).toEqual([]);
      expect(mountsFrom(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  test('a cluster whose owner is alive is left alone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctdb-bridge-netns-live-'));
    const fabric = await NetnsFabric.plan(dir, 1, process.pid, {}, { logger: silentLogger('netns-live'), save: async () => undefined });
    try {
      await mkdir(join(dir, 'node.0'), { recursive: true });
      await fabric.up();
      const swept = await sweepStaleNetns();
      expect(swept.removed).not.toContain(fabric.topology.id);
      expect(fabric.existingNamespaces()).toHaveLength(2);
      expect(fabric.liveHelpers()).toHaveLength(2);
    } finally {
      await fabric.teardown();
      await rm(dir, { recursive: true, force: true });
    }
    expect(fabric.existingNamespaces()).toEqual([]);
  }, 30_000);
});
