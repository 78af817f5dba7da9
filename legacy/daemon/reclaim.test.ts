import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Control } from '../protocol/controls.ts';
import { encodePacket } from '../protocol/packets.ts';
import { MemoryReclaimer } from './reclaim.ts';
import { RawClient } from './testing/raw-client.ts';
import { TestCluster } from './testing/test-cluster.ts';

describe('MemoryReclaimer', () => {
  it('runs one collection after the delay for any number of requests before it', () => {
    vi.useFakeTimers();
    try {
      const collect = vi.fn();
      const r = new MemoryReclaimer({ delayMs: 100, collect });
      r.schedule();
      r.schedule();
      vi.advanceTimersByTime(99);
      expect(collect).not.toHaveBeenCalled();
      vi.advanceTimersByTime(1);
      expect(collect).toHaveBeenCalledTimes(1);
      r.schedule();
      vi.advanceTimersByTime(100);
      expect(collect).toHaveBeenCalledTimes(2);
      r.schedule();
      r.stop();
      vi.advanceTimersByTime(1000);
      expect(collect).toHaveBeenCalledTimes(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('the default collection is a full V8 collection, without --expose-gc on the command line', async () => {
    const majors: number[] = [];
    const observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if ((e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors.push(e.startTime);
      }
    });
    observer.observe({ entryTypes: ['gc'] });
    try {
      new MemoryReclaimer({ delayMs: 0 }).schedule();
      await vi.waitFor(() => expect(majors.length).toBeGreaterThan(0));
    } finally {
      observer.disconnect();
    }
  });
});

describe('client face: a connection that ends inside a big packet asks for a collection', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.create({ nodes: 1 });
    await cluster.startNode(0);
  });
  afterAll(async () => {
    await cluster.destroy();
  });

  async function sendPartial(announce: number, send: number): Promise<void> {
    const c = await RawClient.open(cluster.socketPath(0));
    const head = encodePacket(c.controlPacket(Control.ECHO_DATA, { data: Buffer.alloc(8) }));
    head.writeUInt32LE(announce, 0);
    head.writeUInt32LE(announce - 60, 56);
    c.write(head);
    c.write(Buffer.alloc(send - head.length, 0x5a));
    await sleep(100);
    await c.close();
  }

  it('after 2 of an announced 4 MiB: yes; after 100 bytes of 512: no', async () => {
    const schedule = vi.spyOn(cluster.daemons[0]!.clientFace.reclaimer, 'schedule').mockImplementation(() => undefined);
    await sendPartial(512, 100);
    await sleep(100);
    expect(schedule).not.toHaveBeenCalled();
    await sendPartial(4 * 1024 * 1024, 2 * 1024 * 1024);
    await vi.waitFor(() => expect(schedule).toHaveBeenCalledTimes(1));
  });
});
