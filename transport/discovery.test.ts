import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Discovery, type HelloBody } from './discovery.ts';
import { LOG_BURST, LOG_INTERVAL_MS } from '../legacy/common/log-limiter.ts';
import { MAX_HELLO_SERVICES, MAX_NODES } from './schemas.ts';
import { createLogger, silentLogger } from '../legacy/common/log.ts';

const hello = (node: number, over: Partial<HelloBody> = {}): HelloBody => ({
  node, bootId: `boot-${node}`, software: 'sw', protocolVersions: [1], startedAt: 'now', services: [0, 1], wantReply: true, ...over,
});

describe('Discovery', () => {
  let sent: Array<[number, boolean]>;
  let d: Discovery;
  beforeEach(() => {
    vi.useFakeTimers();
    sent = [];
    d = new Discovery({
      node: 0, sendHello: (n, w) => sent.push([n, w]), helloTimeoutMs: 1000, rehelloIntervalMs: 10_000, livenessIntervalMs: 0,
      logger: silentLogger(),
    });
  });
  afterEach(() => {
    d.stop();
    vi.useRealTimers();
  });

  it('says hello to reachable nodes and marks silent ones legacy-only, never failed', () => {
    d.start([{ node: 0, reachable: true }, { node: 1, reachable: true }, { node: 2, reachable: false }]);
    expect(sent).toEqual([[1, true]]);
    expect(d.stateOf(0)).toBe('self');
    expect(d.stateOf(1)).toBe('discovering');
    expect(d.stateOf(2)).toBe('unreachable');
    vi.advanceTimersByTime(1001);
    expect(d.stateOf(1)).toBe('legacy-only');
    expect(d.stateOf(7)).toBe('unknown');
  });

  it('records hellos, answers those that ask, and lists transport nodes', () => {
    d.start([{ node: 1, reachable: true }]);
    expect(d.helloReceived(hello(1))).toBe(true);
    expect(d.helloReceived(hello(1, { wantReply: false }))).toBe(false);
    vi.advanceTimersByTime(5000);
    expect(d.stateOf(1)).toBe('transport');
    expect(d.transportNodes()).toEqual([1]);
    expect(d.list()[0]).toMatchObject({ node: 1, state: 'transport', software: 'sw', protocolVersions: [1] });
  });

  it('asks legacy-only nodes again periodically and notices a transportd starting there', () => {
    d.start([{ node: 1, reachable: true }]);
    vi.advanceTimersByTime(1001);
    expect(d.stateOf(1)).toBe('legacy-only');
    sent.length = 0;
    vi.advanceTimersByTime(10_000);
    expect(sent).toEqual([[1, true]]);
    d.helloReceived(hello(1, { wantReply: false }));
    expect(d.stateOf(1)).toBe('transport');
  });

  it('sends an answer it could not deliver once the uplink reports the node reachable', () => {
    d.start([{ node: 1, reachable: false }]);
    expect(d.helloReceived(hello(1))).toBe(true);
    d.helloUndelivered(1);
    sent.length = 0;
    d.reachabilityChanged(1, true);
    expect(sent).toEqual([[1, false]]);
    expect(d.stateOf(1)).toBe('transport');
    d.reachabilityChanged(1, true);
    expect(sent).toEqual([[1, false]]);
  });

  it('follows reachability and bye', () => {
    d.start([{ node: 1, reachable: true }]);
    d.helloReceived(hello(1));
    d.reachabilityChanged(1, false);
    expect(d.stateOf(1)).toBe('unreachable');
    expect(d.transportNodes()).toEqual([]);
    d.reachabilityChanged(1, true);
    expect(d.stateOf(1)).toBe('discovering');
    d.helloReceived(hello(1));
    d.byeReceived(1, 'other-boot');
    expect(d.stateOf(1)).toBe('transport');
    d.byeReceived(1, 'boot-1');
    expect(d.stateOf(1)).toBe('legacy-only');
  });

  it('asks again at once when traffic arrives from a node taken for legacy-only', () => {
    d.start([{ node: 1, reachable: true }]);
    vi.advanceTimersByTime(1001);
    sent.length = 0;
    d.trafficFrom(1);
    expect(d.stateOf(1)).toBe('discovering');
    d.trafficFrom(1);
    expect(sent).toEqual([[1, true]]);
    vi.advanceTimersByTime(1001);
    expect(d.stateOf(1)).toBe('legacy-only');
  });

  it('follows node list changes', () => {
    d.start([{ node: 1, reachable: true }, { node: 2, reachable: true }]);
    d.sync([{ node: 1, reachable: true }, { node: 3, reachable: false }]);
    expect(d.list().map((n) => n.node)).toEqual([1, 3]);
  });
});

describe('Discovery liveness (a transportd gone without bye)', () => {
  const INTERVAL = 2000;
  const TIMEOUT = 1000;
  let sent: Array<[number, boolean]>;
  let lost: Array<[number, string]>;
  let d: Discovery;
  const make = (livenessIntervalMs = INTERVAL, helloTimeoutMs = TIMEOUT) => {
    d?.stop();
    d = new Discovery({
      node: 0, sendHello: (n, w) => sent.push([n, w]), helloTimeoutMs, rehelloIntervalMs: 60_000, livenessIntervalMs,
      nodeLost: (n, reason) => lost.push([n, reason]), logger: silentLogger(),
    });
    d.start([{ node: 1, reachable: true }, { node: 2, reachable: true }]);
    d.helloReceived(hello(1));
    d.helloReceived(hello(2));
    sent.length = 0;
  };
  beforeEach(() => {
    // setImmediate too: the verdict on a probe waits for pending I/O.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'Date'] });
    sent = [];
    lost = [];
    make();
  });
  afterEach(() => {
    d.stop();
    vi.useRealTimers();
  });

  it('asks a silent transport node for a hello and takes it for legacy-only when it does not answer', () => {
    const started = Date.now();
    d.trafficFrom(2);
    vi.advanceTimersByTime(INTERVAL); // both were heard (their hellos) since start: no probe yet
    expect(sent).toEqual([]);
    d.trafficFrom(2); // node 2 stays busy, node 1 is silent from now on
    vi.advanceTimersByTime(INTERVAL);
    expect(sent).toEqual([[1, true]]);
    expect(d.stateOf(1)).toBe('transport');
    vi.advanceTimersByTime(TIMEOUT - 1);
    expect(d.stateOf(1)).toBe('transport');
    expect(lost).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(d.stateOf(1)).toBe('transport'); // timed out; the verdict waits for I/O already pending (one more turn)
    vi.advanceTimersByTime(1);
    expect(d.stateOf(1)).toBe('legacy-only');
    expect(d.transportNodes()).toEqual([2]);
    expect(lost).toHaveLength(1);
    expect(lost[0][0]).toBe(1);
    expect(lost[0][1]).toMatch(/stopped answering/);
    // Node 1's last packet was its hello at the start: lost at the documented bound, 2 x interval + timeout.
    expect(Date.now() - started).toBeLessThanOrEqual(2 * INTERVAL + TIMEOUT + 1);
    // Legacy-only nodes are not probed by liveness (the slower rehello asks them), and not lost twice.
    sent.length = 0;
    d.trafficFrom(2);
    vi.advanceTimersByTime(INTERVAL);
    expect(sent).toEqual([]);
    expect(lost).toHaveLength(1);
  });

  it('sends no probe to a node whose traffic keeps arriving', () => {
    for (let t = 0; t < 20_000; t += 500) {
      d.trafficFrom(1);
      d.trafficFrom(2);
      vi.advanceTimersByTime(500);
    }
    expect(sent).toEqual([]);
    expect(d.transportNodes()).toEqual([1, 2]);
  });

  it('keeps a node that answers the probe, by hello or by any other packet', () => {
    vi.advanceTimersByTime(2 * INTERVAL);
    expect(sent).toEqual([[1, true], [2, true]]);
    vi.advanceTimersByTime(100);
    expect(d.helloReceived(hello(1, { wantReply: false }))).toBe(false);
    d.trafficFrom(2);
    vi.advanceTimersByTime(TIMEOUT * 3);
    expect(d.transportNodes()).toEqual([1, 2]);
    expect(lost).toEqual([]);
    // Silent again afterwards: probed again.
    sent.length = 0;
    vi.advanceTimersByTime(INTERVAL);
    expect(sent).toEqual([[1, true], [2, true]]);
  });

  it('counts an answer queued behind its own late timer (this process was stalled) as an answer', () => {
    vi.advanceTimersByTime(2 * INTERVAL);
    expect(sent).toEqual([[1, true], [2, true]]);
    // Due at the same instant as the probe timeout but scheduled after it: runs after the timer, before the verdict.
    setTimeout(() => d.trafficFrom(1), TIMEOUT);
    vi.advanceTimersByTime(TIMEOUT + 1);
    expect(d.stateOf(1)).toBe('transport');
    expect(d.stateOf(2)).toBe('legacy-only');
  });

  it('does not postpone the verdict with new probes when the timeout is longer than the interval', () => {
    make(500, 3000);
    vi.advanceTimersByTime(1000);
    expect(sent).toEqual([[1, true], [2, true]]);
    vi.advanceTimersByTime(2999);
    expect(sent).toEqual([[1, true], [2, true]]);
    expect(d.transportNodes()).toEqual([1, 2]);
    vi.advanceTimersByTime(2);
    expect(d.transportNodes()).toEqual([]);
  });

  it('takes a transportd restarted there (new bootId) for transport again', () => {
    vi.advanceTimersByTime(2 * INTERVAL + TIMEOUT + 1);
    expect(d.stateOf(1)).toBe('legacy-only');
    // The new transportd says hello at start...
    expect(d.helloReceived(hello(1, { bootId: 'boot-1-again' }))).toBe(true);
    expect(d.stateOf(1)).toBe('transport');
    expect(d.list().find((n) => n.node === 1)).toMatchObject({ state: 'transport', bootId: 'boot-1-again', software: 'sw' });
    // ...and a packet from the old one, had it only been stalled, makes us ask at once.
    sent.length = 0;
    d.trafficFrom(2);
    expect(d.stateOf(2)).toBe('discovering');
    expect(sent).toEqual([[2, true]]);
    d.helloReceived(hello(2, { wantReply: false }));
    expect(d.transportNodes()).toEqual([1, 2]);
  });

  it('can be turned off', () => {
    make(0);
    vi.advanceTimersByTime(60_000);
    expect(sent).toEqual([]);
    expect(d.transportNodes()).toEqual([1, 2]);
  });

  it('sends nothing and loses no node after stop', () => {
    vi.advanceTimersByTime(2 * INTERVAL);
    d.stop();
    vi.advanceTimersByTime(10 * INTERVAL);
    expect(lost).toEqual([]);
    expect(sent).toEqual([[1, true], [2, true]]);
  });
});

/** A logger that keeps its lines, to count what a flood writes. */
function capturingLogger(): { logger: ReturnType<typeof createLogger>; lines: Array<{ level: number; msg: string; [k: string]: unknown }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const logger = createLogger({ component: 'test', level: 'info', destination: { write: (s: string) => void lines.push(JSON.parse(s)) } as unknown as NodeJS.WritableStream });
  return { logger, lines };
}

describe('Discovery bounds (hellos off the network)', () => {
  let now: number;
  let sent: Array<[number, boolean]>;
  let d: Discovery;
  let lines: ReturnType<typeof capturingLogger>['lines'];
  const warnings = (re: RegExp) => lines.filter((l) => l.level >= 40 && re.test(l.msg));
  beforeEach(() => {
    vi.useFakeTimers();
    now = 0;
    sent = [];
    const cap = capturingLogger();
    lines = cap.lines;
    d = new Discovery({
      node: 0, sendHello: (n, w) => sent.push([n, w]), helloTimeoutMs: 1000, rehelloIntervalMs: 10_000, livenessIntervalMs: 0,
      now: () => now, logger: cap.logger,
    });
    d.start([{ node: 0, reachable: true }, { node: 1, reachable: true }, { node: 2, reachable: true }]);
  });
  afterEach(() => {
    d.stop();
    vi.useRealTimers();
  });

  it('never records a node outside the uplink\'s node list (12,000 made-up nodes), logging at a bounded rate', () => {
    for (let i = 0; i < 12_000; i++) expect(d.helloReceived(hello(100 + i))).toBe(false);
    d.reachabilityChanged(50_000, true);
    d.trafficFrom(50_001);
    expect(d.byeReceived(50_002, 'boot')).toBe(false);
    expect(d.list().map((n) => n.node)).toEqual([1, 2]);
    expect(d.stateOf(100)).toBe('unknown');
    expect(d.transportNodes()).toEqual([]);
    const refused = warnings(/not a cluster member/);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.length).toBeLessThanOrEqual(LOG_BURST);
    // The next window's first line says how many were left out.
    now += LOG_INTERVAL_MS;
    d.helloReceived(hello(99_999));
    expect(warnings(/not a cluster member/).at(-1)).toMatchObject({ suppressed: 12_000 - LOG_BURST });
    // Members are still discovered as before.
    expect(d.helloReceived(hello(1))).toBe(true);
    expect(d.stateOf(1)).toBe('transport');
  });

  it(`refuses a hello listing more than ${MAX_HELLO_SERVICES} services (logged), accepts one at the bound`, () => {
    const services = (n: number) => Array.from({ length: n }, (_, i) => 0x80000000 + i);
    expect(d.helloReceived(hello(1, { services: services(MAX_HELLO_SERVICES + 1) }))).toBe(false);
    expect(d.stateOf(1)).toBe('discovering');
    expect(warnings(/too many services/)).toHaveLength(1);
    expect(d.helloReceived(hello(1, { services: services(MAX_HELLO_SERVICES) }))).toBe(true);
    expect(d.list().find((n) => n.node === 1)?.services).toHaveLength(MAX_HELLO_SERVICES);
  });

  it(`keeps at most ${MAX_NODES - 1} remote nodes whatever the node list says`, () => {
    d.sync(Array.from({ length: MAX_NODES + 100 }, (_, node) => ({ node, reachable: false })));
    expect(d.list()).toHaveLength(MAX_NODES - 1);
    expect(warnings(/more nodes than/)).toHaveLength(1);
  });

  it('accepts a bye only with the bootId it knows', () => {
    d.helloReceived(hello(1));
    expect(d.byeReceived(1, 'forged')).toBe(false);
    expect(d.stateOf(1)).toBe('transport');
    expect(d.byeReceived(1, 'boot-1')).toBe(true);
    expect(d.stateOf(1)).toBe('legacy-only');
  });
});
