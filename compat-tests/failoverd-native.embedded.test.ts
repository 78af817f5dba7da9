import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFile } from 'node:child_process';
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI_ENTRY } from '../legacy/common/package-info.ts';
import { silentLogger } from '../legacy/common/log.ts';
import type { FailoverStatus } from '../components/failoverd/status.ts';
import { NetnsEmbeddedLocalCluster } from '../scripts/local-cluster/netns/index.ts';
import { spawnTransportd, transportdSocketPath } from '../scripts/cli/start/transportd-children.ts';
import { spawnComponent } from '../scripts/cli/start/component-children.ts';
import { stopBridgeChild, type BridgeChild } from '../scripts/cli/start/bridge-children.ts';
import { signal, waitForExit } from '../scripts/local-cluster/processes.ts';
import { trackCluster, untrackCluster } from './support/live-clusters.ts';

const run = promisify(execFile);

/**
 * Stage 4 on the embedded daemon: failoverd in native mode on every node
 * (inside the node's network namespace), the embedded daemon doing no
 * failover of its own. failoverd's leader performs takeover runs through the
 * daemons' TAKEOVER_IP / RELEASE_IP controls; each node's failoverd carries
 * its daemon's events out on the host (ip addr, gratuitous ARP). After each
 * step the client namespace finds every public address answered by exactly
 * one node, held on exactly one node's interface, and Debian's `ctdb ip all`
 * names the same node.
 */

const NATIVE_CONF = [
  '[clusterd]', '\tmode = active', '\tdead after = 1000', '\tlegacy poll interval = 100',
  '[failoverd]', '\tmode = native', '\tcheck interval = 200', '\ttakeover lease = 3000', '\tsettle time = 1000', '\tquorum loss = 1000', '',
].join('\n');

type Placement = Map<string, number>;

let dir: string;
let cluster: NetnsEmbeddedLocalCluster;
const bridge: Array<BridgeChild[] | undefined> = [];
const alive = new Set([0, 1, 2]);
const socketOf = (pnn: number) => transportdSocketPath(dir, pnn);

async function startBridge(pnn: number): Promise<void> {
  const node = cluster.nodes[pnn]!;
  const children: BridgeChild[] = [await spawnTransportd({
    pnn, ctdbSocket: node.socketPath, socketPath: socketOf(pnn), logFile: join(node.base, 'transportd.log'), pollIntervalMs: 100,
  })];
  bridge[pnn] = children;
  for (const component of ['clusterd', 'failoverd']) {
    children.push(await spawnComponent({
      component, pnn, base: node.base, ctdbSocket: node.socketPath, transportSocket: socketOf(pnn),
      logFile: join(node.base, `${component}.log`), logLevel: 'info',
      // Native failoverd configures addresses: it runs where they live.
      wrap: component === 'failoverd' ? (launch) => cluster.netns.wrapForNode(pnn, launch) : undefined,
    }));
  }
}

async function killNode(pnn: number): Promise<void> {
  alive.delete(pnn);
  await Promise.all([cluster.killNode(pnn), ...(bridge[pnn] ?? []).map(async (c) => {
    signal(c.pid, 'SIGKILL');
    await waitForExit([c.pid], 5000);
  })]);
  bridge[pnn] = undefined;
}

async function status(pnn: number): Promise<FailoverStatus> {
  const { stdout } = await run(process.execPath, [CLI_ENTRY, 'failover', 'status', '--json', '--socket', socketOf(pnn)], { timeout: 30_000 });
  return JSON.parse(stdout) as FailoverStatus;
}

/** Every address answered once by a living node, on exactly one living node's interface, as `ctdb ip all` says. */
async function settled(timeoutMs = 30_000): Promise<Placement> {
  const deadline = Date.now() + timeoutMs;
  let seen = '';
  for (;;) {
    const asker = [...alive][0]!;
    const [answers, holders, ctdb] = await Promise.all([
      cluster.netns.answersAll(), cluster.netns.holders(), cluster.ctdbIpAll(asker).catch((err: Error) => err.message),
    ]);
    seen = JSON.stringify({ answers: [...answers], holders: [...holders], ctdb: typeof ctdb === 'string' ? ctdb : [...ctdb] });
    const ok = [...answers.values()].every((p) => p !== undefined && alive.has(p))
      && [...holders.values()].every((h) => h.filter((p) => alive.has(p)).length === 1)
      && typeof ctdb !== 'string' && [...answers].every(([ip, p]) => ctdb.get(ip) === p);
    if (ok) return answers as Placement;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: every address answered once as ctdb ip all says; last seen ${seen}`);
    await sleep(50);
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ctdb-bridge-native-'));
  cluster = new NetnsEmbeddedLocalCluster({
    dir, nodes: 3, ownerPid: process.pid, logger: silentLogger('native-netns'), netns: { subnetRange: [130, 139], publicAddresses: 6 },
  });
  trackCluster(cluster, true);
  await cluster.up();
  for (const node of cluster.nodes) await appendFile(join(node.base, 'ctdb-bridge.conf'), NATIVE_CONF);
  for (const node of cluster.nodes) await startBridge(node.pnn);
}, 180_000);

afterAll(async () => {
  for (const children of bridge) for (const c of [...(children ?? [])].reverse()) await stopBridgeChild(c).catch(() => undefined);
  if (!cluster) return;
  await cluster.down().catch(() => undefined);
  untrackCluster(cluster);
  await rm(dir, { recursive: true, force: true });
}, 60_000);

describe('failoverd native mode on the embedded daemon (netns)', () => {
  test('start: every public address hosted exactly once, as the leader planned', async () => {
    const placement = await settled(60_000);
    const s = await status(0);
    expect(s.mode).toBe('native');
    const counts = [0, 1, 2].map((p) => [...placement.values()].filter((x) => x === p).length);
    expect(counts, 'LCP2 spreads 6 addresses over 3 nodes').toEqual([2, 2, 2]);
  }, 90_000);

  test('kill -9 of a node: the survivors configure and answer its addresses', async () => {
    const before = await settled();
    const s = await status(0);
    const victim = [0, 1, 2].find((p) => p !== s.leader)!;
    const moving = [...before].filter(([, p]) => p === victim).map(([ip]) => ip);
    const started = Date.now();
    await killNode(victim);
    const after = await settled(30_000);
    console.info(`native: kill -9 of node ${victim} -> ${moving.length} address(es) answered by survivors after ${Date.now() - started} ms`);
    for (const ip of moving) expect(alive.has(after.get(ip)!)).toBe(true);
    for (const [ip, p] of before) if (p !== victim) expect(after.get(ip), `${ip} did not move`).toBe(p);
  }, 90_000);

  test('the node comes back: addresses rebalance onto it, each still answered once', async () => {
    const victim = [0, 1, 2].find((p) => !alive.has(p))!;
    await cluster.startNode(victim);
    await startBridge(victim);
    alive.add(victim);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const p = await settled(30_000);
      if ([...p.values()].includes(victim)) break;
      if (Date.now() > deadline) throw new Error(`node ${victim} got no address back: ${JSON.stringify([...p])}`);
      await sleep(200);
    }
  }, 120_000);

  test('drift: an address removed by hand from its host comes back within a check', async () => {
    const placement = await settled();
    const [ip, holder] = [...placement][0]!;
    const ns = cluster.netns.topology.nodeNamespaces[holder]!;
    const { stdout } = await run('ip', ['netns', 'exec', ns, 'ip', '-j', 'addr', 'show']);
    const iface = (JSON.parse(stdout) as Array<{ ifname: string; addr_info: Array<{ local: string; prefixlen: number }> }>)
      .find((l) => l.addr_info.some((a) => a.local === ip))!;
    const prefix = iface.addr_info.find((a) => a.local === ip)!.prefixlen;
    await run('ip', ['netns', 'exec', ns, 'ip', 'addr', 'del', `${ip}/${prefix}`, 'dev', iface.ifname]);
    expect((await cluster.netns.holders()).get(ip)).toEqual([]);
    const again = await settled(15_000);
    expect(again.get(ip)).toBe(holder);
  }, 60_000);
});
