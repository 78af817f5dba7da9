import { describe, expect, it } from 'vitest';
import { Flag, PROTOCOL_VERSION, type TransportHeader } from './header.ts';
import { PendingRequests } from './pending-requests.ts';

function request(service: number, requestId: number, destNode: number): TransportHeader {
  return {
    protocolVersion: PROTOCOL_VERSION, payloadVersion: 1, flags: Flag.REQUEST, requestId, payloadLength: 0,
    src: { node: 0, service }, dest: { node: destNode, service: 1 },
  };
}

describe('PendingRequests', () => {
  it('settles by (service, request id) only when the reply comes from the node asked', () => {
    const p = new PendingRequests();
    p.add(request(0x80000000, 1, 1));
    p.settle(2, 0x80000000, 1);
    expect(p.size).toBe(1);
    p.settle(1, 0x80000000, 1);
    expect(p.size).toBe(0);
  });

  it('takes every request waiting on a node, and drops those of a departed service', () => {
    const p = new PendingRequests();
    p.add(request(10, 1, 1));
    p.add(request(10, 2, 2));
    p.add(request(11, 1, 1));
    expect(p.takeNode(1).map((h) => `${h.src.service}/${h.requestId}`)).toEqual(['10/1', '11/1']);
    expect(p.takeNode(1)).toEqual([]);
    p.dropService(10);
    expect(p.size).toBe(0);
  });

  it('forgets entries after the TTL and stays bounded', () => {
    let now = 0;
    const p = new PendingRequests({ ttlMs: 1000, maxEntries: 3, now: () => now });
    p.add(request(1, 1, 1));
    now = 500;
    p.add(request(1, 2, 1));
    now = 1200;
    p.add(request(1, 3, 1));
    expect(p.takeNode(1).map((h) => h.requestId)).toEqual([2, 3]);
    for (let i = 10; i < 20; i++) p.add(request(1, i, 1));
    expect(p.size).toBeLessThanOrEqual(3);
    expect(p.takeNode(1).map((h) => h.requestId)).toEqual([17, 18, 19]);
  });

  it('makes room in one go when full (oldest first), so a full table is not sorted on every add', () => {
    let now = 0;
    const p = new PendingRequests({ ttlMs: 60_000, maxEntries: 1000, now: () => now++ });
    for (let i = 1; i <= 1000; i++) p.add(request(i % 7, i, 1));
    expect(p.size).toBe(1000);
    p.add(request(1, 1001, 1));
    expect(p.size).toBe(901);
    const left = p.takeNode(1).map((h) => h.requestId);
    expect(left[0]).toBe(101);
    expect(left.at(-1)).toBe(1001);
  });
});
