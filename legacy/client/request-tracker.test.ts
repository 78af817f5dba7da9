import { describe, expect, it } from 'vitest';
import { ReqidAllocator, RequestTracker } from './request-tracker.ts';
import { ManualTimers } from './manual-timers.ts';
import { exponentialBackoff, ReconnectLoop } from './reconnect.ts';

describe('ReqidAllocator', () => {
  it('starts at INT_MAX-199 like the C library and counts up', () => {
    const a = new ReqidAllocator();
    expect(a.allocate(() => false)).toBe(2147483448);
    expect(a.allocate(() => false)).toBe(2147483449);
  });

  it('wraps to 1 after INT_MAX, never hands out 0, skips ids in use', () => {
    const a = new ReqidAllocator(0x7ffffffe);
    expect(a.allocate(() => false)).toBe(0x7ffffffe);
    expect(a.allocate(() => false)).toBe(0x7fffffff);
    expect(a.allocate((id) => id === 1)).toBe(2);
  });
});

describe('RequestTracker', () => {
  it('settles by reply and ignores late or unknown replies', async () => {
    const timers = new ManualTimers();
    const t = new RequestTracker<string>(timers);
    const { reqid, promise } = t.start(1000, () => new Error('timeout'));
    expect(t.complete(reqid + 1, 'other')).toBe(false);
    expect(t.complete(reqid, 'ok')).toBe(true);
    await expect(promise).resolves.toBe('ok');
    expect(t.complete(reqid, 'again')).toBe(false);
    expect(timers.size).toBe(0);
  });

  it('rejects with the timeout error and forgets the request', async () => {
    const timers = new ManualTimers();
    const t = new RequestTracker<string>(timers);
    const { reqid, promise } = t.start(500, () => new Error('too slow'));
    timers.advance(499);
    expect(t.size).toBe(1);
    timers.advance(1);
    await expect(promise).rejects.toThrow('too slow');
    expect(t.size).toBe(0);
    expect(t.complete(reqid, 'late')).toBe(false);
  });

  it('failAll rejects every outstanding request exactly once', async () => {
    const timers = new ManualTimers();
    const t = new RequestTracker<string>(timers);
    const a = t.start(1000, () => new Error('timeout'));
    const b = t.start(0, () => new Error('timeout'));
    expect(t.failAll(() => new Error('gone'))).toBe(2);
    await expect(a.promise).rejects.toThrow('gone');
    await expect(b.promise).rejects.toThrow('gone');
    timers.advance(5000);
    expect(t.size).toBe(0);
  });
});

describe('reconnect backoff', () => {
  it('doubles from the initial delay up to the cap', () => {
    const b = exponentialBackoff({ initialMs: 100, maxMs: 1000, jitter: 0 });
    expect([1, 2, 3, 4, 5, 6].map(b)).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('keeps jitter within the configured fraction', () => {
    const lo = exponentialBackoff({ initialMs: 1000, jitter: 0.2, random: () => 0 });
    const hi = exponentialBackoff({ initialMs: 1000, jitter: 0.2, random: () => 0.999999 });
    expect(lo(1)).toBe(800);
    expect(hi(1)).toBe(1200);
  });

  it('retries with the policy delays until an attempt succeeds', async () => {
    const timers = new ManualTimers();
    const attempts: number[] = [];
    const failures: Array<number | undefined> = [];
    let succeed = false;
    const loop = new ReconnectLoop({
      backoff: (n) => n * 10,
      timers,
      attempt: async (n) => {
        attempts.push(n);
        if (!succeed) throw new Error('down');
      },
      onAttemptFailed: (_n, _e, next) => failures.push(next),
    });
    loop.start();
    timers.advance(10);
    await Promise.resolve(); await Promise.resolve();
    timers.advance(20);
    await Promise.resolve(); await Promise.resolve();
    succeed = true;
    timers.advance(30);
    await Promise.resolve(); await Promise.resolve();
    expect(attempts).toEqual([1, 2, 3]);
    expect(failures).toEqual([20, 30]);
    expect(timers.size).toBe(0);
  });

  it('gives up after maxAttempts and can be cancelled', async () => {
    const timers = new ManualTimers();
    let gaveUp = 0;
    const loop = new ReconnectLoop({
      backoff: () => 5, timers, maxAttempts: 2,
      attempt: async () => { throw new Error('down'); },
      onGiveUp: (n) => { gaveUp = n; },
    });
    loop.start();
    for (let i = 0; i < 4; i++) { timers.advance(5); await Promise.resolve(); await Promise.resolve(); }
    expect(gaveUp).toBe(2);
    expect(loop.isCancelled).toBe(true);
    expect(timers.size).toBe(0);
  });
});
