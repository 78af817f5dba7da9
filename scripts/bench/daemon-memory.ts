// Daemon memory under partial-packet attacks (issue 13): the embedded daemon
// runs as its own process; N client connections each announce a huge packet,
// send part of it and close. Its RSS (/proc/PID/status VmRSS) is read idle,
// during the attack (peak) and after it, where it must come back near idle.
//
//   node scripts/bin/run-ts.mjs scripts/bench/daemon-memory.ts [--conns 8] [--announce-mib 60] [--send-mib 20] [--after-s 5] [--rounds 1] [--entry cli|ts] [--json]

import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { CTDB_MAGIC, CTDB_PROTOCOL, Node, Operation } from '../../legacy/protocol/constants.ts';
import { Control } from '../../legacy/protocol/controls.ts';
import { RawClient } from '../../legacy/daemon/testing/raw-client.ts';
import { TestCluster } from '../../legacy/daemon/testing/test-cluster.ts';

const { values: args } = parseArgs({
  options: {
    child: { type: 'boolean', default: false },
    conns: { type: 'string', default: '8' },
    'announce-mib': { type: 'string', default: '60' },
    'send-mib': { type: 'string', default: '20' },
    'after-s': { type: 'string', default: '5' },
    /** The daemon measured: `cli` = the production entry (`ctdb-bridge node`, compiled dist/), `ts` = the sources under tsx. */
    entry: { type: 'string', default: 'cli' },
    /** Attacks run one after the other against the same daemon (is the high-water mark bounded?). */
    rounds: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
    /** Diagnosis: force a full GC in the daemon after the attack (tells GC timing from allocator retention). */
    'force-gc': { type: 'boolean', default: false },
  },
});

const MiB = 1024 * 1024;

function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** Child: one embedded node; tells the parent its socket, then lives until killed. */
async function child(): Promise<void> {
  const cluster = await TestCluster.create({ nodes: 1 });
  await cluster.startNode(0);
  process.send!({ socket: cluster.socketPath(0) });
  process.on('message', (m) => {
    if (m === 'gc') (globalThis as { gc?: () => void }).gc?.();
    process.send!('gc-done');
  });
  const stop = () => void cluster.destroy().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('disconnect', stop);
}

/** A REQ_CONTROL header announcing `length` bytes (the rest never comes in full). */
function announce(length: number): Buffer {
  const b = Buffer.alloc(64);
  b.writeUInt32LE(length, 0);
  b.writeUInt32LE(CTDB_MAGIC, 4);
  b.writeUInt32LE(CTDB_PROTOCOL, 8);
  b.writeUInt32LE(Operation.REQ_CONTROL, 16);
  b.writeUInt32LE(Node.CURRENT, 20);
  b.writeUInt32LE(1, 28);
  b.writeUInt32LE(Control.GET_PNN, 32);
  b.writeUInt32LE(length - 60, 56);
  return b;
}

function openRaw(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Writes `bytes` of the announced packet in 1 MiB pieces, honouring backpressure; stops early if the daemon closes us. */
async function sendPart(s: Socket, bytes: number): Promise<number> {
  const piece = Buffer.alloc(MiB, 0x5a);
  let sent = 0;
  while (sent < bytes && !s.destroyed) {
    const n = Math.min(MiB, bytes - sent);
    const ok = s.write(piece.subarray(0, n));
    sent += n;
    if (!ok) {
      await new Promise<void>((r) => {
        const done = () => { s.off('drain', done); s.off('close', done); r(); };
        s.once('drain', done);
        s.once('close', done);
      });
    }
  }
  return sent;
}

interface Round {
  sentMiB: number;
  closedByDaemon: number;
  duringMiB: number;
  peakMiB: number;
  afterMiB: number;
  afterVsIdle: number;
  attackMs: number;
  answeredDuring: boolean;
}

const mib = (kib: number) => +(kib / 1024).toFixed(1);

async function parent(): Promise<void> {
  const conns = Number(args.conns);
  const announceBytes = Number(args['announce-mib']) * MiB;
  const sendBytes = Number(args['send-mib']) * MiB;
  const afterMs = Number(args['after-s']) * 1000;
  const { proc, socket, dir } = await startDaemon();
  const cleanup = () => { if (proc.exitCode === null) proc.kill('SIGKILL'); };
  process.on('exit', cleanup);
  try {
    const pid = proc.pid!;
    // Warm up: a few ordinary round trips, then let start-up garbage settle.
    const probe = await RawClient.open(socket);
    for (let i = 0; i < 50; i++) await probe.control(Control.GET_PNN);
    await sleep(2000);
    const idle = rssKiB(pid);

    const rounds: Round[] = [];
    for (let round = 0; round < Number(args.rounds); round++) {
      let peak = rssKiB(pid);
      const sampler = setInterval(() => { peak = Math.max(peak, rssKiB(pid)); }, 25);
      const started = Date.now();
      const sockets = await Promise.all(Array.from({ length: conns }, () => openRaw(socket)));
      const sent = await Promise.all(sockets.map(async (s) => {
        s.on('error', () => undefined);
        s.write(announce(announceBytes));
        return 64 + await sendPart(s, sendBytes - 64);
      }));
      // Give the daemon time to read what is in the socket buffers before the close.
      await sleep(300);
      const during = rssKiB(pid);
      const closedBy = sockets.filter((s) => s.destroyed).length;
      for (const s of sockets) s.destroy();
      const attackMs = Date.now() - started;
      const answeredDuring = (await probe.control(Control.GET_PNN)).status === 0;
      await sleep(afterMs);
      clearInterval(sampler);
      const after = rssKiB(pid);
      rounds.push({
        sentMiB: +(sent.reduce((a, b) => a + b, 0) / MiB).toFixed(1), closedByDaemon: closedBy,
        duringMiB: mib(during), peakMiB: mib(peak), afterMiB: mib(after), afterVsIdle: +(after / idle).toFixed(2),
        attackMs, answeredDuring,
      });
    }
    let afterForcedGcMiB: number | undefined;
    if (args['force-gc'] && proc.connected) {
      proc.send('gc');
      await new Promise((r) => proc.once('message', r));
      await sleep(500);
      afterForcedGcMiB = mib(rssKiB(pid));
    }
    const answeredAfter = (await probe.control(Control.GET_PNN)).status === 0;
    await probe.close();
    const result = {
      entry: args.entry, conns, announceMiB: announceBytes / MiB, sendMiB: sendBytes / MiB, afterS: afterMs / 1000,
      mallocEnv: Object.entries(process.env).filter(([k]) => k.startsWith('MALLOC_')).map(([k, v]) => `${k}=${v}`).join(' ') || 'none',
      idleMiB: mib(idle), rounds, afterForcedGcMiB, answeredAfter,
    };
    if (args.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      process.stdout.write(`daemon (${args.entry}) pid ${pid}, ${conns} connections x announce ${result.announceMiB} MiB, send ${result.sendMiB} MiB, close; malloc env: ${result.mallocEnv}\n`);
      process.stdout.write(`idle RSS ${result.idleMiB} MiB\n`);
      rounds.forEach((r, i) => process.stdout.write(`round ${i + 1}: sent ${r.sentMiB} MiB, closed by daemon ${r.closedByDaemon}, `
        + `RSS during ${r.duringMiB}, peak ${r.peakMiB}, ${result.afterS} s after ${r.afterMiB} MiB (x${r.afterVsIdle} idle), answered during: ${r.answeredDuring}\n`));
      if (afterForcedGcMiB !== undefined) process.stdout.write(`after a forced full GC: ${afterForcedGcMiB} MiB\n`);
      process.stdout.write(`answers after: ${answeredAfter}\n`);
    }
  } finally {
    cleanup();
    await dir?.destroy();
  }
}

/** The daemon process: the production CLI entry on a test node directory, or the sources in a forked child. */
async function startDaemon(): Promise<{ proc: ChildProcess; socket: string; dir?: TestCluster }> {
  if (args.entry === 'cli') {
    const dir = await TestCluster.create({ nodes: 1 });
    const bin = fileURLToPath(new URL('../bin/ctdb-bridge.cjs', import.meta.url));
    const proc = spawn(process.execPath, [...(args['force-gc'] ? ['--expose-gc'] : []), bin, 'node', '--config', dir.base(0),
      '--port', String(dir.port)], { stdio: ['ignore', 'inherit', 'inherit'] });
    const socket = dir.socketPath(0);
    const deadline = Date.now() + 20_000;
    while (!existsSync(socket)) {
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error('the daemon did not start (is dist/ built? npm run build)');
      await sleep(50);
    }
    return { proc, socket, dir };
  }
  const runTs = fileURLToPath(new URL('../bin/run-ts.mjs', import.meta.url));
  const proc = fork(runTs, [fileURLToPath(import.meta.url), '--child'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: args['force-gc'] ? ['--expose-gc'] : [],
  });
  const { socket } = await new Promise<{ socket: string }>((resolve, reject) => {
    proc.once('message', (m) => resolve(m as { socket: string }));
    proc.once('exit', (code) => reject(new Error(`daemon exited (${code})`)));
  });
  return { proc, socket };
}

if (args.child) await child();
else await parent();
