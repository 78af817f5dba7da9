import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CLI_ENTRY } from '../../legacy/common/package-info.ts';
import { TransportClient, createRegistry, type TransportError } from '../../transport/index.ts';
import { LOCAL_NODE } from '../../transport/endpoint.ts';
import { CLUSTERD_SERVICE } from '../../components/framework/services.ts';
import { CLUSTERD_MESSAGES } from '../../components/clusterd/messages.ts';
import { BUILTIN_COMPONENT_MESSAGES } from '../../components/framework/builtin-messages.ts';
import type { ClusterEvent, ClusterStatus } from '../../components/clusterd/status.ts';
import { spawnTransportd, transportdSocketPath, type TransportdChild } from '../../scripts/cli/start/transportd-children.ts';
import { spawnComponent } from '../../scripts/cli/start/component-children.ts';
import { stopBridgeChild, type BridgeChild } from '../../scripts/cli/start/bridge-children.ts';
import { signal, waitForExit } from '../../scripts/local-cluster/processes.ts';
import type { ClientSuiteCluster } from './client-cluster.ts';
import { eventually } from './client-support.ts';
import { Partition } from '../support/partition.ts';

const run = promisify(execFile);
const registry = createRegistry([...BUILTIN_COMPONENT_MESSAGES, ...CLUSTERD_MESSAGES]);

/**
 * clusterd on every node (transportd + clusterd as child processes, tunnel
 * uplink through the cluster's ctdbds): agreement with `ctdb status`, one
 * leader, kill -9 of the leader's node / of clusterd / of transportd, a
 * partition, and hostile clusterd messages.
 */
export function defineClusterdSuite(name: string, factory: () => Promise<ClientSuiteCluster>): void {
  describe(`clusterd on ${name}`, () => {
    let cluster: ClientSuiteCluster;
    const transportds: Array<TransportdChild | undefined> = [];
    const clusterds: Array<BridgeChild | undefined> = [];
    const clients: TransportClient[] = [];
    const partitions: Partition[] = [];

    const socketOf = (pnn: number) => transportdSocketPath(join(cluster.nodes[pnn].base, '..'), pnn);
    const startTransportd = async (pnn: number) => {
      const node = cluster.nodes[pnn];
      transportds[pnn] = await spawnTransportd({
        pnn, ctdbSocket: node.socketPath, socketPath: socketOf(pnn), logFile: join(node.base, 'transportd.log'), pollIntervalMs: 250,
      });
    };
    const startClusterd = async (pnn: number) => {
      const node = cluster.nodes[pnn];
      clusterds[pnn] = await spawnComponent({
        component: 'clusterd', pnn, base: node.base, ctdbSocket: node.socketPath, transportSocket: socketOf(pnn),
        logFile: join(node.base, 'clusterd.log'), logLevel: 'info',
      });
    };
    const kill9 = async (child: BridgeChild | undefined) => {
      if (!child) return;
      signal(child.pid, 'SIGKILL');
      await waitForExit([child.pid], 5000);
      await stopBridgeChild(child);
    };
    const connect = async (pnn: number) => {
      const c = new TransportClient({ socketPath: socketOf(pnn), name: 'clusterd-test', registry, defaultTimeoutMs: 3000 });
      await c.connect();
      clients.push(c);
      return c;
    };
    const status = async (pnn: number): Promise<ClusterStatus> => {
      const { stdout } = await run(process.execPath, [CLI_ENTRY, 'cluster', 'status', '--json', '--socket', socketOf(pnn)], { timeout: 15_000 });
      return JSON.parse(stdout) as ClusterStatus;
    };
    /** One leader that every listed node follows, or undefined. */
    const agreedLeader = async (pnns: number[]): Promise<{ leader: number; epoch: number } | undefined> => {
      const all = await Promise.all(pnns.map((p) => status(p).catch(() => undefined)));
      if (all.some((s) => !s || s.leader === null)) return undefined;
      const leaders = new Set(all.map((s) => `${s!.leader}/${s!.epoch}`));
      return leaders.size === 1 ? { leader: all[0]!.leader!, epoch: all[0]!.epoch } : undefined;
    };

    beforeAll(async () => {
      cluster = await factory();
      for (const node of cluster.nodes) await startTransportd(node.pnn);
      for (const node of cluster.nodes) await startClusterd(node.pnn);
    }, 120_000);

    afterAll(async () => {
      for (const p of partitions) await p.heal().catch(() => undefined);
      await Promise.all(clients.map((c) => c.close()));
      await Promise.all([...clusterds, ...transportds].filter((c) => c !== undefined).map((c) => stopBridgeChild(c!)));
      await cluster?.teardown();
    }, 60_000);

    test('every node agrees on membership and on one leader; `cluster status` matches `ctdb status` on which nodes are up', async () => {
      const all = [0, 1, 2];
      const agreed = await eventually(() => agreedLeader(all), 20_000, 'one leader on every node');
      expect(all).toContain(agreed.leader);
      expect(agreed.epoch).toBeGreaterThan(0);
      const ctdb = await cluster.ctdb(0, ['status']);
      const ctdbUp = [...ctdb.stdout.matchAll(/^pnn:(\d+) \S+\s+(\S+)/gm)].filter((m) => m[2] === 'OK').map((m) => Number(m[1]));
      expect(ctdbUp).toEqual(all);
      for (const pnn of all) {
        const s = await status(pnn);
        expect(s.nodes.filter((n) => n.state === 'ok').map((n) => n.pnn)).toEqual(ctdbUp);
        expect(s.nodes.every((n) => n.legacyFlags === 0 && n.clusterd)).toBe(true);
      }
      const text = await run(process.execPath, [CLI_ENTRY, 'cluster', 'status', '--socket', socketOf(1)]);
      expect(text.stdout).toMatch(/^pnn:1 \S+\s+OK \(THIS NODE\)\s+legacy:OK$/m);
      expect(text.stdout).toMatch(new RegExp(`^Leader:${agreed.leader} epoch:${agreed.epoch}`, 'm'));
    }, 60_000);

    test('hostile clusterd messages are refused with a typed error and change nothing', async () => {
      const before = await eventually(() => agreedLeader([0, 1, 2]), 20_000, 'one leader');
      const target = { node: before.leader, service: CLUSTERD_SERVICE };
      const refusal = (p: Promise<unknown>) => p.then((r) => r, (e: TransportError) => e.code);
      // A client that validates nothing, so clusterd's own checks are what answers.
      const loose = createRegistry([
        { type: 'clusterd.vote', versions: { 1: { body: {}, reply: {} } } },
        { type: 'clusterd.heartbeat', versions: { 1: { body: {}, reply: {} } } },
      ]);
      const other = [0, 1, 2].find((p) => p !== before.leader)!;
      const anyone = new TransportClient({ socketPath: socketOf(other), name: 'hostile', registry: loose, defaultTimeoutMs: 3000 });
      await anyone.connect();
      clients.push(anyone);
      expect(await refusal(anyone.request(target, 'clusterd.vote', { node: other, epoch: 'x' }))).toBe('invalid-payload');
      expect(await refusal(anyone.request(target, 'clusterd.heartbeat', { bogus: true }))).toBe('invalid-payload');
      // Well-formed, but not from a clusterd: any local client could otherwise speak for its node.
      expect(await refusal(anyone.request(target, 'clusterd.vote', { node: other, bootId: 'hostile', epoch: before.epoch + 100 }))).toBe('bad-request');
      // Posing as the node's clusterd (its service is free once it is gone): another node's name,
      // a node outside the nodes file, a stale epoch.
      await kill9(clusterds[other]);
      const impostor = await eventually(async () => {
        const c = new TransportClient({
          socketPath: socketOf(other), name: 'impostor', registry: loose, service: CLUSTERD_SERVICE, defaultTimeoutMs: 3000,
        });
        return c.connect().then(() => c, async () => { await c.close(); return undefined; });
      }, 5000, 'the clusterd service to be free');
      clients.push(impostor);
      const third = [0, 1, 2].find((p) => p !== before.leader && p !== other)!;
      expect(await refusal(impostor.request(target, 'clusterd.vote', { node: third, bootId: 'hostile', epoch: before.epoch + 100 }))).toBe('bad-request');
      expect(await refusal(impostor.request(target, 'clusterd.vote', { node: 7, bootId: 'hostile', epoch: before.epoch + 100 }))).toBe('bad-request');
      expect(await refusal(impostor.request(target, 'clusterd.vote', { node: other, bootId: 'hostile', epoch: 1 }))).toBe('bad-request');
      const leaderLog = await readFile(join(cluster.nodes[before.leader].base, 'clusterd.log'), 'utf8');
      expect(leaderLog).toMatch(/refused/);
      await impostor.close();
      await startClusterd(other);
      const after = await eventually(() => agreedLeader([0, 1, 2]), 20_000, 'one leader again');
      expect(after).toEqual(before);
    }, 60_000);

    test('kill -9 of clusterd alone, then of transportd alone, on a follower: no leadership change', async () => {
      const before = await eventually(() => agreedLeader([0, 1, 2]), 20_000, 'one leader');
      const follower = [0, 1, 2].find((p) => p !== before.leader)!;
      await kill9(clusterds[follower]);
      await startClusterd(follower);
      await eventually(() => agreedLeader([0, 1, 2]), 20_000, 'the restarted clusterd to follow the leader');
      await kill9(transportds[follower]);
      await startTransportd(follower);
      const after = await eventually(async () => {
        const s = await status(follower).catch(() => undefined);
        return s && s.nodes.every((n) => n.state === 'ok') ? agreedLeader([0, 1, 2]) : undefined;
      }, 30_000, 'clusterd to reattach to the new transportd');
      expect(after).toEqual(before);
    }, 120_000);

    test('a follower\'s ctdbd restarts under its clusterd: clusterd says it waits for ctdbd, then sees every node again; no leadership change', async () => {
      const before = await eventually(() => agreedLeader([0, 1, 2]), 20_000, 'one leader');
      const follower = [0, 1, 2].find((p) => p !== before.leader)!;
      await cluster.killNode(follower);
      await eventually(async () => {
        const s = await status(follower).catch(() => undefined);
        return s && !s.legacy.reachable ? true : undefined;
      }, 15_000, 'clusterd to notice its ctdbd is gone');
      await cluster.startNode(follower);
      const after = await eventually(async () => {
        const s = await status(follower).catch(() => undefined);
        return s && s.legacy.reachable && s.nodes.every((n) => n.state === 'ok') ? agreedLeader([0, 1, 2]) : undefined;
      }, 40_000, 'clusterd to see ctdbd and every node again');
      expect(after).toEqual(before);
      const log = await readFile(join(cluster.nodes[follower].base, 'clusterd.log'), 'utf8');
      expect(log).toMatch(/"msg":"waiting for ctdbd"/);
      expect(log).toMatch(/"msg":"ctdbd answers again"/);
    }, 120_000);

    test('kill -9 of the leader\'s whole node: a new leader with a higher epoch, and subscribers are told', async () => {
      const before = await eventually(() => agreedLeader([0, 1, 2]), 20_000, 'one leader');
      const survivors = [0, 1, 2].filter((p) => p !== before.leader);
      const watcher = await connect(survivors[0]);
      const events: ClusterEvent[] = [];
      watcher.subscribe('clusterd.event', (e: ClusterEvent) => events.push(e));
      const current = await watcher.request<ClusterStatus>({ node: LOCAL_NODE, service: CLUSTERD_SERVICE }, 'clusterd.subscribe', {});
      expect(current.leader).toBe(before.leader);
      await Promise.all([cluster.killNode(before.leader), kill9(clusterds[before.leader]), kill9(transportds[before.leader])]);
      clusterds[before.leader] = undefined;
      transportds[before.leader] = undefined;
      // Right after the kill the survivors still follow the dead leader until its lease runs out.
      const after = await eventually(async () => {
        const agreed = await agreedLeader(survivors);
        return agreed && agreed.leader !== before.leader ? agreed : undefined;
      }, 20_000, 'a new leader on the survivors');
      expect(survivors).toContain(after.leader);
      expect(after.epoch).toBeGreaterThan(before.epoch);
      await eventually(() => events.some((e) => e.kind === 'leader' && e.leader === after.leader && e.epoch === after.epoch) || undefined,
        5000, 'the subscriber to hear of the new leader');
      // The dead node comes back as a follower of the new leader.
      await cluster.startNode(before.leader);
      await startTransportd(before.leader);
      await startClusterd(before.leader);
      const rejoined = await eventually(() => agreedLeader([0, 1, 2]), 30_000, 'the old leader to rejoin');
      expect(rejoined.leader).toBe(after.leader);
    }, 180_000);

    test('a partition: the minority never leads, the majority elects one leader, healing converges to one', async () => {
      const before = await eventually(() => agreedLeader([0, 1, 2]), 30_000, 'one leader');
      // Cut the leader off: it is the minority side.
      const minority = before.leader;
      const majority = [0, 1, 2].filter((p) => p !== minority);
      const partition = new Partition([cluster.nodes[minority].address], majority.map((p) => cluster.nodes[p].address));
      partitions.push(partition);
      await partition.cut();
      const cutAt = Date.now();
      let minorityLedAfterLease = false;
      const after = await eventually(async () => {
        const m = await status(minority).catch(() => undefined);
        // The old leader's lease (800 ms) is over well before a new leader can exist.
        if (m && m.leader === minority && m.leaseRemainingMs !== null && Date.now() - cutAt > 1500) minorityLedAfterLease = true;
        const agreed = await agreedLeader(majority);
        return agreed && agreed.leader !== minority ? agreed : undefined;
      }, 20_000, 'the majority to elect a leader');
      expect(after.epoch).toBeGreaterThan(before.epoch);
      for (let i = 0; i < 5; i++) {
        const m = await status(minority);
        expect(m.leader === minority && m.leaseRemainingMs !== null).toBe(false);
        await new Promise((r) => setTimeout(r, 300));
      }
      expect(minorityLedAfterLease).toBe(false);
      await partition.heal();
      const healed = await eventually(() => agreedLeader([0, 1, 2]), 40_000, 'one leader after healing');
      expect(healed.leader).toBe(after.leader);
    }, 180_000);
  });
}
