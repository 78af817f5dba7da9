import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../common/log.ts';
import { Node, Operation } from '../protocol/constants.ts';
import { Control } from '../protocol/controls.ts';
import { encodePacket } from '../protocol/packets.ts';
import { loadDaemonConfig } from './config.ts';
import { Daemon } from './daemon.ts';
import { C, H, R } from './fast-packets.ts';
import { runSs, type SsRequest } from './peer-cred.ts';
import { RawClient } from './testing/raw-client.ts';
import { FAST_TIMING, TestCluster } from './testing/test-cluster.ts';

/**
 * PROCESS_EXISTS / CHECK_PID_SRVID on a real embedded daemon over its unix
 * socket: thousands of idle clients in child processes (real peer pids), a
 * flood of pid checks from another process, and a well-behaved client whose
 * round trips are measured meanwhile. Then ctdbd 4.17's answers for a
 * disconnected client, a dead process behind a live connection (injected
 * `ss`), and an inactive node.
 */

const pidData = (pid: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(pid);
  return b;
};

const pidSrvidData = (pid: number, srvid: bigint): Buffer => {
  const b = Buffer.alloc(12);
  b.writeInt32LE(pid, 0);
  b.writeBigUInt64LE(srvid, 4);
  return b;
};

/** The soft RLIMIT_NOFILE of this process (children inherit it). */
function fdLimit(): number {
  const m = /^Max open files\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  return !m || m[1] === 'unlimited' ? 1 << 20 : Number(m[1]);
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Holds `n` idle connections; "close" on stdin drops them, end of stdin exits. */
const IDLE_CHILD = `
const net = require('net');
const [path, nText] = process.argv.slice(1);
const n = Number(nText);
const socks = [];
let started = 0, open = 0;
// A full listen backlog answers EAGAIN (as for any unix socket): try again shortly.
function one() {
  const s = net.connect(path);
  s.on('connect', () => { socks.push(s); if (++open === n) process.stdout.write('ready\\n'); else more(); });
  s.on('error', (e) => {
    if (e.code === 'EAGAIN' && open < n) { setTimeout(one, 5); return; }
    process.stderr.write('connect: ' + e.message + '\\n'); process.exit(2);
  });
  s.on('data', () => {});
}
function more() {
  while (started < n && started - open < 16) { started++; one(); }
}
more();
process.stdin.on('data', (d) => {
  if (String(d).includes('close')) { for (const s of socks) s.destroy(); process.stdout.write('closed\\n'); }
});
process.stdin.on('end', () => process.exit(0));
`;

/**
 * Sends `total` PROCESS_EXISTS over `conns` connections, `window` in flight
 * on each, cycling through `pids`; prints {done, bad, ms} as JSON.
 */
const FLOOD_CHILD = `
const net = require('net');
const [path, tmplB64, pidsCsv, totalText, connsText, windowText, offs] = process.argv.slice(1);
const [REQID, DATA, STATUS] = offs.split(',').map(Number);
const tmpl = Buffer.from(tmplB64, 'base64');
const pids = pidsCsv.split(',').map(Number);
const total = Number(totalText), W = Number(windowText);
let sent = 0, done = 0, nextReqid = 1;
const bad = [];
const expectPid = new Map();
const t0 = Date.now();
function finish(code) { process.stdout.write(JSON.stringify({ done, bad: bad.slice(0, 20), badCount: bad.length, ms: Date.now() - t0 }) + '\\n'); process.exit(code); }
setTimeout(() => finish(3), 50000).unref();
for (let i = 0; i < Number(connsText); i++) {
  const s = net.connect(path);
  let inflight = 0, buf = Buffer.alloc(0);
  const pump = () => {
    const out = [];
    while (inflight < W && sent < total) {
      const p = Buffer.from(tmpl);
      const reqid = nextReqid++;
      const pid = pids[sent++ % pids.length];
      p.writeUInt32LE(reqid, REQID);
      if (tmpl.length >= DATA + 4) p.writeInt32LE(pid, DATA);
      expectPid.set(reqid, pid);
      out.push(p);
      inflight++;
    }
    if (out.length) s.write(Buffer.concat(out));
  };
  s.on('connect', pump);
  s.on('error', (e) => { process.stderr.write('flood: ' + e.message + '\\n'); finish(2); });
  s.on('data', (chunk) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.length >= 4 && buf.length >= buf.readUInt32LE(0)) {
      const len = buf.readUInt32LE(0);
      const reqid = buf.readUInt32LE(REQID), status = buf.readInt32LE(STATUS);
      if (status !== 0) bad.push({ pid: expectPid.get(reqid), status });
      expectPid.delete(reqid);
      buf = buf.subarray(len);
      inflight--;
      if (++done === total) finish(0);
    }
    pump();
  });
}
`;

class Child {
  readonly proc: ChildProcess;
  private out = '';
  private readonly lines: Array<{ match: (l: string) => boolean; resolve: (l: string) => void }> = [];
  readonly exited: Promise<void>;

  constructor(script: string, args: string[]) {
    this.proc = spawn(process.execPath, ['-e', script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.proc.stdout!.on('data', (d: Buffer) => {
      this.out += d.toString();
      let nl;
      while ((nl = this.out.indexOf('\n')) !== -1) {
        const line = this.out.slice(0, nl);
        this.out = this.out.slice(nl + 1);
        const i = this.lines.findIndex((w) => w.match(line));
        if (i !== -1) this.lines.splice(i, 1)[0]!.resolve(line);
      }
    });
    this.exited = new Promise((resolve) => this.proc.once('exit', () => resolve()));
  }

  get pid(): number {
    return this.proc.pid!;
  }

  line(match: (l: string) => boolean, timeoutMs = 30_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`child ${this.pid}: no matching line within ${timeoutMs} ms`)), timeoutMs);
      this.lines.push({ match, resolve: (l) => { clearTimeout(t); resolve(l); } });
    });
  }

  send(text: string): void {
    this.proc.stdin!.write(text);
  }

  async kill(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGKILL');
    await this.exited;
  }
}

describe('pid checks under load (real embedded daemon, real ss)', () => {
  let cluster: TestCluster;
  let daemon: Daemon;
  const children: Child[] = [];
  const clients: RawClient[] = [];

  async function client(): Promise<RawClient> {
    const c = await RawClient.open(cluster.socketPath(0));
    clients.push(c);
    return c;
  }

  const exists = async (c: RawClient, pid: number): Promise<number> =>
    (await c.control(Control.PROCESS_EXISTS, { data: pidData(pid), timeoutMs: 10_000 })).status;

  beforeAll(async () => {
    cluster = await TestCluster.create({ nodes: 1 });
    daemon = await cluster.startNode(0);
  });

  afterAll(async () => {
    for (const ch of children) await ch.kill();
    for (const c of clients) await c.close();
    await cluster.destroy();
  });

  it('answers 10,000 PROCESS_EXISTS for live pids correctly beside ~3000 idle clients; the bystander is timed', async () => {
    // The daemon's process holds one end of every idle connection, each child its share.
    const limit = fdLimit();
    const idle = Math.max(60, Math.min(3000, limit - 400));
    const perChild = Math.floor(idle / 3);
    const face = daemon.clientFace;
    const base = face.count;

    const connectStart = performance.now();
    const lookupsBefore = face.pids.lookups;
    for (let i = 0; i < 3; i++) children.push(new Child(IDLE_CHILD, [cluster.socketPath(0), String(perChild)]));
    await Promise.all(children.map((ch) => ch.line((l) => l === 'ready')));
    await cluster.until(() => face.count === base + 3 * perChild, 20_000, 'idle clients accepted');
    await cluster.until(() => face.pids.unresolved === 0, 20_000, 'idle client pids learnt');
    const connectMs = performance.now() - connectStart;
    const lookupsForIdle = face.pids.lookups - lookupsBefore;
    for (const ch of children) expect([...face.pids.clientsOf(ch.pid)]).toHaveLength(perChild);

    const bystander = await client();
    const pingRtt = async (): Promise<number> => {
      const t = performance.now();
      const r = await bystander.control(Control.GET_PNN, { timeoutMs: 10_000 });
      expect(r.status).toBe(0);
      return performance.now() - t;
    };
    const quiet: number[] = [];
    for (let i = 0; i < 200; i++) quiet.push(await pingRtt());

    const livePids = [...children.map((ch) => ch.pid), process.pid];
    const total = 10_000;
    /** Floods from another process while the bystander measures; returns the flood's report and the bystander's RTTs. */
    const floodWhileMeasuring = async (opcode: number, data: Buffer) => {
      const template = encodePacket({
        operation: Operation.REQ_CONTROL, generation: 0, destnode: Node.CURRENT, srcnode: 0, reqid: 0,
        opcode, srvid: 0n, clientId: 0, flags: 0, data,
      }, { padding: 'none' });
      const lookupsBefore = face.pids.lookups;
      const flood = new Child(FLOOD_CHILD, [
        cluster.socketPath(0), template.toString('base64'), livePids.join(','), String(total), '8', '32',
        [H.REQID, C.DATA, R.STATUS].join(','),
      ]);
      children.push(flood);
      const result = flood.line((l) => l.startsWith('{'), 55_000);
      let flooding = true;
      void result.finally(() => { flooding = false; });
      const rtts: number[] = [];
      // Event-loop delay of this process (daemon and bystander), to tell blocking apart from CPU contention.
      const loop = monitorEventLoopDelay({ resolution: 1 });
      loop.enable();
      while (flooding) rtts.push(await pingRtt());
      loop.disable();
      const report = JSON.parse(await result) as { done: number; bad: unknown[]; badCount: number; ms: number };
      await flood.exited;
      rtts.sort((a, b) => a - b);
      return {
        report, rtts, lookups: face.pids.lookups - lookupsBefore,
        summary: {
          requests: total, ms: report.ms, perSecond: Math.round(total / (report.ms / 1000)), wrong: report.badCount,
          lookupsDuringFlood: face.pids.lookups - lookupsBefore,
          bystander: { n: rtts.length, p50: +percentile(rtts, 50).toFixed(3), p99: +percentile(rtts, 99).toFixed(3), max: +rtts.at(-1)!.toFixed(3) },
          loopDelayMs: { p50: +(loop.percentile(50) / 1e6).toFixed(3), p99: +(loop.percentile(99) / 1e6).toFixed(3), max: +(loop.max / 1e6).toFixed(3) },
        },
      };
    };
    // Reference: the same flood of GET_PNN (no pid work), to separate the pid checks' cost from the host's.
    const reference = await floodWhileMeasuring(Control.GET_PNN, Buffer.alloc(0));
    const pid = await floodWhileMeasuring(Control.PROCESS_EXISTS, pidData(0));

    quiet.sort((a, b) => a - b);
    console.log(JSON.stringify({
      idleConnections: 3 * perChild, fdLimit: limit, connectAndLearnMs: Math.round(connectMs), lookupsForIdle,
      bystanderQuiet: { n: quiet.length, p50: +percentile(quiet, 50).toFixed(3), p99: +percentile(quiet, 99).toFixed(3) },
      processExistsFlood: pid.summary, getPnnFlood: reference.summary, loadAverage: loadavg()[0],
    }));

    expect(reference.report.done).toBe(total);
    expect(pid.report.bad).toEqual([]);
    expect(pid.report.done).toBe(total);
    // No lookup per request: at most the flood's own new connections were looked up.
    expect(pid.lookups).toBeLessThanOrEqual(2);
    expect(pid.rtts.length).toBeGreaterThan(0);
  }, 60_000);

  it('a live process whose connections closed, and a killed one, answer -1; others stay 0', async () => {
    const face = daemon.clientFace;
    const asker = await client();
    const [a, b, c] = children;
    const before = face.count;
    a!.send('close\n');
    await a!.line((l) => l === 'closed');
    await cluster.until(() => face.count < before && face.pids.clientsOf(a!.pid).size === 0, 10_000, 'a disconnected');
    expect(await exists(asker, a!.pid)).toBe(-1);
    await b!.kill();
    await cluster.until(() => face.pids.clientsOf(b!.pid).size === 0, 10_000, 'b gone');
    expect(await exists(asker, b!.pid)).toBe(-1);
    expect(await exists(asker, c!.pid)).toBe(0);
    expect(await exists(asker, process.pid)).toBe(0);
    // Every idle socket is gone once its holder is.
    for (const ch of children) await ch.kill();
    await cluster.until(() => children.every((ch) => face.pids.clientsOf(ch.pid).size === 0), 10_000, 'all children gone');
  });

  it('an inactive (stopped) node drops the newest client of that pid and answers -1', async () => {
    const asker = await client();
    const older = await client();
    const newest = await client();
    const face = daemon.clientFace;
    await cluster.until(() => face.pids.unresolved === 0, 10_000, 'pids learnt');
    expect((await asker.control(Control.STOP_NODE)).status).toBe(0);
    try {
      expect(await exists(asker, process.pid)).toBe(-1);
      await cluster.until(() => newest.closed, 5000, 'newest client dropped');
      expect(older.closed).toBe(false);
      expect(asker.closed).toBe(false);
    } finally {
      expect((await asker.control(Control.CONTINUE_NODE)).status).toBe(0);
    }
  });
});

describe('pid checks with an injected ss (timing and owners under test control)', () => {
  /** A daemon on its own 1-node cluster whose `ss` is `ss`; cleaned up after `body`. */
  async function withDaemon(ss: (req?: SsRequest) => Promise<string>, body: (d: Daemon, c: RawClient, path: string) => Promise<void>): Promise<void> {
    const cluster = await TestCluster.create({ nodes: 1 });
    const config = await loadDaemonConfig(cluster.base(0), { port: cluster.port });
    const d = new Daemon({ config, logger: silentLogger('daemon'), timing: FAST_TIMING, ss, writePidFile: false });
    await d.start();
    const c = await RawClient.open(cluster.socketPath(0));
    try {
      await body(d, c, cluster.socketPath(0));
    } finally {
      await c.close();
      await d.stop('test');
      await cluster.destroy();
    }
  }

  it('a client accepted a moment ago is found: requests wait for the one shared lookup, never answer -1', async () => {
    let runs = 0;
    const slowSs = async (req?: SsRequest) => {
      runs++;
      await new Promise((r) => setTimeout(r, 300));
      return runSs(req);
    };
    await withDaemon(slowSs, async (d, asker, path) => {
      const face = d.clientFace;
      await waitFor(() => face.pids.unresolved === 0, 'asker pid learnt');
      const fresh = new Child(IDLE_CHILD, [path, '1']);
      try {
        await waitFor(() => face.count === 2, 'fresh client accepted');
        expect(face.pids.unresolved).toBe(1);
        const before = runs;
        const answers = await Promise.all(Array.from({ length: 50 }, () =>
          asker.control(Control.PROCESS_EXISTS, { data: pidData(fresh.pid) }).then((r) => r.status)));
        expect(answers).toEqual(Array(50).fill(0));
        expect(runs - before).toBeLessThanOrEqual(1);
      } finally {
        await fresh.kill();
      }
    });
  });

  it('PROCESS_EXISTS is -1 (kill fails) while CHECK_PID_SRVID still finds its srvid, as ctdbd 4.17', async () => {
    const dead = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => dead.once('exit', r));
    const deadPid = dead.pid!;
    // Our in-process clients are reported as owned by the dead pid.
    const ss = async (req?: SsRequest) => (await runSs(req)).replaceAll(`pid=${process.pid},`, `pid=${deadPid},`);
    await withDaemon(ss, async (_d, c) => {
      const srvid = 0xae0000000000abcdn;
      expect((await c.control(Control.REGISTER_SRVID, { srvid })).status).toBe(0);
      expect((await c.control(Control.PROCESS_EXISTS, { data: pidData(deadPid) })).status).toBe(-1);
      expect((await c.control(Control.CHECK_PID_SRVID, { data: pidSrvidData(deadPid, srvid) })).status).toBe(0);
      expect((await c.control(Control.CHECK_PID_SRVID, { data: pidSrvidData(deadPid, srvid + 1n) })).status).toBe(-1);
      // Our own pid is no client's here: not connected -> -1 although alive.
      expect((await c.control(Control.PROCESS_EXISTS, { data: pidData(process.pid) })).status).toBe(-1);
      expect((await c.control(Control.PROCESS_EXISTS, { data: pidData(0) })).status).toBe(-1);
    });
  });
});
