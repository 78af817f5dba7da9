import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FrameReader, type FrameEvent } from './framing.ts';
import { Flag, HEADER_SIZE, Offset, type TransportHeader } from './header.ts';
import { TransportDecodeError } from './errors.ts';
import { PACKET_ROOM, encodePacket, encodePacketAt, type Packet } from './packet.ts';
import { arbHeader } from './testing/arbitraries.ts';

function packet(requestId: number, body: string): Packet {
  const payload = Buffer.from(JSON.stringify({ type: 'x.y', body }));
  const header: TransportHeader = {
    protocolVersion: 1, payloadVersion: 1, flags: Flag.REQUEST, dest: { node: 1, service: 9 },
    src: { node: 0, service: 7 }, requestId, payloadLength: payload.length,
  };
  return { header, payload };
}

const packets = [packet(1, ''), packet(2, 'a'.repeat(100)), packet(3, 'é✓'), { ...packet(4, ''), payload: Buffer.alloc(0) }];
packets[3].header.payloadLength = 0;
const stream = Buffer.concat(packets.map((p) => encodePacket(p)));

function decoded(events: FrameEvent[]): Packet[] {
  return events.map((e) => {
    if (e.kind !== 'packet') throw new Error(`unexpected ${e.kind}`);
    return { header: e.packet.header, payload: Buffer.from(e.packet.payload) };
  });
}

describe('FrameReader', () => {
  it('decodes a stream split into two chunks at every offset', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const r = new FrameReader();
      const events = [...r.push(stream.subarray(0, cut)), ...r.push(stream.subarray(cut))];
      expect(decoded(events)).toEqual(packets);
      expect(r.buffered).toBe(0);
    }
  });

  it('decodes a stream fed one byte at a time', () => {
    const r = new FrameReader();
    const events: FrameEvent[] = [];
    for (let i = 0; i < stream.length; i++) events.push(...r.push(stream.subarray(i, i + 1)));
    expect(decoded(events)).toEqual(packets);
  });

  it('decodes random packets under random chunking (property)', () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(arbHeader, fc.uint8Array({ maxLength: 300 })), { minLength: 1, maxLength: 6 }),
      fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 20 }),
      (items, sizes) => {
        const ps = items.map(([h, p]) => ({ header: { ...h, payloadLength: p.length }, payload: Buffer.from(p) }));
        const bytes = Buffer.concat(ps.map((p) => encodePacket(p)));
        const r = new FrameReader();
        const events: FrameEvent[] = [];
        for (let at = 0, i = 0; at < bytes.length; i++) {
          const n = sizes[i % sizes.length];
          events.push(...r.push(bytes.subarray(at, at + n)));
          at += n;
        }
        expect(decoded(events)).toEqual(ps);
      }), { numRuns: 300 });
  });

  it('a payload gathered from several chunks keeps room in front: forwarding writes its headers in place', () => {
    const big = packet(5, 'b'.repeat(3000));
    const bytes = encodePacket(big);
    const r = new FrameReader();
    const events = [...r.push(bytes.subarray(0, 1000)), ...r.push(bytes.subarray(1000))];
    expect(events).toHaveLength(1);
    const got = (events[0] as { packet: Packet }).packet;
    expect(got.payload).toEqual(big.payload);
    expect(got.frame!.length).toBe(PACKET_ROOM + big.payload.length);
    const forwarded = encodePacketAt(got, PACKET_ROOM - HEADER_SIZE);
    expect(forwarded.buffer).toBe(got.payload.buffer);
    expect(forwarded.subarray(PACKET_ROOM - HEADER_SIZE)).toEqual(bytes);
    // A payload inside one chunk is a view of it, with nothing in front to write into.
    const [whole] = new FrameReader().push(bytes);
    expect((whole as { packet: Packet }).packet.frame).toBeUndefined();
  });

  it('skips an oversize frame without buffering it and carries on', () => {
    const r = new FrameReader({ maxPayload: 64 });
    const big = encodePacket(packet(5, 'b'.repeat(200)), 1024);
    const small = encodePacket(packet(6, 'ok'));
    const events: FrameEvent[] = [];
    for (let i = 0; i < big.length; i += 16) {
      events.push(...r.push(big.subarray(i, i + 16)));
      expect(r.buffered).toBeLessThan(HEADER_SIZE);
    }
    events.push(...r.push(small));
    expect(events).toHaveLength(2);
    expect(events[0].kind).toBe('invalid');
    if (events[0].kind === 'invalid') {
      expect(events[0].error.field).toBe('payloadLength');
      expect(events[0].raw.requestId).toBe(5);
    }
    expect(events[1].kind === 'packet' && events[1].packet.header.requestId).toBe(6);
  });

  it('reports a frame with a bad field as invalid and keeps the stream in sync', () => {
    const bad = encodePacket(packet(7, 'zz'));
    bad.writeUInt16BE(0x0100, Offset.flags);
    const events = new FrameReader().push(Buffer.concat([bad, encodePacket(packet(8, 'next'))]));
    expect(events.map((e) => e.kind)).toEqual(['invalid', 'packet']);
    expect(events[0].kind === 'invalid' && events[0].error.field).toBe('flags');
  });

  it('treats a bad magic as fatal for the stream', () => {
    const bad = encodePacket(packet(9, ''));
    bad.write('XXXX', 0, 'ascii');
    const r = new FrameReader();
    expect(() => r.push(bad)).toThrow(TransportDecodeError);
    expect(() => r.push(encodePacket(packet(10, '')))).toThrow(/magic/);
  });
});
