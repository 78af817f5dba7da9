// Embedded daemon vs real ctdbd 4.17, same client, same run, alternating.
//
// Two 3-node clusters run side by side (real Samba ctdbd in test mode and
// the embedded daemon, one process per node). For each metric the rounds
// alternate between the two; the report gives medians and the ratio
// embedded/real.
//
//  - control RTT: sequential GET_PNN round trips from one client, to the
//    local daemon (CURRENT_NODE) and to node 1 through node 0;
//  - messages/s: a sender on node 0 streams 64-byte REQ_MESSAGEs to a
//    receiver (a separate process) on node 0 (local) or node 1 (across
//    nodes), with a window of unacknowledged messages (acks go out of band
//    over IPC, so they do not load the daemons);
//  - memory: RSS of embedded node 0 idle, after 1,000,000 messages and after
//    another 1,000,000 (no growth expected).
//
// The client is deliberately lean (pre-built packets, length-only parsing),
// so that the daemons, not the client, are measured.
//
//   node scripts/bin/run-ts.mjs scripts/bench/daemon.ts [--rounds N] [--messages N] [--rtts N] [--memory N] [--json]

import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Control } from '../../legacy/protocol/controls.ts';
import { Node } from '../../legacy/protocol/constants.ts';
import { buildMessage } from '../../legacy/daemon/fast-packets.ts';
import { EmbeddedLocalCluster, RealLocalCluster, type LocalCluster } from '../local-cluster/index.ts';
import { readPidFile } from '../local-cluster/processes.ts';
import { LeanClient, controlRtt } from './lean-client.ts';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    messages: { type: 'string', default: '200000' },
    rtts: { type: 'string', default: '5000' },
    memory: { type: 'string', default: '1000000' },
    size: { type: 'string', default: '64' },
    window: { type: 'string', default: '20000' },
    receiver: { type: 'string' },
    srvid: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});

const ACK_EVERY = 1000;
const BENCH_SRVID = 0xae00000000000000n | (BigInt(process.pid & 0xffff) << 32n) | 0xbe7cn;

// ------------------------------------------------------------- receiver

/** Child-process mode: register the SRVID, count messages, ack over IPC. */
async function receiverMain(socketPath: string, srvid: bigint): Promise<void> {
  const c = await LeanClient.open(socketPath);
  await c.control(Control.REGISTER_SRVID, Node.CURRENT, srvid);
  let count = 0;
  c.onMessage = () => {
    count++;
    if (count % ACK_EVERY === 0) process.send!({ acked: count });
  };
  process.on('message', (m: { reset?: boolean }) => {
    if (m.reset) {
      count = 0;
      process.send!({ reset: true });
    }
  });
  process.send!({ ready: true });
}

interface Receiver {
  child: ChildProcess;
  acked: number;
  wake?: () => void;
}

function startReceiver(socketPath: string): Promise<Receiver> {
  const runTs = fileURLToPath(new URL('../bin/run-ts.mjs', import.meta.url));
  const child = fork(runTs, [fileURLToPath(import.meta.url), '--receiver', socketPath, '--srvid', BENCH_SRVID.toString()], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const r: Receiver = { child, acked: 0 };
  return new Promise((resolve) => {
    child.on('message', (m: { ready?: boolean; acked?: number; reset?: boolean }) => {
      if (m.ready) resolve(r);
      if (m.acked !== undefined) r.acked = m.acked;
      if (m.reset) r.acked = 0;
      r.wake?.();
    });
  });
}

async function resetReceiver(r: Receiver): Promise<void> {
  await new Promise<void>((resolve) => {
    r.wake = resolve;
    r.child.send({ reset: true });
  });
  r.acked = 0;
}

// ------------------------------------------------------------- metrics

/** Streams `total` messages to `destnode`; returns messages per second as acked by the receiver. */
async function messageRate(sender: LeanClient, r: Receiver, destnode: number, total: number, size: number, window: number): Promise<number> {
  await resetReceiver(r);
  const BATCH = 100;
  const one = buildMessage(0, destnode, 0, BENCH_SRVID, Buffer.alloc(size, 0x5a));
  const batch = Buffer.concat(new Array(BATCH).fill(one));
  const sock = sender.socket;
  let sent = 0;
  const t0 = process.hrtime.bigint();
  while (sent < total) {
    while (sent - r.acked >= window) await new Promise<void>((res) => { r.wake = res; });
    const ok = sock.write(batch);
    sent += BATCH;
    if (!ok) await new Promise<void>((res) => sock.once('drain', () => res()));
  }
  while (r.acked < total) await new Promise<void>((res) => { r.wake = res; });
  return total / (Number(process.hrtime.bigint() - t0) / 1e9);
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

// ------------------------------------------------------------- main

interface Side {
  name: 'embedded' | 'real';
  cluster: LocalCluster;
  c0: LeanClient;
  local: Receiver;
  remote: Receiver;
}

async function side(name: Side['name'], cluster: LocalCluster): Promise<Side> {
  const [n0, n1] = cluster.nodes;
  return {
    name, cluster,
    c0: await LeanClient.open(n0.socketPath),
    local: await startReceiver(n0.socketPath),
    remote: await startReceiver(n1.socketPath),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

async function main(): Promise<void> {
  const rounds = Number(args.rounds);
  const nMsg = Number(args.messages);
  const nRtt = Number(args.rtts);
  const size = Number(args.size);
  const window = Number(args.window);
  const dirs = await Promise.all([mkdtemp(join(tmpdir(), 'ctdb-bridge-bench-real-')), mkdtemp(join(tmpdir(), 'ctdb-bridge-bench-emb-'))]);
  const real = new RealLocalCluster({ dir: dirs[0], nodes: 3, ownerPid: process.pid });
  const emb = new EmbeddedLocalCluster({ dir: dirs[1], nodes: 3, ownerPid: process.pid });
  const clusters = [real, emb];
  const killNow = () => { for (const c of clusters) for (const pid of c.pids()) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } } };
  process.on('exit', killNow);
  process.on('SIGINT', () => { killNow(); process.exit(130); });
  const sides: Side[] = [];
  try {
    await Promise.all([real.up(), emb.up()]);
    sides.push(await side('real', real), await side('embedded', emb));
    const results: Record<string, Record<Side['name'], number[]>> = {};
    const record = (metric: string, s: Side, v: number) => {
      results[metric] ??= { real: [], embedded: [] };
      results[metric][s.name].push(v);
    };
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? sides : [...sides].reverse();
      for (const s of order) {
        record('control RTT local (us, median)', s, await controlRtt(s.c0, Node.CURRENT as number, nRtt));
        record('control RTT node0->node1 (us, median)', s, await controlRtt(s.c0, 1, nRtt));
        record(`messages/s local (${size} B)`, s, await messageRate(s.c0, s.local, Node.CURRENT, nMsg, size, window));
        record(`messages/s node0->node1 (${size} B)`, s, await messageRate(s.c0, s.remote, 1, nMsg, size, window));
      }
    }
    // Memory of embedded node 0: idle, after N and after 2N messages (local stream).
    const embSide = sides.find((s) => s.name === 'embedded')!;
    const realSide = sides.find((s) => s.name === 'real')!;
    const embPid = (await readPidFile(join(emb.nodes[0].base, 'run', 'ctdbd.pid')))!;
    const realPid = (await readPidFile(join(real.nodes[0].base, 'run', 'ctdbd.pid')))!;
    const memory = { embeddedIdleKiB: rssKiB(embPid), realIdleKiB: rssKiB(realPid), embeddedAfterKiB: [] as number[], realAfterKiB: NaN };
    const nMem = Number(args.memory);
    for (let i = 0; i < 2; i++) {
      await messageRate(embSide.c0, embSide.local, Node.CURRENT, nMem, size, window);
      await new Promise((r) => setTimeout(r, 500));
      memory.embeddedAfterKiB.push(rssKiB(embPid));
    }
    await messageRate(realSide.c0, realSide.local, Node.CURRENT, nMem, size, window);
    memory.realAfterKiB = rssKiB(realPid);

    const lowerIsBetter = (m: string) => m.includes('RTT');
    const table = Object.entries(results).map(([metric, v]) => {
      const e = median(v.embedded);
      const r = median(v.real);
      return { metric, embedded: e, real: r, ratio: e / r, target: lowerIsBetter(metric) ? '<= 1.0' : '>= 1.0',
        met: lowerIsBetter(metric) ? e <= r : e >= r };
    });
    if (args.json) {
      process.stdout.write(JSON.stringify({ rounds, messages: nMsg, rtts: nRtt, size, window, table, memory }, null, 2) + '\n');
    } else {
      process.stdout.write(`embedded daemon vs real ctdbd 4.17 (${rounds} alternating rounds, medians)\n`);
      for (const t of table) {
        process.stdout.write(`${t.metric.padEnd(40)} embedded ${t.embedded.toFixed(1).padStart(10)}  real ${t.real.toFixed(1).padStart(10)}  ratio ${t.ratio.toFixed(2)} (target ${t.target}${t.met ? ', met' : ', NOT met'})\n`);
      }
      process.stdout.write(`memory RSS embedded node 0: idle ${memory.embeddedIdleKiB} KiB, after ${nMem} msgs ${memory.embeddedAfterKiB[0]} KiB, after ${2 * nMem} msgs ${memory.embeddedAfterKiB[1]} KiB\n`);
      process.stdout.write(`memory RSS real ctdbd node 0: idle ${memory.realIdleKiB} KiB, after ${nMem} msgs ${memory.realAfterKiB} KiB\n`);
    }
  } finally {
    for (const s of sides) {
      s.c0.close();
      s.local.child.kill();
      s.remote.child.kill();
    }
    await Promise.allSettled([real.down(), emb.down()]);
    killNow();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  }
}

if (args.receiver) {
  void receiverMain(args.receiver, BigInt(args.srvid!));
} else {
  await main();
}
