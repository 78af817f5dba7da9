// A netns cluster (one namespace per node, a client namespace that probes
// who answers) with ctdb-bridge's transportd, clusterd and failoverd beside
// each node's daemon: what the failoverd scenario suite and the side-by-side
// failover bench share. Two kinds:
// - real: Debian's ctdbd 4.17 with public IP failover on, failoverd active
//   (stage 3: ctdbd's runs held off, failoverd drives ctdbd's controls);
// - embedded: our daemon, which does no failover itself, failoverd native
//   (stage 4: failoverd runs inside the node's namespace and adds, removes
//   and announces the addresses there).
// The netns part is scripts/local-cluster/netns; this only adds the bridge
// processes, the failover CLI and "every address answered exactly once" as
// one check.

import { execFile } from 'node:child_process';
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI_ENTRY } from '../../legacy/common/package-info.ts';
import { silentLogger } from '../../legacy/common/log.ts';
import type { FailoverStatus } from '../../components/failoverd/status.ts';
import {
  NetnsEmbeddedLocalCluster, NetnsRealLocalCluster, parsePublicIpsX, type NetnsLocalCluster, type NetnsOptions,
} from '../../scripts/local-cluster/netns/index.ts';
import { spawnTransportd, transportdSocketPath } from '../../scripts/cli/start/transportd-children.ts';
import { spawnComponent } from '../../scripts/cli/start/component-children.ts';
import { stopBridgeChild, type BridgeChild, type BridgeChildOptions } from '../../scripts/cli/start/bridge-children.ts';
import { signal, waitForExit } from '../../scripts/local-cluster/processes.ts';
import { trackCluster, untrackCluster } from './live-clusters.ts';

const run = promisify(execFile);

export type Placement = Map<string, number>;

/** real: Debian's ctdbd with failoverd active; embedded: our daemon with failoverd native. */
export type FailoverdClusterKind = 'real' | 'embedded';

export interface FailoverdNetnsOptions {
  /** Default 'real'. */
  kind?: FailoverdClusterKind;
  nodes: number;
  /** 10.x.0.0/24 subnets this cluster may use (each helper has its own octets). */
  subnetRange: [number, number];
  /** Appended to every node's ctdb-bridge.conf (default: fastBridgeConf(kind)). */
  bridgeConf?: string;
  /** Directory prefix (tmpdir). */
  prefix?: string;
  /** Passed to the netns cluster: how many public addresses, and each node's public_addresses text. */
  netns?: Pick<NetnsOptions, 'publicAddresses' | 'publicAddressesFile'>;
}

/**
 * Fast detection for tests and benches: clusterd polls ctdbd's node map every
 * 100 ms (a kill -9 shows as DISCONNECTED at once) and takes a silent clusterd
 * for gone after 1 s; failoverd checks every 200 ms (and at once on a node event).
 * On the embedded daemon failoverd is native (it does the host's part too) and
 * clusterd active (nobody else decides there). `mode`: failoverd's mode at
 * start (shadow, for tests of the handover from ctdbd).
 */
export function fastBridgeConf(kind: FailoverdClusterKind, mode: 'shadow' | 'active' | 'native' = failoverdModeOf(kind)): string {
  return [
    '[clusterd]', ...(kind === 'embedded' ? ['\tmode = active'] : []), '\tdead after = 1000', '\tlegacy poll interval = 100',
    '[failoverd]', `\tmode = ${mode}`, '\tcheck interval = 200', '\ttakeover lease = 3000', '\tsettle time = 1000', '\tquorum loss = 1000', '',
  ].join('\n');
}

/** The failoverd mode each kind runs (what `failover status` reports). */
export function failoverdModeOf(kind: FailoverdClusterKind): 'active' | 'native' {
  return kind === 'embedded' ? 'native' : 'active';
}

/** fastBridgeConf('real'), for the bench and older callers. */
export const FAST_BRIDGE_CONF = fastBridgeConf('real');

export class FailoverdNetnsCluster {
  readonly bridge: Array<BridgeChild[] | undefined> = [];
  /** Nodes whose ctdbd runs and is reachable (what every address must be answered by). */
  readonly alive = new Set<number>();

  private constructor(readonly dir: string, readonly kind: FailoverdClusterKind, readonly cluster: NetnsLocalCluster) {}

  static async up(opts: FailoverdNetnsOptions): Promise<FailoverdNetnsCluster> {
    const kind = opts.kind ?? 'real';
    const dir = await mkdtemp(join(tmpdir(), opts.prefix ?? 'ctdb-bridge-failoverd-netns-'));
    const common = {
      dir, nodes: opts.nodes, ownerPid: process.pid, logger: silentLogger('failoverd-netns'),
      netns: { subnetRange: opts.subnetRange, ...opts.netns },
    };
    const cluster = kind === 'embedded' ? new NetnsEmbeddedLocalCluster(common) : new NetnsRealLocalCluster(common);
    trackCluster(cluster, true);
    const c = new FailoverdNetnsCluster(dir, kind, cluster);
    for (let pnn = 0; pnn < opts.nodes; pnn++) c.alive.add(pnn);
    try {
      await cluster.up();
      const conf = opts.bridgeConf ?? fastBridgeConf(kind);
      for (const node of cluster.nodes) await appendFile(join(node.base, 'ctdb-bridge.conf'), conf);
    } catch (err) {
      await c.down();
      throw err;
    }
    return c;
  }

  socketOf(pnn: number): string {
    return transportdSocketPath(this.dir, pnn);
  }

  anyAlive(): number {
    const p = [...this.alive][0];
    if (p === undefined) throw new Error('no node alive');
    return p;
  }

  /** transportd, clusterd and failoverd for node `pnn` (ready when each says it attached). */
  async startBridge(pnn: number): Promise<void> {
    const node = this.cluster.nodes[pnn];
    const transportd = await spawnTransportd({
      pnn, ctdbSocket: node.socketPath, socketPath: this.socketOf(pnn), logFile: join(node.base, 'transportd.log'), pollIntervalMs: 100,
    });
    const children: BridgeChild[] = [transportd];
    this.bridge[pnn] = children;
    for (const component of ['clusterd', 'failoverd']) {
      children.push(await spawnComponent({
        component, pnn, base: node.base, ctdbSocket: node.socketPath, transportSocket: this.socketOf(pnn),
        logFile: join(node.base, `${component}.log`), logLevel: 'info',
        wrap: component === 'failoverd' ? this.failoverdWrap(pnn) : undefined,
      }));
    }
  }

  /** Native failoverd configures the node's addresses: it runs in the node's namespace (ctdbd's event scripts do that on real). */
  private failoverdWrap(pnn: number): BridgeChildOptions['wrap'] {
    return this.kind === 'embedded' ? (launch) => this.cluster.netns.wrapForNode(pnn, launch) : undefined;
  }

  /** SIGTERM, failoverd first (it hands ctdbd's takeover runs back when it is the one holding them). */
  async stopBridge(pnn: number): Promise<void> {
    for (const c of [...(this.bridge[pnn] ?? [])].reverse()) await stopBridgeChild(c).catch(() => undefined);
    this.bridge[pnn] = undefined;
  }

  /** kill -9 of the node's ctdbd and its bridge processes, as a host that dies. */
  async killNode(pnn: number): Promise<void> {
    this.alive.delete(pnn);
    await Promise.all([this.cluster.killNode(pnn), ...(this.bridge[pnn] ?? []).map(async (c) => {
      signal(c.pid, 'SIGKILL');
      await waitForExit([c.pid], 5000);
    })]);
    this.bridge[pnn] = undefined;
  }

  /** Starts a killed or stopped node again, with its bridge processes when `bridge`. */
  async startNode(pnn: number, bridge: boolean): Promise<void> {
    await this.cluster.startNode(pnn);
    if (bridge) await this.startBridge(pnn);
    this.alive.add(pnn);
  }

  async cli<T>(pnn: number, args: string[]): Promise<T> {
    const { stdout } = await run(process.execPath, [CLI_ENTRY, 'failover', ...args, '--json', '--socket', this.socketOf(pnn)], { timeout: 60_000 });
    return JSON.parse(stdout) as T;
  }

  status(pnn = this.anyAlive()): Promise<FailoverStatus> {
    return this.cli<FailoverStatus>(pnn, ['status']);
  }

  /**
   * Every public address answered by exactly one living node, held on the
   * interface of exactly one living node, and `ctdb ip all` (asked of a
   * living node) names the same one; `undefined` when not (yet). `local`:
   * plain `ctdb ip` (the asked node's own view) instead, for while ctdbd
   * still counts an isolated node as connected and `ip all` waits for it.
   */
  async placementOnce(opts: { local?: boolean } = {}): Promise<{ placement?: Placement; seen: string }> {
    const [answers, holders, ctdb] = await Promise.all([
      this.cluster.netns.answersAll(),
      this.cluster.netns.holders(),
      (opts.local ? this.ctdbIpLocal(this.anyAlive()) : this.cluster.ctdbIpAll(this.anyAlive())).catch((err: Error) => err.message),
    ]);
    const seen = JSON.stringify({ answers: [...answers], holders: [...holders], ctdb: typeof ctdb === 'string' ? ctdb : [...ctdb] });
    // A node killed -9 keeps its addresses on its interface (as a real host would): only the living count.
    if ([...answers.values()].some((p) => p === undefined || !this.alive.has(p))) return { seen };
    if ([...holders.values()].some((h) => h.filter((p) => this.alive.has(p)).length !== 1)) return { seen };
    if (typeof ctdb === 'string' || [...answers].some(([ip, p]) => ctdb.get(ip) !== p)) return { seen };
    return { placement: answers as Placement, seen };
  }

  async ctdbIpLocal(pnn: number): Promise<Map<string, number>> {
    const r = await this.cluster.ctdb(pnn, ['-X', 'ip'], { timeoutMs: 5000 });
    if (r.exitCode !== 0) throw new Error(`ctdb -X ip on node ${pnn}: ${r.stderr.trim()}`);
    return parsePublicIpsX(r.stdout);
  }

  /** The first settled placement (that also satisfies `until`, when given). */
  async settled(timeoutMs = 30_000, what = 'every public address answered once, as ctdb ip all says',
    opts: { local?: boolean; until?: (p: Placement) => boolean } = {}): Promise<Placement> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { placement, seen } = await this.placementOnce(opts);
      if (placement && (!opts.until || opts.until(placement))) return placement;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen ${seen}`);
      await sleep(50);
    }
  }

  /** The clusterd leader's failoverd status, once `check` holds. */
  async statusWhen(check: (s: FailoverStatus) => boolean, what: string, timeoutMs = 30_000): Promise<FailoverStatus> {
    const deadline = Date.now() + timeoutMs;
    let last: FailoverStatus | undefined;
    for (;;) {
      for (const pnn of this.alive) {
        if (!this.bridge[pnn]) continue;
        last = await this.status(pnn).catch(() => last);
        if (last && last.deciding && check(last)) return last;
      }
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last status ${JSON.stringify(last)}`);
      await sleep(100);
    }
  }

  /**
   * Back to every node running (bridges too when `bridge`), failoverd deciding
   * with its lease on every node and the placement as planned, addresses settled.
   */
  async restore(bridge: boolean, timeoutMs = 60_000): Promise<Placement> {
    const nodes = this.cluster.nodes.map((n) => n.pnn);
    for (const pnn of nodes) {
      if (!this.alive.has(pnn)) await this.startNode(pnn, bridge);
      else if (bridge && !this.bridge[pnn]) await this.startBridge(pnn);
    }
    if (bridge) {
      await this.statusWhen((s) => s.takeoverLease?.held === true && s.takeoverLease.nodes.length === nodes.length
        && s.addresses.length > 0 && s.addresses.every((a) => a.host === a.plan), 'failoverd deciding, lease on every node, placement as planned', timeoutMs);
    }
    return this.steady(timeoutMs);
  }

  /**
   * A settled placement that stays the same for `steadyMs`: a flag change
   * reaching the deciding failoverd late (a node just enabled or restarted)
   * can still move addresses after the first settled look, and a scenario
   * comparing against that look would then count the wrong addresses.
   */
  async steady(timeoutMs = 60_000, steadyMs = 2000): Promise<Placement> {
    const deadline = Date.now() + timeoutMs;
    const key = (p: Placement) => JSON.stringify([...p].sort());
    let placement = await this.settled(timeoutMs);
    let since = Date.now();
    while (Date.now() - since < steadyMs) {
      await sleep(200);
      const now = await this.settled(Math.max(1000, deadline - Date.now()));
      if (key(now) !== key(placement)) {
        if (Date.now() > deadline) throw new Error(`placement still changing after ${timeoutMs} ms: ${key(now)}`);
        placement = now;
        since = Date.now();
      }
    }
    return placement;
  }

  async down(): Promise<void> {
    for (let pnn = 0; pnn < this.bridge.length; pnn++) await this.stopBridge(pnn);
    await this.cluster.down().catch(() => undefined);
    untrackCluster(this.cluster);
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Polls `probe` every `pollMs` until `done` and returns the longest stretch in which `ok` was false (ms). */
export async function longestGap(ok: () => Promise<boolean>, done: () => boolean, pollMs = 20): Promise<number> {
  let gapStart: number | undefined;
  let longest = 0;
  while (!done()) {
    const now = Date.now();
    if (await ok()) {
      if (gapStart !== undefined) longest = Math.max(longest, now - gapStart);
      gapStart = undefined;
    } else gapStart ??= now;
    await sleep(pollMs);
  }
  if (gapStart !== undefined) longest = Math.max(longest, Date.now() - gapStart);
  return longest;
}
