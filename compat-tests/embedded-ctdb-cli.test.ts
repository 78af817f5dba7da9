import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CtdbRunResult } from '../scripts/local-cluster/index.ts';
import { startEmbeddedCluster, type EmbeddedClusterFixture } from './support/embedded-cluster.ts';
import { runCtdb, startRealCluster, type RealClusterFixture } from './support/real-cluster.ts';

/**
 * Debian's real `ctdb` CLI against an embedded 3-node cluster and against a
 * real ctdbd 4.17 cluster of the same shape, started side by side: every
 * command must print the same thing and exit the same way. Normalised:
 * node addresses, times and durations, generations, pids, the leader's PNN
 * (the election may pick another node than the cluster lock did) and the
 * statistics counters (traffic differs between runs).
 */

type Fixture = RealClusterFixture | EmbeddedClusterFixture;

let real: RealClusterFixture;
let emb: EmbeddedClusterFixture;
const holders: ChildProcess[] = [];

beforeAll(async () => {
  [real, emb] = await Promise.all([startRealCluster({ nodes: 3 }), startEmbeddedCluster({ nodes: 3 })]);
}, 180_000);

afterAll(async () => {
  for (const h of holders) h.kill('SIGKILL');
  await Promise.all([real?.teardown(), emb?.teardown()]);
}, 120_000);

function normalise(f: Fixture, r: CtdbRunResult, args: string[]): string {
  let out = `${r.stdout}\n--stderr--\n${r.stderr}\n--exit ${r.exitCode}`;
  out = out.split(f.dir).join('<dir>');
  f.nodes.forEach((n) => {
    out = out.split(n.address).join(`<ip${n.pnn}>`);
  });
  out = out
    .replace(/(Sun|Mon|Tue|Wed|Thu|Fri|Sat) \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}/g, '<date>')
    .replace(/\(\d{3} \d\d:\d\d:\d\d\)/g, '(<dur>)')
    .replace(/time=\d+\.\d+ sec/g, 'time=<t> sec')
    .replace(/failover: \d+\.\d+ seconds/g, 'failover: <d> seconds')
    .replace(/Generation:\d+/g, 'Generation:<gen>')
    .replace(/Leader:\d+/g, 'Leader:<leader>')
    .replace(/PID \d+/g, 'PID <pid>');
  const cmd = args.filter((a) => !/^-n$|^\d+$/.test(a))[0];
  if (cmd === 'statistics') out = out.replace(/\d+(\.\d+)?/g, '<n>');
  if (cmd === 'getpid' || cmd === 'leader') out = out.replace(/^\d+$/m, '<n>');
  return out.replace(/[ \t]+/g, ' ');
}

/** ctdb against node `pnn`; generous timeout: a real node may take ~10 s for a takeover run after a recovery. */
function ctdb(f: Fixture, pnn: number, args: string[]): Promise<CtdbRunResult> {
  return runCtdb(f.nodes[pnn], args, { timeoutMs: 60_000 });
}

async function both(args: string[], pnn = 0): Promise<[string, string]> {
  const [r, e] = await Promise.all([ctdb(real, pnn, args), ctdb(emb, pnn, args)]);
  return [normalise(real, r, args), normalise(emb, e, args)];
}

/** Runs until both print the same (recoveries may be in flight), then returns the last pair. */
async function eventuallySame(args: string[], pnn = 0, waitMs = 45_000): Promise<[string, string]> {
  const deadline = Date.now() + waitMs;
  let pair = await both(args, pnn);
  while (pair[0] !== pair[1] && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1000));
    pair = await both(args, pnn);
  }
  return pair;
}

/** A process that stays connected to node 0's socket, for process-exists. */
function holder(f: Fixture): Promise<number> {
  const script = `require('net').connect(process.argv[1]).on('connect',()=>console.log('up'));setInterval(()=>{},1e6)`;
  const child = spawn(process.execPath, ['-e', script, f.nodes[0].socketPath], { stdio: ['ignore', 'pipe', 'ignore'] });
  holders.push(child);
  return new Promise((resolve) => child.stdout!.once('data', () => resolve(child.pid!)));
}

describe('ctdb CLI: embedded daemon vs real ctdbd 4.17', () => {
  const simple: string[][] = [
    ['status'], ['nodestatus'], ['nodestatus', 'all'], ['pnn'], ['ping'], ['uptime'], ['listnodes'], ['getdbmap'],
    ['getcapabilities'], ['statistics'], ['listvars'], ['getvar', 'RecoverTimeout'], ['getvar', 'nosuchvar'],
    ['runstate'], ['getpid'], ['getdebug'], ['leader'], ['getreclock'], ['ifaces'], ['ip'], ['ip', 'all'],
    ['process-exists', '1'], ['-n', '1', 'ping'], ['-n', '2', 'uptime'], ['-n', '1', 'status'], ['-n', '5', 'ping'],
    ['-n', '2', 'getcapabilities'], ['-n', '1', 'runstate'], ['nosuchcommand'],
  ];
  for (const args of simple) {
    it(`ctdb ${args.join(' ')}`, async () => {
      const [r, e] = await eventuallySame(args);
      expect(e).toBe(r);
    });
  }

  it('leader names a running node in both', async () => {
    for (const f of [real, emb]) {
      const r = await ctdb(f, 0, ['leader']);
      expect([0, 1, 2]).toContain(Number(r.stdout.trim()));
    }
  });

  it('setvar then getvar; setdebug then getdebug', async () => {
    for (const step of [['setvar', 'RecoverTimeout', '31'], ['getvar', 'RecoverTimeout'], ['setvar', 'VacuumLimit', '9'],
      ['setdebug', 'INFO'], ['getdebug'], ['-n', '2', 'setdebug', 'ERROR'], ['-n', '2', 'getdebug'], ['setdebug', 'bogus'],
      ['setdebug', 'NOTICE'], ['-n', '2', 'setdebug', 'NOTICE']]) {
      const [r, e] = await both(step);
      expect(e, step.join(' ')).toBe(r);
    }
  });

  it('process-exists sees a connected client by its pid', async () => {
    const [pr, pe] = await Promise.all([holder(real), holder(emb)]);
    const [r, e] = await Promise.all([ctdb(real, 0, ['process-exists', String(pr)]), ctdb(emb, 0, ['process-exists', String(pe)])]);
    expect(r.stdout).toContain('exists');
    expect(normalise(emb, e, ['process-exists'])).toBe(normalise(real, r, ['process-exists']));
  });

  it('stop / continue', async () => {
    for (const step of [['-n', '1', 'stop'], ['-n', '1', 'stop']]) {
      const [r, e] = await both(step);
      expect(e, step.join(' ')).toBe(r);
    }
    let [r, e] = await eventuallySame(['status']);
    expect(e).toBe(r);
    expect(e).toContain('STOPPED|INACTIVE');
    for (const step of [['-n', '1', 'continue'], ['-n', '1', 'continue']]) {
      [r, e] = await both(step);
      expect(e, step.join(' ')).toBe(r);
    }
    [r, e] = await eventuallySame(['status']);
    expect(e).toBe(r);
  });

  it('disable / enable', async () => {
    for (const step of [['-n', '2', 'disable'], ['-n', '2', 'disable']]) {
      const [r, e] = await both(step);
      expect(e, step.join(' ')).toBe(r);
    }
    let [r, e] = await eventuallySame(['nodestatus', 'all']);
    expect(e).toBe(r);
    expect(e).toContain('DISABLED');
    for (const step of [['-n', '2', 'enable'], ['-n', '2', 'enable']]) {
      [r, e] = await both(step);
      expect(e, step.join(' ')).toBe(r);
    }
    [r, e] = await eventuallySame(['nodestatus', 'all']);
    expect(e).toBe(r);
  });

  it('ban / unban', async () => {
    for (const step of [['-n', '1', 'ban', '0'], ['-n', '1', 'ban', '300'], ['-n', '1', 'ban', '300']]) {
      const [r, e] = await both(step);
      expect(e, step.join(' ')).toBe(r);
    }
    let [r, e] = await eventuallySame(['status']);
    expect(e).toBe(r);
    expect(e).toContain('BANNED|INACTIVE');
    for (const step of [['-n', '1', 'unban'], ['-n', '1', 'unban']]) {
      [r, e] = await both(step);
      expect(e, step.join(' ')).toBe(r);
    }
    [r, e] = await eventuallySame(['status']);
    expect(e).toBe(r);
  });

  it('shutdown of a node: it goes away, the others see it disconnected', async () => {
    const [r, e] = await both(['-n', '2', 'shutdown']);
    expect(e).toBe(r);
    const [rs, es] = await eventuallySame(['nodestatus', 'all']);
    expect(es).toBe(rs);
    expect(es).toContain('DISCONNECTED|UNHEALTHY|INACTIVE');
    const [rl, el] = await eventuallySame(['status'], 1);
    expect(el).toBe(rl);
  });
});
