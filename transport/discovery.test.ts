import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Discovery, type HelloBody } from './discovery.ts';
import { silentLogger } from '../legacy/common/log.ts';

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
      node: 0, sendHello: (n, w) => sent.push([n, w]), helloTimeoutMs: 1000, rehelloIntervalMs: 10_000, logger: silentLogger(),
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
