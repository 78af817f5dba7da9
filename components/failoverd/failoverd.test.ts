import { afterEach, describe, expect, test } from 'vitest';
import { Writable } from 'node:stream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, silentLogger, type Logger } from '../../legacy/common/log.ts';
import { NodeFlag } from '../../legacy/protocol/constants.ts';
import type { ComponentTimers, ComponentTransport, IncomingContext } from '../framework/component.ts';
import { CLUSTERD_SERVICE } from '../framework/services.ts';
import { allocate } from './allocation/index.ts';
import type { AllocationInput, Placement } from './allocation/types.ts';
import type { FailoverdConfig } from './config.ts';
import { Failoverd, type RunOutcome, type TakeoverDriver } from './failoverd.ts';
import type { FailoverStatus } from './status.ts';
import type { LeaseAnswer } from './takeover-lease.ts';
import { TakeoverRunRequests } from './takeover-run-requests.ts';
import { encodeMessagePayload } from '../../legacy/protocol/message-payloads.ts';
import { Srvid } from '../../legacy/protocol/srvid.ts';
import type { LegacyMessage } from '../../legacy/client/events.ts';
import type { NodeStatus } from '../clusterd/status.ts';
import type { RunScope } from './takeover-run/gather.ts';

/** ctdbd as a takeover run sees it: nodes with flags, addresses with their reported owner. */
class FakeCtdb implements TakeoverDriver {
  flags = new Map<number, number>([[0, 0], [1, 0], [2, 0]]);
  owners = new Map<string, number>();
  executed: Placement[][] = [];
  leaseCalls: Array<{ nodes: number[]; seconds: number }> = [];
  refuse = false;
  /** The next runs answer "deferred" (ctdbd in recovery). */
  deferRuns = 0;
  /** While set, every run fails with this error (an event script refusing) and moves nothing. */
  runError: string | undefined;
  /** When each run was attempted (the test's clock). */
  runAttempts: number[] = [];
  now = () => 0;
  /** This node (releaseHosted releases what it owns). */
  self = 0;
  released: string[][] = [];
  scopes: Array<RunScope | undefined> = [];
  /** Nodes whose ctdbd answers a probe through ctdbd's links (clusterd may still not hear them). */
  ctdbdAnswers = new Set<number>();
  probes: Array<{ pnns: number[]; timeoutMs: number }> = [];
  /** ctdb's CLI side of takeover-run requests: replies land in `replies`. */
  replies: Array<{ destnode: number; srvid: bigint; result: number }> = [];
  private requestHandler: ((m: LegacyMessage) => void) | undefined;
  readonly requests = new TakeoverRunRequests({
    registerSrvid: async (_srvid, handler) => {
      this.requestHandler = handler;
      return { close: async () => undefined };
    },
    sendMessage: (destnode, srvid, data) => this.replies.push({ destnode, srvid, result: data.readInt32LE(0) }),
  });
  readonly lease = {
    hold: async (nodes: readonly number[], seconds: number): Promise<LeaseAnswer> => this.answerLease(nodes, seconds),
    release: async (nodes: readonly number[]): Promise<LeaseAnswer> => this.answerLease(nodes, 0),
  } as unknown as TakeoverDriver['lease'];

  constructor(readonly ips: string[]) {
    for (const ip of ips) this.owners.set(ip, -1);
  }

  /** What `ctdb ipreallocate` broadcasts. */
  requestRun(pnn: number, srvid: bigint): void {
    this.requestHandler!({ srvid: Srvid.TAKEOVER_RUN, data: encodeMessagePayload(Srvid.TAKEOVER_RUN, { pnn, srvid }) } as LegacyMessage);
  }

  handOvers: Array<{ ip: string; from: number; to: number }> = [];
  async handOver(moves: ReadonlyArray<{ ip: string; from: number; to: number }>): Promise<string[]> {
    for (const m of moves) {
      this.handOvers.push({ ...m });
      this.owners.set(m.ip, m.to);
    }
    return [];
  }

  async answering(pnns: readonly number[], timeoutMs: number): Promise<number[]> {
    this.probes.push({ pnns: [...pnns], timeoutMs });
    return pnns.filter((p) => this.ctdbdAnswers.has(p));
  }

  async releaseHosted(): Promise<string[]> {
    const mine = [...this.owners].filter(([, p]) => p === this.self).map(([ip]) => ip);
    for (const ip of mine) this.owners.set(ip, -1);
    this.released.push(mine);
    return mine;
  }

  async gather(scope?: RunScope): Promise<AllocationInput> {
    void this.requests.listen(this);
    this.scopes.push(scope);
    const silent = new Set(scope?.unreachable ?? []);
    return {
      algorithm: 'lcp2',
      tunables: { NoIPFailback: 0, NoIPTakeover: 0, NoIPHostOnAllDisabled: 0 },
      nodes: [...this.flags].map(([pnn, flags]) => ({
        pnn, flags: silent.has(pnn) ? flags | NodeFlag.DISCONNECTED : flags, runstate: 5,
        ips: this.ips.map((ip) => ({ ip, pnn: this.owners.get(ip) === pnn ? pnn : -1, available: true })),
      })),
    };
  }

  async run(alloc: (input: AllocationInput) => Placement[], scope?: RunScope): Promise<RunOutcome> {
    if (this.deferRuns > 0) {
      this.deferRuns--;
      return { moved: 0, deferred: 'database recovery in progress on node(s) 0' };
    }
    this.runAttempts.push(this.now());
    if (this.runError) return { moved: 0, error: this.runError };
    const placement = alloc(await this.gather(scope));
    this.executed.push(placement);
    let moved = 0;
    for (const p of placement) {
      if (this.owners.get(p.ip) !== p.pnn) moved++;
      this.owners.set(p.ip, p.pnn);
    }
    return { moved };
  }

  /** What ctdbd's own takeover run would do now. */
  async ctdbTakeoverRun(): Promise<void> {
    for (const p of allocate(await this.gather())) this.owners.set(p.ip, p.pnn);
  }

  async close(): Promise<void> {}

  private answerLease(nodes: readonly number[], seconds: number): LeaseAnswer {
    this.leaseCalls.push({ nodes: [...nodes], seconds });
    if (this.refuse) return { confirmed: [], unconfirmed: [...nodes], refusals: nodes.map(() => -11) };
    return { confirmed: [...nodes], unconfirmed: [], refusals: [] };
  }
}

class FakeTransport implements ComponentTransport {
  readonly connected = true;
  handlers = new Map<string, (body: unknown, c: IncomingContext) => unknown>();
  listeners = new Map<string, (body: unknown, c: IncomingContext) => void>();
  leadership = { leader: 0 as number | null, epoch: 3 };
  /** What clusterd says of each node (default: every node ok, with a clusterd). */
  views = new Map<number, Partial<NodeStatus>>();

  constructor(readonly node: number) {}

  async request<T>(_dest: unknown, type: string): Promise<T> {
    if (type === 'clusterd.subscribe' || type === 'clusterd.status') {
      const nodes = [0, 1, 2].map((pnn) => ({ pnn, state: 'ok', clusterd: true, legacyFlags: 0, ...this.views.get(pnn) }));
      return { ...this.leadership, node: this.node, nodes } as T;
    }
    throw new Error(`unexpected request ${type}`);
  }

  send(): void {}

  handle(type: string, handler: (body: unknown, c: IncomingContext) => unknown): () => void {
    this.handlers.set(type, handler);
    return () => this.handlers.delete(type);
  }

  subscribe(type: string, listener: (body: unknown, c: IncomingContext) => void): () => void {
    this.listeners.set(type, listener);
    return () => this.listeners.delete(type);
  }

  call<T>(type: string, body: unknown = {}): Promise<T> {
    return Promise.resolve(this.handlers.get(type)!(body, {} as IncomingContext)) as Promise<T>;
  }
}

/** Intervals never fire (`intervals`: the live ones' periods); timeouts wait in `pending` until the test fires them. */
function fakeTimers() {
  const clock = { now: 0 };
  const pending = new Map<number, { fn: () => void; due: number }>();
  const intervals = new Map<number, number>();
  let next = 1;
  const timers: ComponentTimers = {
    setTimeout: (fn: () => void, ms: number) => {
      pending.set(next, { fn, due: clock.now + ms });
      return next++;
    },
    clearTimeout: (id: unknown) => void pending.delete(id as number),
    setInterval: (_fn: () => void, ms: number) => {
      intervals.set(next, ms);
      return next++;
    },
    clearInterval: (id: unknown) => void intervals.delete(id as number),
    now: () => clock.now,
  };
  const fire = () => {
    const due = [...pending.values()];
    pending.clear();
    for (const t of due) t.fn();
  };
  /** Moves the clock to the earliest pending timeout and fires it; false when none is pending. */
  const fireNext = () => {
    const first = [...pending].sort(([, a], [, b]) => a.due - b.due)[0];
    if (!first) return false;
    pending.delete(first[0]);
    clock.now = first[1].due;
    first[1].fn();
    return true;
  };
  return { clock, timers, fire, fireNext, pending, intervals };
}

/** A logger at info whose lines land in `lines` (parsed). */
function capturingLogger(lines: Array<Record<string, unknown>>): Logger {
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return createLogger({ component: 'failoverd', level: 'info', destination });
}

/** Lets the checks a timer started finish (each is a few awaits deep). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

const IPS = ['10.0.1.1', '10.0.1.2', '10.0.1.3', '10.0.1.4', '10.0.1.5', '10.0.1.6'];

describe('failoverd', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  /** A failoverd on `node`; the cluster starts as ctdbd's own takeover run left it unless `unassigned`. */
  async function start(mode: FailoverdConfig['mode'], node = 0,
    opts: { unassigned?: boolean; refuseLease?: boolean; checkIntervalMs?: number; logger?: Logger } = {}) {
    const stateDir = mkdtempSync(join(tmpdir(), 'failoverd-test-'));
    dirs.push(stateDir);
    const config: FailoverdConfig = {
      mode, nodes: [0, 1, 2], checkIntervalMs: opts.checkIntervalMs ?? 1000, takeoverLeaseMs: 15_000, settleMs: 2000, quorumLossMs: 1000, stateDir,
    };
    const transport = new FakeTransport(node);
    const { clock, timers, fire, fireNext, pending, intervals } = fakeTimers();
    const ctdb = new FakeCtdb(IPS);
    ctdb.self = node;
    ctdb.now = () => clock.now;
    if (!opts.unassigned) await ctdb.ctdbTakeoverRun();
    ctdb.refuse = opts.refuseLease ?? false;
    const f = new Failoverd({ config, transport, logger: opts.logger ?? silentLogger('failoverd'), timers }, ctdb);
    f.init();
    f.activate();
    await new Promise((r) => setImmediate(r)); // the first clusterd subscription answers
    const check = () => transport.call<FailoverStatus>('failoverd.check');
    return { f, transport, clock, ctdb, check, stateDir, fire, fireNext, pending, intervals, config };
  }

  test('shadow: counts a difference only once it outlasts the settle time, and moves nothing', async () => {
    const { ctdb, clock, check } = await start('shadow');
    let s = await check();
    expect(s.deciding).toBe(true);
    expect(s.addresses.every((a) => a.host === a.plan)).toBe(true);
    expect(s.differences.total).toBe(0);
    // An address released by a takeover run in flight on ctdbd's side: not a difference yet.
    // (LCP2 may well leave a moved address where it is; an unhosted one it always places.)
    ctdb.owners.set(IPS[0], -1);
    await check();
    clock.now += 1000;
    s = await check();
    expect(s.differences.total).toBe(0);
    clock.now += 1500;
    s = await check();
    expect(s.differences.total).toBe(1);
    expect(s.differences.current).toEqual([{ subject: IPS[0], ours: String(s.addresses.find((a) => a.ip === IPS[0])!.plan), legacy: '-1' }]);
    expect(ctdb.executed).toEqual([]);
    expect(ctdb.leaseCalls).toEqual([]);
  });

  test('active: holds ctdbd\'s runs off first, moves nothing when the placement is right, fixes it when it is not', async () => {
    const { ctdb, check } = await start('active');
    let s = await check();
    expect(ctdb.leaseCalls).toEqual([{ nodes: [0, 1, 2], seconds: 15 }]);
    expect(s.takeoverLease?.held).toBe(true);
    expect(ctdb.executed).toEqual([]);
    // Node 1 goes away: its addresses must move to the survivors.
    ctdb.flags.set(1, NodeFlag.DISCONNECTED);
    s = await check();
    expect(ctdb.executed).toHaveLength(1);
    expect(s.runs).toBe(1);
    s = await check();
    expect(s.addresses.every((a) => a.host === a.plan && a.host !== 1 && a.host !== -1)).toBe(true);
    expect(ctdb.executed).toHaveLength(1);
  });

  test('active: no takeover run while any node has not confirmed the lease', async () => {
    const { ctdb, check } = await start('active', 0, { unassigned: true, refuseLease: true });
    const s = await check();
    expect(s.takeoverLease).toEqual({ held: false, nodes: [], renewedAgoMs: null });
    expect(ctdb.executed).toEqual([]);
  });

  test('a node that does not lead decides nothing and holds no lease', async () => {
    const { ctdb, check } = await start('active', 1);
    const s = await check();
    expect(s.deciding).toBe(false);
    expect(s.addresses).toEqual([]);
    expect(ctdb.leaseCalls).toEqual([]);
    expect(ctdb.executed).toEqual([]);
  });

  test('active: a run ctdbd cannot take now (recovery) is retried soon, not counted as failed', async () => {
    const { ctdb, check, fire } = await start('active');
    ctdb.deferRuns = 1;
    ctdb.flags.set(1, NodeFlag.DISCONNECTED);
    let s = await check();
    expect(ctdb.executed).toEqual([]);
    expect(s.runs).toBe(0);
    expect(s.lastRun).toBeNull();
    fire();
    await new Promise((r) => setImmediate(r));
    s = await check();
    expect(ctdb.executed).toHaveLength(1);
    expect(s.addresses.every((a) => a.host === a.plan && a.host !== 1)).toBe(true);
  });

  test('active: a failing run is retried after the check interval, doubling to 5 s; logged once, then with its count; a new input runs at once', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const { ctdb, check, clock, fireNext, pending } = await start('active', 0, { checkIntervalMs: 200, logger: capturingLogger(lines) });
    const said = (msg: RegExp) => lines.filter((l) => msg.test(String(l.msg)));
    await check();
    ctdb.runError = 'takeip event of 10.0.1.3 failed on node 2';
    ctdb.flags.set(1, NodeFlag.DISCONNECTED); // a run is due, and every attempt fails
    await check();
    expect(ctdb.runAttempts).toEqual([0]);
    // Checks between retries (the check interval, node events) gather but do not run again.
    while (clock.now < 16_200) {
      const due = Math.min(...[...pending.values()].map((t) => t.due));
      clock.now = due - 1;
      await check();
      expect(ctdb.runAttempts.at(-1)).toBeLessThan(clock.now);
      expect(fireNext()).toBe(true);
      await settle();
    }
    const gaps = ctdb.runAttempts.slice(1).map((t, i) => t - ctdb.runAttempts[i]);
    expect(gaps).toEqual([200, 400, 800, 1600, 3200, 5000, 5000]);
    expect(said(/^takeover run failed$/)).toEqual([expect.objectContaining({ error: ctdb.runError, retryInMs: 200, moved: 0 })]);
    expect(said(/still failing/)).toEqual([]);
    // A minute into the series: one reminder with the count.
    while (clock.now < 61_200) {
      expect(fireNext()).toBe(true);
      await settle();
    }
    expect(ctdb.runAttempts).toHaveLength(17);
    expect(said(/still failing/)).toEqual([expect.objectContaining({ failures: 17, retryInMs: 5000, msg: 'takeover run still failing (17 times in a row)' })]);
    expect(said(/failed|failing/), 'one line per series start and per minute, not per attempt').toHaveLength(2);
    // New input (another node gone): tried at once, the old series summed up, a new one begins at the check interval.
    ctdb.flags.set(2, NodeFlag.DISCONNECTED);
    await check();
    expect(ctdb.runAttempts).toHaveLength(18);
    expect(ctdb.runAttempts.at(-1)).toBe(61_200);
    expect(said(/before its input changed/)).toEqual([expect.objectContaining({ failures: 17, msg: 'takeover run failed 17 time(s) in a row before its input changed' })]);
    expect(said(/^takeover run failed$/)).toHaveLength(2);
    // The cause goes away: the retry 200 ms later succeeds and says how many attempts failed.
    ctdb.runError = undefined;
    expect(fireNext()).toBe(true);
    await settle();
    expect(ctdb.runAttempts.at(-1)).toBe(61_400);
    expect(ctdb.executed).toHaveLength(1);
    expect(said(/succeeded after/)).toEqual([expect.objectContaining({ failures: 1, msg: 'takeover run succeeded after 1 failed attempt(s)' })]);
    // After a success the schedule starts over: the next failure waits one check interval again.
    ctdb.runError = 'releaseip event failed';
    ctdb.flags.set(2, 0);
    await check();
    expect(said(/^takeover run failed$/).at(-1)).toEqual(expect.objectContaining({ error: 'releaseip event failed', retryInMs: 200 }));
  });

  test('a reload applies the new check interval to the check timer and to the run back-off', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const { f, ctdb, check, intervals, config } = await start('active', 0, { logger: capturingLogger(lines) });
    const others = [...intervals.values()].filter((ms) => ms !== 1000); // the leader watch's own
    expect([...intervals.values()].sort()).toEqual([...others, 1000].sort());
    await f.reconfigure({ ...config, checkIntervalMs: 300 });
    expect([...intervals.values()].sort()).toEqual([...others, 300].sort());
    await check();
    ctdb.runError = 'takeip event failed';
    ctdb.flags.set(1, NodeFlag.DISCONNECTED);
    await check();
    expect(lines.filter((l) => l.msg === 'takeover run failed')).toEqual([expect.objectContaining({ retryInMs: 300 })]);
  });

  test('fenced: leadership that changed before the run stops it', async () => {
    const { ctdb, transport, check } = await start('active');
    transport.leadership = { leader: 2, epoch: 4 };
    ctdb.flags.set(1, NodeFlag.DISCONNECTED); // a run is due
    const s = await check();
    expect(ctdb.executed).toEqual([]);
    expect(s.runs).toBe(0);
  });

  test('drain moves a node\'s addresses away and keeps them away after a restart; undrain lets them back', async () => {
    const { ctdb, transport, check, stateDir, f } = await start('active');
    expect([...ctdb.owners.values()]).toContain(2);
    const hosted = [...ctdb.owners].filter(([, p]) => p === 2).map(([ip]) => ip).sort();
    await transport.call('failoverd.drain', { pnn: 2, drained: true });
    let s = await check();
    expect(s.drained).toEqual([2]);
    expect([...ctdb.owners.values()]).not.toContain(2);
    // Make-before-break: each of its addresses taken by its new owner before the run.
    expect(ctdb.handOvers.map((h) => h.ip).sort()).toEqual(hosted);
    expect(ctdb.handOvers.every((h) => h.from === 2 && h.to !== 2 && h.to >= 0)).toBe(true);
    await f.stop();
    const again = new Failoverd({
      config: { mode: 'active', nodes: [0, 1, 2], checkIntervalMs: 1000, takeoverLeaseMs: 15_000, settleMs: 0, quorumLossMs: 1000, stateDir },
      transport, logger: silentLogger('failoverd'), timers: fakeTimers().timers,
    }, ctdb);
    again.init();
    s = await transport.call<FailoverStatus>('failoverd.status');
    expect(s.drained).toEqual([2]);
    await transport.call('failoverd.drain', { pnn: 2, drained: false });
    expect(() => transport.call('failoverd.drain', { pnn: 9, drained: true })).toThrow(/not in the nodes file/);
  });

  test('handback to shadow releases the lease at once (timeout 0)', async () => {
    const { ctdb, transport, check } = await start('active');
    await check();
    await transport.call('failoverd.set-mode', { mode: 'shadow' });
    expect(ctdb.leaseCalls.at(-1)).toEqual({ nodes: [0, 1, 2], seconds: 0 });
    const s = await check();
    expect(s.takeoverLease).toBeNull();
  });

  test('a clusterd.event from anyone but this node\'s clusterd is ignored', async () => {
    const { transport } = await start('shadow');
    const listener = transport.listeners.get('clusterd.event')!;
    transport.leadership = { leader: 0, epoch: 3 };
    listener({ seq: 1, node: 0, kind: 'leader', reason: 'forged', epoch: 99, leader: 1 }, { src: { node: 0, service: 0x80000001 } } as IncomingContext);
    const s = await transport.call<FailoverStatus>('failoverd.status');
    expect(s.leader).toBe(0);
    listener({ seq: 1, node: 0, kind: 'leader', reason: 'real', epoch: 4, leader: 1 }, { src: { node: 0, service: CLUSTERD_SERVICE } } as IncomingContext);
    expect((await transport.call<FailoverStatus>('failoverd.status')).leader).toBe(1);
  });

  test('quorum lost: takes nothing at once, holds its own ctdbd\'s runs off, releases what it hosts after [failoverd] quorum loss', async () => {
    const { ctdb, transport, clock, check } = await start('active', 1);
    await check();
    const mine = [...ctdb.owners].filter(([, p]) => p === 1).map(([ip]) => ip);
    expect(mine.length).toBeGreaterThan(0);
    // Isolated: clusterd hears neither other node (and still names a leader it can no longer reach).
    transport.views.set(0, { state: 'unreachable' });
    transport.views.set(2, { state: 'unreachable' });
    let s = await check();
    expect(s.deciding).toBe(false);
    expect(ctdb.leaseCalls).toEqual([{ nodes: [1], seconds: 15 }]);
    expect(ctdb.released).toEqual([]);
    clock.now += 999;
    await check();
    expect(ctdb.released).toEqual([]);
    clock.now += 1;
    await check();
    expect(ctdb.released).toEqual([mine]);
    expect([...ctdb.owners.values()]).not.toContain(1);
    // Healed: a majority again, nothing released any more.
    transport.views.clear();
    clock.now += 5000;
    s = await check();
    expect(s.node).toBe(1);
    expect(ctdb.released).toHaveLength(1);
    transport.views.set(2, { state: 'unreachable' }); // one node lost of three: still a majority
    clock.now += 5000;
    await check();
    expect(ctdb.released).toHaveLength(1);
  });

  test('a legacy-only node ctdbd lists as connected counts as reachable (a mixed cluster keeps its addresses)', async () => {
    const { ctdb, transport, clock, check } = await start('active', 1);
    // Nodes 0 and 2 run no clusterd (stage 0/1): clusterd judges them by ctdbd's flags alone.
    transport.views.set(0, { clusterd: false, state: 'ok', heartbeatAgeMs: null });
    transport.views.set(2, { clusterd: false, state: 'ok', heartbeatAgeMs: null });
    await check();
    clock.now += 10_000;
    await check();
    expect(ctdb.released).toEqual([]);
    // Once ctdbd itself says they are gone, the quorum is lost.
    transport.views.set(0, { clusterd: false, state: 'disconnected' });
    transport.views.set(2, { clusterd: false, state: 'disconnected' });
    await check();
    clock.now += 1000;
    await check();
    expect(ctdb.released).toHaveLength(1);
  });

  test('the leader plans a node its clusterd cannot hear as disconnected and moves its addresses', async () => {
    const { ctdb, transport, check } = await start('active');
    expect([...ctdb.owners.values()]).toContain(2);
    transport.views.set(2, { state: 'unreachable' });
    const s = await check();
    expect(ctdb.scopes.at(-1)).toEqual({ unreachable: [2], gatherTimeoutMs: 1000 });
    expect(s.runs).toBe(1);
    expect([...ctdb.owners.values()]).not.toContain(2);
  });

  test('a node clusterd cannot hear but whose ctdbd answers keeps its addresses; once ctdbd stops answering too, they move', async () => {
    const { ctdb, transport, check } = await start('active');
    const held = [...ctdb.owners].filter(([, p]) => p === 2).map(([ip]) => ip);
    expect(held.length).toBeGreaterThan(0);
    transport.views.set(2, { state: 'unreachable' }); // e.g. its transportd restarting
    ctdb.ctdbdAnswers.add(2);
    let s = await check();
    expect(ctdb.probes.at(-1)).toEqual({ pnns: [2], timeoutMs: 300 });
    expect(ctdb.scopes.at(-1)).toEqual({ unreachable: [], gatherTimeoutMs: 1000 });
    expect(s.runs).toBe(0);
    expect([...ctdb.owners].filter(([, p]) => p === 2).map(([ip]) => ip)).toEqual(held);
    ctdb.ctdbdAnswers.delete(2); // isolated: nobody hears it
    s = await check();
    expect(ctdb.scopes.at(-1)).toEqual({ unreachable: [2], gatherTimeoutMs: 1000 });
    expect(s.runs).toBe(1);
    expect([...ctdb.owners.values()]).not.toContain(2);
  });

  test('ctdb ipreallocate / disable while active: the deciding failoverd runs, then answers with its PNN', async () => {
    const { ctdb, check } = await start('active');
    await check();
    ctdb.flags.set(2, NodeFlag.PERMANENTLY_DISABLED); // `ctdb disable -n 2` set the flag, then asks for a run
    ctdb.requestRun(2, 0xf1000000000001n);
    ctdb.requestRun(1, 0n); // srvid 0: no reply wanted
    const s = await check();
    expect(s.runs).toBe(1);
    expect([...ctdb.owners.values()]).not.toContain(2);
    expect(ctdb.replies).toEqual([{ destnode: 2, srvid: 0xf1000000000001n, result: 0 }]);
    // Nothing off and a request pending: a run anyway (ctdbd's runs always send IPREALLOCATED), and an answer.
    ctdb.requestRun(0, 0xf1000000000002n);
    await check();
    await check(); // the check the request scheduled may have started before it arrived: one more after it
    expect(ctdb.executed).toHaveLength(2);
    expect(ctdb.replies.at(-1)).toEqual({ destnode: 0, srvid: 0xf1000000000002n, result: 0 });
  });

  test('takeover-run requests: a node that does not decide leaves them to the one that does', async () => {
    const { ctdb, check } = await start('active', 1);
    await check();
    ctdb.requestRun(0, 0xf1000000000003n);
    await check();
    expect(ctdb.executed).toEqual([]);
    expect(ctdb.replies).toEqual([]);
    expect(ctdb.requests.count).toBe(0);
  });
});
