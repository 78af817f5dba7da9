import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFile } from 'node:child_process';
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CLI_ENTRY } from '../legacy/common/package-info.ts';
import { silentLogger } from '../legacy/common/log.ts';
import type { FailoverStatus } from '../components/failoverd/status.ts';
import { NetnsRealLocalCluster } from '../scripts/local-cluster/netns/index.ts';
import { spawnTransportd, transportdSocketPath } from '../scripts/cli/start/transportd-children.ts';
import { spawnComponent } from '../scripts/cli/start/component-children.ts';
import { stopBridgeChild, type BridgeChild } from '../scripts/cli/start/bridge-children.ts';
import { signal, waitForExit } from '../scripts/local-cluster/processes.ts';
import { trackCluster, untrackCluster } from './support/live-clusters.ts';
import { eventually } from './suites/client-support.ts';

const run = promisify(execFile);

/**
 * failoverd next to Debian's ctdbd 4.17 doing real public IP failover (one
 * network namespace per node, 10.interface moving the addresses, a client
 * namespace asking who answers): shadow agrees with ctdbd, handover and
 * handback move nothing, failoverd's takeover runs move a dead node's
 * addresses, drain empties a node, and a dead failoverd's lease lapses so
 * ctdbd does failover again by itself. After each step every address is
 * answered by exactly one node and `ctdb ip all` agrees with the client.
 */

type Placement = Map<string, number | undefined>;

describe('failoverd on a real ctdbd 4.17 cluster with public IP failover (netns)', () => {
  let dir: string;
  let cluster: NetnsRealLocalCluster;
  const bridge: BridgeChild[][] = [];
  const alive = new Set([0, 1, 2]);
  const socketOf = (pnn: number) => transportdSocketPath(dir, pnn);
  const ctdbLog = (pnn: number) => readFile(join(cluster.nodes[pnn].base, 'log.ctdb'), 'utf8');
  const count = (text: string, needle: string) => text.split(needle).length - 1;

  async function cli<T>(pnn: number, args: string[]): Promise<T> {
    const { stdout } = await run(process.execPath, [CLI_ENTRY, 'failover', ...args, '--json', '--socket', socketOf(pnn)], { timeout: 90_000 });
    return JSON.parse(stdout) as T;
  }
  const status = (pnn: number) => cli<FailoverStatus>(pnn, ['status']);
  const anyAlive = () => [...alive][0];

  async function startBridge(pnn: number): Promise<void> {
    const node = cluster.nodes[pnn];
    const transportd = await spawnTransportd({
      pnn, ctdbSocket: node.socketPath, socketPath: socketOf(pnn), logFile: join(node.base, 'transportd.log'), pollIntervalMs: 250,
    });
    const components: BridgeChild[] = [transportd];
    for (const component of ['clusterd', 'failoverd']) {
      components.push(await spawnComponent({
        component, pnn, base: node.base, ctdbSocket: node.socketPath, transportSocket: socketOf(pnn),
        logFile: join(node.base, `${component}.log`), logLevel: 'info',
      }));
    }
    bridge[pnn] = components;
  }

  /** Every address answered by exactly one node, which is the one `ctdb ip all` names. */
  async function settledPlacement(timeoutMs = 30_000): Promise<Placement> {
    let last = '';
    return eventually(async () => {
      const answers = await cluster.netns.answersAll();
      // A node killed -9 keeps its addresses on its interface (as a real host would): only the living count.
      const holders = await cluster.netns.holders();
      const ctdb = await cluster.ctdbIpAll(anyAlive()).catch((err: Error) => err.message);
      last = JSON.stringify({ answers: [...answers], holders: [...holders], ctdb: typeof ctdb === 'string' ? ctdb : [...ctdb] });
      if ([...answers.values()].some((p) => p === undefined || !alive.has(p))) return undefined;
      if ([...holders.values()].some((h) => h.filter((p) => alive.has(p)).length !== 1)) return undefined;
      if (typeof ctdb === 'string' || [...answers].some(([ip, p]) => ctdb.get(ip) !== p)) return undefined;
      return answers;
    }, timeoutMs, 'every public address answered once, as ctdb ip all says').catch((err: Error) => {
      throw new Error(`${err.message}; last seen ${last}`);
    });
  }

  async function decidingStatus(check: (s: FailoverStatus) => boolean, what: string): Promise<FailoverStatus> {
    return eventually(async () => {
      const s = await status(anyAlive()).catch(() => undefined);
      return s && check(s) ? s : undefined;
    }, 30_000, what);
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctdb-bridge-failoverd-'));
    cluster = new NetnsRealLocalCluster({ dir, nodes: 3, ownerPid: process.pid, logger: silentLogger('failoverd-netns') });
    trackCluster(cluster, true);
    await cluster.up();
    await settledPlacement();
    for (const node of cluster.nodes) {
      await appendFile(join(node.base, 'ctdb-bridge.conf'),
        '[failoverd]\n\tmode = shadow\n\tcheck interval = 250\n\ttakeover lease = 3000\n\tsettle time = 1000\n');
    }
    for (const node of cluster.nodes) await startBridge(node.pnn);
  }, 180_000);

  afterAll(async () => {
    for (const children of bridge) for (const c of children ?? []) await stopBridgeChild(c).catch(() => undefined);
    if (!cluster) return;
    await cluster.down().catch(() => undefined);
    untrackCluster(cluster);
    await rm(dir, { recursive: true, force: true });
  }, 60_000);

  test('shadow: the leader\'s failoverd computes exactly ctdbd\'s placement and counts no difference', async () => {
    const placement = await settledPlacement();
    const s = await decidingStatus((x) => x.deciding && x.addresses.length === placement.size, 'the deciding failoverd sees every address');
    expect(s.mode).toBe('shadow');
    expect(Object.fromEntries(s.addresses.map((a) => [a.ip, a.host]))).toEqual(Object.fromEntries(placement));
    expect(s.addresses.filter((a) => a.host !== a.plan)).toEqual([]);
    await new Promise((r) => setTimeout(r, 1500)); // past the settle time
    expect((await status(anyAlive())).differences).toEqual({ current: [], total: 0 });
  });

  test('handover: ctdbd\'s takeover runs are held off on every node and no address moves', async () => {
    const before = await settledPlacement();
    const held = await Promise.all([0, 1, 2].map(async (p) => count(await ctdbLog(p), 'Disabling takeover runs for 3 seconds')));
    const r = await cli<{ moved: unknown[]; status: FailoverStatus }>(anyAlive(), ['handover']);
    expect(r.moved).toEqual([]);
    expect(r.status.mode).toBe('active');
    expect(r.status.takeoverLease?.nodes.sort()).toEqual([0, 1, 2]);
    for (const pnn of [0, 1, 2]) {
      await eventually(async () => count(await ctdbLog(pnn), 'Disabling takeover runs for 3 seconds') > held[pnn], 5000, `node ${pnn} holds its runs off`);
    }
    expect(Object.fromEntries(await settledPlacement())).toEqual(Object.fromEntries(before));
  });

  test('kill -9 of a node that does not decide: failoverd\'s takeover run moves its addresses to the survivors', async () => {
    const s = await status(anyAlive());
    const before = await settledPlacement();
    const victim = [0, 1, 2].find((p) => p !== s.leader && [...before.values()].includes(p))!;
    const moved = [...before].filter(([, p]) => p === victim).map(([ip]) => ip);
    const runsBefore = s.runs;
    const started = Date.now();
    alive.delete(victim);
    await Promise.all([cluster.killNode(victim), ...bridge[victim].map(async (c) => {
      signal(c.pid, 'SIGKILL');
      await waitForExit([c.pid], 5000);
    })]);
    const after = await settledPlacement(30_000);
    console.log(`failoverd (active through ctdbd): kill -9 of node ${victim} -> ${moved.length} address(es) answered by survivors after ${Date.now() - started} ms`);
    for (const ip of moved) expect(alive.has(after.get(ip)!)).toBe(true);
    const now = await decidingStatus((x) => x.runs > runsBefore && x.addresses.every((a) => a.host === a.plan), 'failoverd ran the takeover');
    expect(now.lastRun?.error).toBeNull();
  }, 120_000);

  test('drain: a node\'s addresses move to the other node and stay away until undrain', async () => {
    const before = await settledPlacement();
    const target = [...alive].find((p) => [...before.values()].includes(p))!;
    expect([...before.values()]).toContain(target);
    const drained = await cli<{ moved: Array<{ ip: string; from: number; to: number }> }>(anyAlive(), ['drain', '-n', String(target)]);
    expect(drained.moved.length).toBeGreaterThan(0);
    expect(drained.moved.every((m) => m.from === target && m.to !== target && alive.has(m.to))).toBe(true);
    let after = await settledPlacement();
    expect([...after.values()]).not.toContain(target);
    // A check later still keeps it away.
    await new Promise((r) => setTimeout(r, 600));
    expect([...(await settledPlacement()).values()]).not.toContain(target);
    await cli(anyAlive(), ['undrain', '-n', String(target)]);
    const s = await decidingStatus((x) => x.drained.length === 0 && x.addresses.every((a) => a.host === a.plan), 'undrained and settled');
    after = await settledPlacement();
    expect(Object.fromEntries(s.addresses.map((a) => [a.ip, a.host]))).toEqual(Object.fromEntries(after));
  }, 120_000);

  test('handback: ctdbd does failover again, nothing moves', async () => {
    const before = await settledPlacement();
    const released = await Promise.all([...alive].map(async (p) => count(await ctdbLog(p), 'Reenabling takeover runs\n')));
    const r = await cli<{ moved: unknown[]; status: FailoverStatus }>(anyAlive(), ['handback']);
    expect(r.moved).toEqual([]);
    expect(r.status.mode).toBe('shadow');
    expect(r.status.takeoverLease).toBeNull();
    for (const [i, pnn] of [...alive].entries()) {
      await eventually(async () => count(await ctdbLog(pnn), 'Reenabling takeover runs\n') > released[i], 5000, `node ${pnn} runs its own takeover runs again`);
    }
    expect(Object.fromEntries(await settledPlacement())).toEqual(Object.fromEntries(before));
  }, 60_000);

  test('a failoverd killed while active: its lease lapses and ctdbd does failover again by itself', async () => {
    await cli(anyAlive(), ['handover']);
    const s = await status(anyAlive());
    const lapsed = await Promise.all([...alive].map(async (p) => count(await ctdbLog(p), 'Reenabling takeover runs after timeout')));
    const failoverd = bridge[s.leader!][2];
    signal(failoverd.pid, 'SIGKILL');
    await waitForExit([failoverd.pid], 5000);
    for (const [i, pnn] of [...alive].entries()) {
      await eventually(async () => count(await ctdbLog(pnn), 'Reenabling takeover runs after timeout') > lapsed[i], 10_000, `node ${pnn}'s lease lapses`);
    }
    await settledPlacement();
  }, 60_000);
});
