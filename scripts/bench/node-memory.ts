// Resident memory of one node's daemon, ours against Debian's ctdbd 4.17
// (issue 12: ours <= 64 MB idle and flat within 10% after 1M messages;
// transportd and each component <= 50 MB idle). In one run: an embedded
// 2-node cluster and a real 2-node cluster on their own loopback addresses,
// a transportd (tunnel uplink), clusterd and failoverd on node 0 of each;
// RSS (/proc/PID/status VmRSS) of node 0's daemon and of the bridge daemons
// after settling idle (--messages 0 stops there); then N REQ_MESSAGEs through each
// cluster (client A on node 0 -> SRVID of client B on node 1, or both on
// node 0 with --path same; a window of unacknowledged messages in flight,
// messages/s reported) and RSS again after 5 s idle.
//
// What is counted: "daemon" is the main process (ours: the `ctdb-bridge
// node` process; ctdbd: the main ctdbd, whose pid file names it). "tree" adds
// its child processes: ctdbd's recovery daemon and event daemon, our
// long-lived `ss` helper shell. Anon/PSS columns help read VmRSS: most of a
// Node process's file-backed RSS is the node binary, shared by every Node
// process on the machine.
//
// --baseline adds an embedded cluster run by another build of ours (e.g. an
// older commit's, started as it was: no Node flags, ctdbd's election waits);
// --plain adds ours without the daemon Node flags and environment; --try=
// "FLAGS NAME=value" adds ours with other Node flags (and environment added
// to the daemon's), to choose the daemon settings; --bridge-try="FLAGS" the
// same for transportd, clusterd and failoverd only.
// Idle figures depend on the wait: V8's memory reducer compacts an idle heap
// ~8-20 s after start; --idle-s 25 reads the settled size.
//
//   node scripts/bin/run-ts.mjs scripts/bench/node-memory.ts [--messages 1000000] [--size 64]
//       [--path cross|same] [--idle-s 5] [--baseline OTHER/scripts/bin/ctdb-bridge.cjs] [--plain] [--try="FLAGS"]...
//       [--bridge-try="FLAGS"]... [--no-real] [--json]
//   (needs `npm run build`: the daemons run from the compiled CLI, as in production)

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { LegacyClient } from '../../legacy/client/index.ts';
import { silentLogger } from '../../legacy/common/log.ts';
import {
  DAEMON_NODE_ENV, DEFAULT_CTDBD_PATH, DEFAULT_DAEMON_RUNTIME, EmbeddedLocalCluster, RealLocalCluster, daemonArgv, daemonEnv,
  type DaemonRuntime, type LocalCluster,
} from '../local-cluster/index.ts';
import { descendants, isAlive, killAll, signal, waitForExit } from '../local-cluster/processes.ts';
import { killOnExit } from './real-cluster-bench.ts';
import { messageCountThroughput, messageWindow } from './client-messages.ts';

const { values: args } = parseArgs({
  options: {
    messages: { type: 'string', default: '1000000' },
    size: { type: 'string', default: '64' },
    path: { type: 'string', default: 'cross' },
    'idle-s': { type: 'string', default: '5' },
    baseline: { type: 'string' },
    plain: { type: 'boolean', default: false },
    /** Adds ours with these Node flags instead of the daemon flags (space-separated; repeatable). */
    try: { type: 'string', multiple: true, default: [] },
    /** Adds ours with these Node flags for transportd and the components only (the node daemon keeps its own). */
    'bridge-try': { type: 'string', multiple: true, default: [] },
    'no-real': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});

const TARGET_NODE_MB = 64;
/** transportd and each component daemon. */
const TARGET_BRIDGE_DAEMON_MB = 50;
const FLAT_PCT = 10;

// ------------------------------------------------------------------ memory

interface Memory {
  rssKiB: number;
  anonKiB: number;
  pssKiB: number;
  hwmKiB: number;
  /** VmRSS of the process and its descendants. */
  treeKiB: number;
}

function statusField(text: string, name: string): number {
  const m = new RegExp(`^${name}:\\s+(\\d+)\\s+kB$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

function rssOf(pid: number): number {
  try {
    return statusField(readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmRSS');
  } catch {
    return 0; // gone meanwhile
  }
}

function memoryOf(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  let pss = NaN;
  try {
    pss = statusField(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'), 'Pss');
  } catch {
    // no smaps_rollup (old kernel): PSS stays unknown
  }
  const tree = descendants(pid).reduce((sum, child) => sum + rssOf(child), 0);
  const rss = statusField(status, 'VmRSS');
  return { rssKiB: rss, anonKiB: statusField(status, 'RssAnon'), pssKiB: pss, hwmKiB: statusField(status, 'VmHWM'), treeKiB: rss + tree };
}

// --------------------------------------------------------------- variants

interface Variant {
  name: string;
  kind: 'embedded' | 'real';
  /** Ours: how the node daemons are started. */
  runtime: DaemonRuntime;
  /** How transportd, clusterd and failoverd are started. */
  bridgeRuntime: DaemonRuntime;
  quickStart: boolean;
}

interface Measured {
  variant: string;
  daemonPid: number;
  bridge: BridgeDaemons;
  idle: Memory;
  transportdIdle: Memory;
  clusterdIdle: Memory;
  failoverdIdle: Memory;
  after?: Memory;
  transportdAfter?: Memory;
  clusterdAfter?: Memory;
  failoverdAfter?: Memory;
  messagesPerSecond?: number;
  trafficSeconds?: number;
}

function variants(): Variant[] {
  const base = { runtime: DEFAULT_DAEMON_RUNTIME, bridgeRuntime: DEFAULT_DAEMON_RUNTIME, quickStart: true };
  const out: Variant[] = [{ name: 'ours', kind: 'embedded', ...base }];
  for (const text of args.try ?? []) {
    // "NAME=value" words are environment, the rest Node flags.
    const words = text.split(/\s+/).filter(Boolean);
    const env = Object.fromEntries(words.filter((w) => /^[A-Z_][A-Z0-9_]*=/.test(w)).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]));
    const nodeFlags = words.filter((w) => !/^[A-Z_][A-Z0-9_]*=/.test(w));
    const runtime = { ...DEFAULT_DAEMON_RUNTIME, nodeFlags, env: { ...DAEMON_NODE_ENV, ...env } }; // one environment for every daemon
    out.push({ name: `ours ${text}`, kind: 'embedded', ...base, runtime, bridgeRuntime: runtime });
  }
  for (const text of args['bridge-try'] ?? []) {
    const nodeFlags = text.split(/\s+/).filter(Boolean);
    out.push({ name: `ours, bridge daemons ${text || '(no flags)'}`, kind: 'embedded', ...base, bridgeRuntime: { ...DEFAULT_DAEMON_RUNTIME, nodeFlags } });
  }
  if (args.plain) {
    const plain = { ...DEFAULT_DAEMON_RUNTIME, nodeFlags: [], env: {} };
    out.push({ name: 'ours, no daemon flags', kind: 'embedded', ...base, runtime: plain, bridgeRuntime: plain });
  }
  if (args.baseline) {
    if (!existsSync(args.baseline)) throw new Error(`--baseline ${args.baseline}: no such file`);
    const baseline = { entry: args.baseline, nodeFlags: [], env: {} };
    out.push({ name: 'baseline', kind: 'embedded', runtime: baseline, bridgeRuntime: baseline, quickStart: false });
  }
  if (!args['no-real']) {
    if (existsSync(DEFAULT_CTDBD_PATH)) out.push({ name: 'ctdbd 4.17', kind: 'real', ...base, quickStart: false });
    else process.stderr.write(`no ${DEFAULT_CTDBD_PATH}: the real cluster is skipped (apt-get install ctdb)\n`);
  }
  return out;
}

function createCluster(v: Variant, dir: string): LocalCluster & { killAllNow(): void } {
  const common = { dir, nodes: 2, ownerPid: process.pid, logger: silentLogger('node-memory') };
  return v.kind === 'real' ? new RealLocalCluster(common) : new EmbeddedLocalCluster({ ...common, runtime: v.runtime, quickStart: v.quickStart });
}

// ------------------------------------------------------------- transportd

/** One bridge daemon (`ctdb-bridge <command> ...`); resolves with its PID once its stderr matches `ready`. */
async function startDaemon(runtime: DaemonRuntime, command: string[], ready: RegExp): Promise<number> {
  const child = spawn(process.execPath, daemonArgv(command, runtime), {
    stdio: ['ignore', 'ignore', 'pipe'], env: daemonEnv(command[0] ?? '', { ...process.env, CTDB_BRIDGE_LOG_LEVEL: 'warn' }, runtime),
  });
  const pid = child.pid!;
  let tail = '';
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (c: Buffer) => {
        tail = (tail + c.toString()).slice(-2000);
        if (ready.test(tail)) resolve();
      });
      child.once('exit', (code, sig) => reject(new Error(`${command[0]} exited (${sig ?? code}): ${tail.trim()}`)));
      timer = setTimeout(() => reject(new Error(`${command[0]} not ready in 20 s: ${tail.trim()}`)), 20_000);
    });
  } catch (err) {
    await killAll([pid]);
    throw err;
  } finally {
    clearTimeout(timer);
  }
  child.stderr.resume(); // keep draining: a full pipe would block the daemon
  return pid;
}

/** Node 0's bridge daemons: a transportd on the tunnel uplink, then clusterd and failoverd attached to it. */
async function startBridgeDaemons(runtime: DaemonRuntime, node: LocalCluster['nodes'][number], dir: string): Promise<BridgeDaemons> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const socket = join(dir, 'transportd.socket');
  const transportd = await startDaemon(runtime,
    ['transportd', '--uplink', 'tunnel', '--ctdb-socket', node.socketPath, '--socket', socket, '--node', String(node.pnn)],
    /transportd node \d+ listening on /);
  const component = (name: string) => startDaemon(runtime,
    [name, '--base', node.base, '--ctdb-socket', node.socketPath, '--socket', socket], new RegExp(`${name} node \\d+ attached to transportd`));
  const [clusterd, failoverd] = await Promise.all([component('clusterd'), component('failoverd')]);
  return { transportd, clusterd, failoverd };
}

interface BridgeDaemons {
  transportd: number;
  clusterd: number;
  failoverd: number;
}

async function stopProcess(pid: number): Promise<void> {
  signal(pid, 'SIGTERM');
  if (!(await waitForExit([pid], 3000))) await killAll([pid]);
}

// ----------------------------------------------------------------- traffic

function openClient(cluster: LocalCluster, pnn: number): Promise<LegacyClient> {
  return LegacyClient.connect({ socketPath: cluster.nodes[pnn].socketPath, logger: silentLogger(), reconnect: false, trackLeader: false });
}

// -------------------------------------------------------------------- run

interface Live {
  variant: Variant;
  cluster: LocalCluster & { killAllNow(): void };
  dir: string;
  daemonPid: number;
  bridge?: BridgeDaemons;
}

async function main(): Promise<void> {
  const count = Number(args.messages);
  const size = Number(args.size);
  const idleMs = Number(args['idle-s']) * 1000;
  const receiverNode = args.path === 'same' ? 0 : 1;
  const window = messageWindow(size);
  const live: Live[] = [];
  const bridgePids: number[] = [];
  const release = killOnExit([{ killAllNow: () => { for (const l of live) l.cluster.killAllNow(); for (const p of bridgePids) signal(p, 'SIGKILL'); } }]);
  const results: Measured[] = [];
  try {
    for (const v of variants()) {
      const dir = await mkdtemp(join(tmpdir(), 'ctdb-bridge-node-memory-'));
      const cluster = createCluster(v, dir);
      const entry: Live = { variant: v, cluster, dir, daemonPid: 0 };
      live.push(entry);
      const t = Date.now();
      await cluster.up();
      const pid = (await cluster.status()).nodes[0].pid;
      if (pid === null) throw new Error(`${v.name}: node 0 has no pid`);
      entry.daemonPid = pid;
      process.stderr.write(`${v.name}: 2-node cluster up in ${Date.now() - t} ms, node 0 pid ${pid}\n`);
    }
    for (const l of live) {
      l.bridge = await startBridgeDaemons(l.variant.bridgeRuntime, l.cluster.nodes[0], join(l.dir, 'bridge'));
      bridgePids.push(l.bridge.transportd, l.bridge.clusterd, l.bridge.failoverd);
    }
    process.stderr.write(`idle ${idleMs / 1000} s...\n`);
    await sleep(idleMs);
    for (const l of live) {
      results.push({
        variant: l.variant.name, daemonPid: l.daemonPid, bridge: l.bridge!,
        idle: memoryOf(l.daemonPid), transportdIdle: memoryOf(l.bridge!.transportd),
        clusterdIdle: memoryOf(l.bridge!.clusterd), failoverdIdle: memoryOf(l.bridge!.failoverd),
      });
    }
    for (const [i, l] of live.entries()) {
      if (count === 0) break; // idle figures only
      const sender = await openClient(l.cluster, 0);
      const receiver = await openClient(l.cluster, receiverNode);
      const t = Date.now();
      try {
        results[i].messagesPerSecond = await messageCountThroughput(sender, receiver, size, window, count);
      } finally {
        await sender.close();
        await receiver.close();
      }
      results[i].trafficSeconds = (Date.now() - t) / 1000;
      process.stderr.write(`${l.variant.name}: ${count} messages in ${results[i].trafficSeconds!.toFixed(1)} s; idle ${idleMs / 1000} s...\n`);
      await sleep(idleMs);
      if (!isAlive(l.daemonPid)) throw new Error(`${l.variant.name}: node 0 daemon died under traffic`);
      results[i].after = memoryOf(l.daemonPid);
      results[i].transportdAfter = memoryOf(l.bridge!.transportd);
      results[i].clusterdAfter = memoryOf(l.bridge!.clusterd);
      results[i].failoverdAfter = memoryOf(l.bridge!.failoverd);
    }
  } finally {
    for (const p of bridgePids) await stopProcess(p);
    for (const l of live) {
      await l.cluster.down().catch((err: Error) => process.stderr.write(`${l.variant.name}: down failed: ${err.message}\n`));
      await rm(l.dir, { recursive: true, force: true });
    }
    release();
  }
  report(results, { count, size, path: args.path ?? 'cross', window, idleS: idleMs / 1000 });
}

function report(results: Measured[], run: { count: number; size: number; path: string; window: number; idleS: number }): void {
  if (args.json) {
    process.stdout.write(JSON.stringify({ ...run, results }, null, 2) + '\n');
    return;
  }
  const mb = (k: number | undefined) => (k === undefined || Number.isNaN(k) ? '-' : (k / 1024).toFixed(1));
  const pct = (a: number, b: number | undefined) => (b === undefined ? '-' : `${(((b - a) / a) * 100).toFixed(1)}%`);
  const head = ['variant', 'idle RSS', 'anon', 'PSS', 'tree', 'after RSS', 'change', 'peak (HWM)', 'msgs/s', 'transportd idle', 't-d anon', 't-d after',
    'clusterd idle', 'c-d after', 'failoverd idle', 'f-d after'];
  const rows = results.map((r) => [
    r.variant, mb(r.idle.rssKiB), mb(r.idle.anonKiB), mb(r.idle.pssKiB), mb(r.idle.treeKiB), mb(r.after?.rssKiB),
    pct(r.idle.rssKiB, r.after?.rssKiB), mb(r.after?.hwmKiB), r.messagesPerSecond ? Math.round(r.messagesPerSecond).toString() : '-',
    mb(r.transportdIdle.rssKiB), mb(r.transportdIdle.anonKiB), mb(r.transportdAfter?.rssKiB),
    mb(r.clusterdIdle.rssKiB), mb(r.clusterdAfter?.rssKiB), mb(r.failoverdIdle.rssKiB), mb(r.failoverdAfter?.rssKiB),
  ]);
  const table = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...table.map((row) => row[i].length)));
  process.stdout.write(`node 0 daemon memory (MB = MiB of /proc VmRSS unless noted); ${run.count} REQ_MESSAGEs of ${run.size} B, `
    + `${run.path === 'same' ? 'node 0 -> node 0' : 'node 0 -> node 1'}, window ${run.window}; "after" = ${run.idleS} s idle after the traffic\n`);
  for (const row of table) process.stdout.write(row.map((c, i) => c.padEnd(widths[i])).join('  ') + '\n');
  const ours = results[0];
  const real = results.find((r) => r.variant === 'ctdbd 4.17');
  for (const r of results.slice(1)) {
    process.stdout.write(`ours / ${r.variant}: idle ${(ours.idle.rssKiB / r.idle.rssKiB).toFixed(2)}x`
      + (ours.after && r.after ? `, after ${(ours.after.rssKiB / r.after.rssKiB).toFixed(2)}x` : '')
      + (ours.messagesPerSecond && r.messagesPerSecond ? `, messages/s ${(ours.messagesPerSecond / r.messagesPerSecond).toFixed(2)}x` : '') + '\n');
  }
  if (real) process.stdout.write(`ctdbd tree (main + recovery and event daemons): idle ${mb(real.idle.treeKiB)} MB\n`);
  const idleOk = ours.idle.rssKiB / 1024 <= TARGET_NODE_MB;
  const flat = ours.after ? Math.abs(ours.after.rssKiB - ours.idle.rssKiB) / ours.idle.rssKiB * 100 <= FLAT_PCT : false;
  const small = (m: Memory) => (m.rssKiB / 1024 <= TARGET_BRIDGE_DAEMON_MB ? 'met' : 'NOT met');
  process.stdout.write(`targets: node idle <= ${TARGET_NODE_MB} MB ${idleOk ? 'met' : 'NOT met'}; flat within ${FLAT_PCT}% ${ours.after ? (flat ? 'met' : 'NOT met') : 'not measured (--messages 0)'}; `
    + `idle <= ${TARGET_BRIDGE_DAEMON_MB} MB: transportd ${small(ours.transportdIdle)}, clusterd ${small(ours.clusterdIdle)}, failoverd ${small(ours.failoverdIdle)}\n`);
}

await main();
