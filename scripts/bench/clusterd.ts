// clusterd vs real ctdbd 4.17 on one 3-node real cluster, same run: leader
// failover after kill -9 of a whole node, detection of an isolated node,
// false positives under a 64 KiB message flood, and steady-state cost.
//
// One real Debian ctdbd cluster (test mode, loopback), with a transportd and a
// clusterd child process per node as `ctdb-bridge start` runs them. ctdbd's
// view comes from LegacyClients (leader broadcasts, GET_NODEMAP DISCONNECTED).
//  - failover: kill -9 of the clusterd leader's node (ctdbd, transportd,
//    clusterd): ms until a survivor's clusterd subscriber hears of a new
//    leader; the same for ctdbd's leader (one kill when both lead on one node),
//    ms until a survivor's LegacyClient sees a leader broadcast naming another
//    node. The node is restarted and everything agrees again between rounds.
//  - isolation: nft cuts a non-leader node off (loopback test addresses only):
//    ms until a survivor's clusterd reports it not ok, and until a survivor's
//    ctdbd flags it DISCONNECTED (GET_NODEMAP every 100 ms, cap 60 s).
//  - flood: 64 KiB REQ_MESSAGEs node 0 -> node 1 (window 16) while a
//    subscriber per node counts node events with a state other than ok, and
//    leader changes (clusterd and ctdbd). Target 0.
//  - cost: CPU and RSS of each clusterd (and transportd) over 10 s idle, and
//    messages/s per node from ClusterdCore instances (3 and 32 nodes) on an
//    in-memory network in real time, 50 ms tick as clusterd uses; that CPU
//    is the core's decisions plus a JSON round trip per message, without
//    transport and schema validation.
//
//   node scripts/bin/run-ts.mjs scripts/bench/clusterd.ts [--rounds N] [--isolation-rounds N] [--flood-s S] [--idle-s S] [--json]

import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LegacyClient } from '../../legacy/client/index.ts';
import { silentLogger } from '../../legacy/common/log.ts';
import { NodeFlag } from '../../legacy/protocol/constants.ts';
import { TransportClient, createRegistry } from '../../transport/index.ts';
import { LOCAL_NODE } from '../../transport/endpoint.ts';
import { CLUSTERD_SERVICE } from '../../components/framework/services.ts';
import { CLUSTERD_MESSAGES } from '../../components/clusterd/messages.ts';
import { BUILTIN_COMPONENT_MESSAGES } from '../../components/framework/builtin-messages.ts';
import type { ClusterEvent, ClusterStatus } from '../../components/clusterd/status.ts';
import { ClusterdCore, DEFAULT_TIMINGS, type Action } from '../../components/clusterd/core/index.ts';
import { spawnTransportd, transportdSocketPath, type TransportdChild } from '../cli/start/transportd-children.ts';
import { spawnComponent } from '../cli/start/component-children.ts';
import { stopBridgeChild, type BridgeChild } from '../cli/start/bridge-children.ts';
import { descendants, readPidFile, signal, waitForExit } from '../local-cluster/processes.ts';
import type { RealLocalCluster } from '../local-cluster/index.ts';
import { Partition } from '../../compat-tests/support/partition.ts';
import { messageThroughput } from './client-messages.ts';
import { withRealCluster, median } from './real-cluster-bench.ts';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    'isolation-rounds': { type: 'string', default: '2' },
    'flood-s': { type: 'string', default: '60' },
    'idle-s': { type: 'string', default: '10' },
    json: { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(args.rounds);
const ISOLATION_ROUNDS = Number(args['isolation-rounds']);
const FLOOD_MS = Number(args['flood-s']) * 1000;
const IDLE_MS = Number(args['idle-s']) * 1000;
const UNKNOWN_PNN = 0xffffffff;
const FLOOD_SIZE = 64 * 1024;
const FLOOD_WINDOW = 16;
const ISOLATION_CAP_MS = 60_000;

const registry = createRegistry([...BUILTIN_COMPONENT_MESSAGES, ...CLUSTERD_MESSAGES]);
const progress = (line: string) => process.stderr.write(`[clusterd bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined, pollMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(pollMs);
  }
}

/** The bridge processes of one node, and how to reach them. */
class BridgeNodes {
  readonly transportds: Array<TransportdChild | undefined> = [];
  readonly clusterds: Array<BridgeChild | undefined> = [];
  private readonly partitions = new Set<Partition>();

  constructor(readonly cluster: RealLocalCluster) {}

  get pnns(): number[] {
    return this.cluster.nodes.map((n) => n.pnn);
  }

  socketOf(pnn: number): string {
    return transportdSocketPath(join(this.cluster.nodes[pnn].base, '..'), pnn);
  }

  async startBridge(pnn: number): Promise<void> {
    const node = this.cluster.nodes[pnn];
    this.transportds[pnn] = await spawnTransportd({
      pnn, ctdbSocket: node.socketPath, socketPath: this.socketOf(pnn), logFile: join(node.base, 'transportd.log'), pollIntervalMs: 250,
    });
    this.clusterds[pnn] = await spawnComponent({
      component: 'clusterd', pnn, base: node.base, ctdbSocket: node.socketPath, transportSocket: this.socketOf(pnn),
      logFile: join(node.base, 'clusterd.log'), logLevel: 'info',
    });
  }

  /** kill -9 of the whole node: ctdbd, transportd, clusterd at once. */
  async killWholeNode(pnn: number): Promise<void> {
    const kill9 = async (child: BridgeChild | undefined) => {
      if (!child) return;
      signal(child.pid, 'SIGKILL');
      await waitForExit([child.pid], 5000);
      await stopBridgeChild(child);
    };
    const [t, c] = [this.transportds[pnn], this.clusterds[pnn]];
    this.transportds[pnn] = undefined;
    this.clusterds[pnn] = undefined;
    await Promise.all([this.cluster.killNode(pnn), kill9(c), kill9(t)]);
  }

  async restartWholeNode(pnn: number): Promise<void> {
    await this.cluster.startNode(pnn);
    await this.startBridge(pnn);
  }

  async subscriber(pnn: number, onEvent: (e: ClusterEvent) => void): Promise<TransportClient> {
    const c = new TransportClient({ socketPath: this.socketOf(pnn), name: 'clusterd-bench', registry, defaultTimeoutMs: 3000, logger: silentLogger() });
    await c.connect();
    c.subscribe('clusterd.event', (e: ClusterEvent) => onEvent(e));
    await c.request<ClusterStatus>({ node: LOCAL_NODE, service: CLUSTERD_SERVICE }, 'clusterd.subscribe', {});
    return c;
  }

  async status(pnn: number): Promise<ClusterStatus | undefined> {
    const c = new TransportClient({ socketPath: this.socketOf(pnn), name: 'clusterd-bench', registry, defaultTimeoutMs: 2000, logger: silentLogger() });
    try {
      await c.connect({ timeoutMs: 2000 });
      return await c.request<ClusterStatus>({ node: LOCAL_NODE, service: CLUSTERD_SERVICE }, 'clusterd.status', {});
    } catch {
      return undefined;
    } finally {
      await c.close().catch(() => undefined);
    }
  }

  /** One clusterd leader that every listed node follows, with every listed node ok in every view; else undefined. */
  async agreedLeader(pnns = this.pnns): Promise<number | undefined> {
    const all = await Promise.all(pnns.map((p) => this.status(p)));
    if (all.some((s) => !s || s.leader === null)) return undefined;
    if (new Set(all.map((s) => `${s!.leader}/${s!.epoch}`)).size !== 1) return undefined;
    const okEverywhere = all.every((s) => pnns.every((p) => s!.nodes.find((n) => n.pnn === p)?.state === 'ok'));
    return okEverywhere ? all[0]!.leader! : undefined;
  }

  legacyClient(pnn: number, trackLeader: boolean): Promise<LegacyClient> {
    return LegacyClient.connect({ socketPath: this.cluster.nodes[pnn].socketPath, logger: silentLogger(), reconnect: false, trackLeader });
  }

  /** ctdbd's leader as every listed node's leader broadcasts name it (waits for a broadcast on each). */
  async ctdbLeader(pnns = this.pnns, timeoutMs = 30_000): Promise<number> {
    const clients = await Promise.all(pnns.map((p) => this.legacyClient(p, true)));
    try {
      return await until('ctdbd to agree on a leader', timeoutMs, () => {
        const seen = new Set(clients.map((c) => c.leader));
        const [only] = seen;
        return seen.size === 1 && only !== UNKNOWN_PNN ? only : undefined;
      });
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  }

  /** Every node ok in ctdbd's node map on node `via`. */
  async ctdbAllOk(via: number): Promise<boolean> {
    const c = await this.legacyClient(via, false).catch(() => undefined);
    if (!c) return false;
    try {
      const map = await c.getNodeMap({ timeoutMs: 2000 });
      return map.nodes.every((n) => n.flags === 0);
    } catch {
      return false;
    } finally {
      await c.close();
    }
  }

  async waitAllAgree(timeoutMs = 60_000): Promise<{ clusterd: number; ctdbd: number }> {
    await until('ctdbd to show every node OK', timeoutMs, async () => ((await this.ctdbAllOk(0)) ? true : undefined), 250);
    const clusterd = await until('clusterd to agree on one leader with every node ok', timeoutMs, () => this.agreedLeader(), 250);
    const ctdbd = await this.ctdbLeader(this.pnns, timeoutMs);
    return { clusterd, ctdbd };
  }

  async cut(isolated: number): Promise<Partition> {
    const others = this.pnns.filter((p) => p !== isolated).map((p) => this.cluster.nodes[p].address);
    const p = new Partition([this.cluster.nodes[isolated].address], others);
    this.partitions.add(p);
    await p.cut();
    return p;
  }

  async heal(p: Partition): Promise<void> {
    await p.heal();
    this.partitions.delete(p);
  }

  /** Synchronous, for exit handlers: delete every nft table we made. */
  healAllNow(): void {
    for (const p of this.partitions) {
      try {
        execFileSync('nft', ['delete', 'table', 'inet', p.table], { stdio: 'ignore', timeout: 5000 });
      } catch { /* already gone */ }
    }
    this.partitions.clear();
  }

  async stopAll(): Promise<void> {
    const children = [...this.clusterds, ...this.transportds].filter((c): c is BridgeChild => c !== undefined);
    await Promise.all(children.map((c) => stopBridgeChild(c)));
    this.clusterds.length = 0;
    this.transportds.length = 0;
  }
}

// ---- 1. failover -----------------------------------------------------------------

interface FailoverRound {
  clusterdLeader: number;
  ctdbdLeader: number;
  /** Kills in this round: one when both lead on one node. */
  kills: number;
  clusterdMs: number | null;
  ctdbdMs: number | null;
}

/** Kills `victim` whole; resolves the ms until a survivor's clusterd and/or ctdbd names another leader. */
async function killAndTime(nodes: BridgeNodes, victim: number, watch: { clusterd: boolean; ctdbd: boolean }):
  Promise<{ clusterdMs: number | null; ctdbdMs: number | null }> {
  const survivors = nodes.pnns.filter((p) => p !== victim);
  let t0 = 0;
  let clusterdMs: number | null = null;
  let ctdbdMs: number | null = null;
  const subs = watch.clusterd
    ? await Promise.all(survivors.map((p) => nodes.subscriber(p, (e) => {
      if (t0 && clusterdMs === null && e.kind === 'leader' && e.leader !== null && e.leader !== undefined && e.leader !== victim) {
        clusterdMs = performance.now() - t0;
      }
    })))
    : [];
  const legacy = watch.ctdbd ? await Promise.all(survivors.map((p) => nodes.legacyClient(p, true))) : [];
  for (const c of legacy) {
    c.on('leader', ({ pnn }: { pnn: number }) => {
      if (t0 && ctdbdMs === null && pnn !== victim && pnn !== UNKNOWN_PNN) ctdbdMs = performance.now() - t0;
    });
  }
  t0 = performance.now();
  await nodes.killWholeNode(victim);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && ((watch.clusterd && clusterdMs === null) || (watch.ctdbd && ctdbdMs === null))) await sleep(20);
  await Promise.all([...subs.map((s) => s.close()), ...legacy.map((c) => c.close())]);
  return { clusterdMs, ctdbdMs };
}

async function failover(nodes: BridgeNodes): Promise<FailoverRound[]> {
  const rounds: FailoverRound[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const { clusterd: cl, ctdbd: ct } = await nodes.waitAllAgree();
    progress(`failover round ${r + 1}/${ROUNDS}: clusterd leader ${cl}, ctdbd leader ${ct}`);
    const round: FailoverRound = { clusterdLeader: cl, ctdbdLeader: ct, kills: cl === ct ? 1 : 2, clusterdMs: null, ctdbdMs: null };
    if (cl === ct) {
      Object.assign(round, await killAndTime(nodes, cl, { clusterd: true, ctdbd: true }));
      await nodes.restartWholeNode(cl);
    } else {
      round.clusterdMs = (await killAndTime(nodes, cl, { clusterd: true, ctdbd: false })).clusterdMs;
      await nodes.restartWholeNode(cl);
      // ctdbd's leader may have moved with the kill above: kill whichever node it names now.
      const { ctdbd: ct2 } = await nodes.waitAllAgree();
      round.ctdbdLeader = ct2;
      round.ctdbdMs = (await killAndTime(nodes, ct2, { clusterd: false, ctdbd: true })).ctdbdMs;
      await nodes.restartWholeNode(ct2);
    }
    progress(`  clusterd ${fmtMs(round.clusterdMs)}, ctdbd ${fmtMs(round.ctdbdMs)}`);
    rounds.push(round);
  }
  return rounds;
}

// ---- 2. isolation ------------------------------------------------------------------

interface IsolationRound {
  isolated: number;
  clusterdMs: number | null;
  clusterdState: string | null;
  ctdbdMs: number | null;
  healedMs: number;
}

async function isolation(nodes: BridgeNodes): Promise<IsolationRound[]> {
  const rounds: IsolationRound[] = [];
  for (let r = 0; r < ISOLATION_ROUNDS; r++) {
    const { clusterd: cl, ctdbd: ct } = await nodes.waitAllAgree();
    const isolated = nodes.pnns.find((p) => p !== cl && p !== ct) ?? nodes.pnns.find((p) => p !== cl)!;
    const survivors = nodes.pnns.filter((p) => p !== isolated);
    progress(`isolation round ${r + 1}/${ISOLATION_ROUNDS}: cutting node ${isolated} off (clusterd leader ${cl}, ctdbd leader ${ct})`);
    let t0 = 0;
    let clusterdMs: number | null = null;
    let clusterdState: string | null = null;
    const subs = await Promise.all(survivors.map((p) => nodes.subscriber(p, (e) => {
      if (t0 && clusterdMs === null && e.kind === 'node' && e.view?.pnn === isolated && e.view.state !== 'ok') {
        clusterdMs = performance.now() - t0;
        clusterdState = e.view.state;
      }
    })));
    const probe = await nodes.legacyClient(survivors[0], false);
    t0 = performance.now();
    const partition = await nodes.cut(isolated);
    let ctdbdMs: number | null = null;
    while (performance.now() - t0 < ISOLATION_CAP_MS && (ctdbdMs === null || clusterdMs === null)) {
      if (ctdbdMs === null) {
        const map = await probe.getNodeMap({ timeoutMs: 1000 }).catch(() => undefined);
        const flags = map?.nodes.find((n) => n.pnn === isolated)?.flags ?? 0;
        if (flags & NodeFlag.DISCONNECTED) ctdbdMs = performance.now() - t0;
      }
      await sleep(100);
    }
    await Promise.all([...subs.map((s) => s.close()), probe.close()]);
    const healStart = performance.now();
    await nodes.heal(partition);
    await nodes.waitAllAgree(90_000);
    const round = { isolated, clusterdMs, clusterdState, ctdbdMs, healedMs: performance.now() - healStart };
    progress(`  clusterd ${fmtMs(clusterdMs)} (${clusterdState}), ctdbd ${fmtMs(ctdbdMs)}, all agree again ${fmtMs(round.healedMs)} after healing`);
    rounds.push(round);
  }
  return rounds;
}

// ---- 3. flood ----------------------------------------------------------------------

interface FloodResult {
  seconds: number;
  messagesPerSecond: number;
  mebibytesPerSecond: number;
  clusterdNotOkEvents: number;
  clusterdLeaderEvents: number;
  ctdbdLeaderChanges: number;
  notOkDetail: string[];
}

async function flood(nodes: BridgeNodes): Promise<FloodResult> {
  await nodes.waitAllAgree();
  progress(`flood: ${FLOOD_MS / 1000} s of ${FLOOD_SIZE / 1024} KiB messages node 0 -> node 1, window ${FLOOD_WINDOW}`);
  let notOk = 0;
  let leaders = 0;
  let ctdbLeaders = 0;
  const detail: string[] = [];
  const subs = await Promise.all(nodes.pnns.map((p) => nodes.subscriber(p, (e) => {
    if (e.kind === 'node' && e.view && e.view.state !== 'ok') {
      notOk++;
      if (detail.length < 10) detail.push(`node ${e.node}: ${e.view.pnn} ${e.view.state} (${e.reason})`);
    }
    if (e.kind === 'leader') leaders++;
  })));
  const watchers = await Promise.all(nodes.pnns.map((p) => nodes.legacyClient(p, true)));
  // Only changes after each has heard its first broadcast count.
  await until('leader broadcasts', 10_000, () => (watchers.every((w) => w.leader !== UNKNOWN_PNN) ? true : undefined));
  for (const w of watchers) w.on('leader', () => ctdbLeaders++);
  const sender = await nodes.legacyClient(0, false);
  const receiver = await nodes.legacyClient(1, false);
  const started = performance.now();
  const mps = await messageThroughput(sender, receiver, FLOOD_SIZE, FLOOD_WINDOW, FLOOD_MS);
  const seconds = (performance.now() - started) / 1000;
  // Late detections of what the flood did count too.
  await sleep(DEFAULT_TIMINGS.deadAfterMs);
  await Promise.all([...subs.map((s) => s.close()), ...watchers.map((w) => w.close()), sender.close(), receiver.close()]);
  const r = {
    seconds, messagesPerSecond: mps, mebibytesPerSecond: (mps * FLOOD_SIZE) / (1024 * 1024),
    clusterdNotOkEvents: notOk, clusterdLeaderEvents: leaders, ctdbdLeaderChanges: ctdbLeaders, notOkDetail: detail,
  };
  progress(`  ${mps.toFixed(0)} msg/s (${r.mebibytesPerSecond.toFixed(1)} MiB/s); not-ok events ${notOk}, clusterd leader events ${leaders}, ctdbd leader changes ${ctdbLeaders}`);
  return r;
}

// ---- 4. cost -----------------------------------------------------------------------

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15)
}

function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
}

interface ProcessCost {
  pnn: number;
  /** clusterd, transportd, or ctdbd (its own process plus its children: recovery daemon, eventd). */
  kind: string;
  pids: number[];
  cpuPercent: number;
  rssMiB: number;
}

async function idleCost(nodes: BridgeNodes): Promise<ProcessCost[]> {
  await nodes.waitAllAgree();
  progress(`idle cost: ${IDLE_MS / 1000} s`);
  const groups: Array<{ pnn: number; kind: string; pids: number[] }> = [];
  for (const p of nodes.pnns) {
    const ctdbd = await readPidFile(join(nodes.cluster.nodes[p].base, 'run', 'ctdbd.pid'));
    groups.push({ pnn: p, kind: 'clusterd', pids: [nodes.clusterds[p]!.pid] }, { pnn: p, kind: 'transportd', pids: [nodes.transportds[p]!.pid] });
    if (ctdbd) groups.push({ pnn: p, kind: 'ctdbd', pids: [ctdbd, ...descendants(ctdbd)] });
  }
  const ticks = (pids: number[]) => pids.reduce((sum, pid) => sum + cpuTicks(pid), 0);
  const before = groups.map((g) => ticks(g.pids));
  const t0 = performance.now();
  await sleep(IDLE_MS);
  const seconds = (performance.now() - t0) / 1000;
  return groups.map((g, i) => ({
    ...g,
    cpuPercent: ((ticks(g.pids) - before[i]) / CLK_TCK / seconds) * 100,
    rssMiB: g.pids.reduce((sum, pid) => sum + rssKiB(pid), 0) / 1024,
  }));
}

interface SimCost {
  nodes: number;
  seconds: number;
  messagesPerNodePerSecond: number;
  heartbeatsPerNodePerSecond: number;
  cpuPercentPerNode: number;
  agreedLeader: boolean;
}

/** N ClusterdCores in this process, real time, 50 ms tick, each message JSON-encoded and delivered on the next turn. */
async function simulatedCost(n: number, ms: number): Promise<SimCost> {
  const pnns = Array.from({ length: n }, (_, i) => i);
  const t = () => performance.now();
  const cores = pnns.map((self) => new ClusterdCore({ self, nodes: pnns, lockRequired: false, ...DEFAULT_TIMINGS }, { now: t(), initialEpoch: 0 }));
  let measuring = false;
  let messages = 0;
  let heartbeats = 0;
  const count = (hb: boolean) => {
    if (!measuring) return;
    messages++;
    if (hb) heartbeats++;
  };
  const wire = <T>(body: T): T => JSON.parse(JSON.stringify(body)) as T;
  const perform = (from: number, actions: Action[]): void => {
    for (const a of actions) {
      if (a.kind === 'send-heartbeat' || a.kind === 'send-vote') {
        const hb = a.kind === 'send-heartbeat';
        let settled = false;
        const timer = setTimeout(() => {
          if (settled) return;
          settled = true;
          perform(from, hb ? cores[from].heartbeatFailed(t(), a.to) : cores[from].voteFailed(t(), a.to));
        }, hb ? DEFAULT_TIMINGS.deadAfterMs / 2 : DEFAULT_TIMINGS.leaseMs);
        const body = JSON.stringify(a.body);
        count(hb);
        setImmediate(() => {
          const dest = cores[a.to];
          const answer = hb ? dest.onHeartbeat(t(), from, JSON.parse(body)) : dest.onVote(t(), from, JSON.parse(body));
          perform(a.to, answer.actions);
          const reply = wire(answer.reply);
          count(hb);
          setImmediate(() => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            perform(from, hb
              ? cores[from].onHeartbeatReply(t(), a.to, reply as Parameters<ClusterdCore['onHeartbeatReply']>[2])
              : cores[from].onVoteReply(t(), a.to, reply as Parameters<ClusterdCore['onVoteReply']>[2]));
          });
        });
      }
    }
  };
  const timers = pnns.map((p) => setInterval(() => perform(p, cores[p].tick(t())), 50));
  // Settle: a leader elected, heartbeats at steady state.
  await sleep(3000);
  measuring = true;
  const cpu0 = process.cpuUsage();
  const t0 = t();
  await sleep(ms);
  const cpu = process.cpuUsage(cpu0);
  const seconds = (t() - t0) / 1000;
  measuring = false;
  for (const tm of timers) clearInterval(tm);
  const leaders = new Set(cores.map((c) => c.view(t()).leader));
  await sleep(DEFAULT_TIMINGS.deadAfterMs); // let pending timeouts run out
  return {
    nodes: n, seconds,
    messagesPerNodePerSecond: messages / n / seconds,
    heartbeatsPerNodePerSecond: heartbeats / n / seconds,
    cpuPercentPerNode: ((cpu.user + cpu.system) / 1e6 / seconds / n) * 100,
    agreedLeader: leaders.size === 1 && !leaders.has(undefined),
  };
}

// ---- report ------------------------------------------------------------------------

function fmtMs(ms: number | null): string {
  return ms === null ? 'none' : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;
}

const med = (xs: Array<number | null>): number | null => {
  const v = xs.filter((x): x is number => x !== null);
  return v.length ? median(v) : null;
};

function ratio(ours: number | null, theirs: number | null): string {
  return ours === null || theirs === null || ours === 0 ? '-' : `${(theirs / ours).toFixed(1)}x faster`;
}

async function main(): Promise<void> {
  const result = await withRealCluster(3, async (cluster) => {
    const nodes = new BridgeNodes(cluster);
    const healOnExit = () => nodes.healAllNow();
    process.on('exit', healOnExit);
    try {
      for (const p of nodes.pnns) await nodes.startBridge(p);
      const fo = await failover(nodes);
      const iso = await isolation(nodes);
      const fl = await flood(nodes);
      const idle = await idleCost(nodes);
      return { failover: fo, isolation: iso, flood: fl, idle };
    } finally {
      nodes.healAllNow();
      await nodes.stopAll();
      process.off('exit', healOnExit);
    }
  });
  progress('simulated cores: 3 and 32 nodes');
  const sim = [await simulatedCost(3, IDLE_MS), await simulatedCost(32, IDLE_MS)];

  const summary = {
    failover: { clusterdMedianMs: med(result.failover.map((r) => r.clusterdMs)), ctdbdMedianMs: med(result.failover.map((r) => r.ctdbdMs)) },
    isolation: { clusterdMedianMs: med(result.isolation.map((r) => r.clusterdMs)), ctdbdMedianMs: med(result.isolation.map((r) => r.ctdbdMs)) },
  };
  if (args.json) {
    console.log(JSON.stringify({ ...result, simulated: sim, summary }, null, 2));
    return;
  }
  const nodes3 = [...new Set(result.idle.map((c) => c.pnn))];
  const rows: string[][] = [
    ['metric', 'clusterd', 'ctdbd 4.17', 'ratio', 'target'],
    ['leader failover, median', fmtMs(summary.failover.clusterdMedianMs), fmtMs(summary.failover.ctdbdMedianMs),
      ratio(summary.failover.clusterdMedianMs, summary.failover.ctdbdMedianMs), 'clusterd <= 1 s'],
    ...result.failover.map((r, i) => [`  round ${i + 1} (leaders ${r.clusterdLeader}/${r.ctdbdLeader}, ${r.kills} kill${r.kills > 1 ? 's' : ''})`,
      fmtMs(r.clusterdMs), fmtMs(r.ctdbdMs), ratio(r.clusterdMs, r.ctdbdMs), '']),
    ['isolation detected, median', fmtMs(summary.isolation.clusterdMedianMs), fmtMs(summary.isolation.ctdbdMedianMs),
      ratio(summary.isolation.clusterdMedianMs, summary.isolation.ctdbdMedianMs), 'clusterd <= 3 s'],
    ...result.isolation.map((r, i) => [`  round ${i + 1} (node ${r.isolated} cut; ${r.clusterdState ?? '-'})`,
      fmtMs(r.clusterdMs), fmtMs(r.ctdbdMs), ratio(r.clusterdMs, r.ctdbdMs), '']),
    [`flood ${result.flood.seconds.toFixed(0)} s, ${result.flood.messagesPerSecond.toFixed(0)} msg/s (${result.flood.mebibytesPerSecond.toFixed(0)} MiB/s)`, '', '', '', ''],
    ['  not-ok node events', String(result.flood.clusterdNotOkEvents), '-', '', '0'],
    ['  leader changes', String(result.flood.clusterdLeaderEvents), String(result.flood.ctdbdLeaderChanges), '', '0'],
    [`idle ${IDLE_MS / 1000} s: CPU, RSS`, '', '', '', ''],
    ...nodes3.map((p) => {
      const of = (kind: string) => result.idle.find((c) => c.pnn === p && c.kind === kind);
      const cell = (c: ProcessCost | undefined) => (c ? `${c.cpuPercent.toFixed(2)} %, ${c.rssMiB.toFixed(1)} MiB` : '-');
      return [`  node ${p} (transportd: ${cell(of('transportd'))})`, cell(of('clusterd')), cell(of('ctdbd')), '', ''];
    }),
    ['core on a simulated network, per node', 'msgs sent/s', '', 'CPU', ''],
    ...sim.map((s) => [`  ${s.nodes} nodes`, `${s.messagesPerNodePerSecond.toFixed(0)}`, '',
      `${s.cpuPercentPerNode.toFixed(2)} %`, s.agreedLeader ? '' : 'NO AGREED LEADER']),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
  if (result.flood.notOkDetail.length) console.log(`not-ok events under flood: ${result.flood.notOkDetail.join('; ')}`);
}

await main();
