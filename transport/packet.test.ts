import { describe, expect, it } from 'vitest';
import { Flag, HEADER_SIZE } from './header.ts';
import { buildPacket } from './message.ts';
import {
  MAX_CARRIER_ROOM, SEPARATE_PAYLOAD_BYTES, decodePacket, encodePacket, encodePacketAt, encodePacketParts, sharingPayload, withHeader,
} from './packet.ts';
import { TransportDecodeError } from './errors.ts';

const request = () => buildPacket({
  src: { node: 0, service: 0x80000001 }, dest: { node: 1, service: 1 }, type: 'transport.ping', version: 1,
  body: { text: 'héllo' }, requestId: 9, flags: Flag.REQUEST,
});

describe('packets framed in place', () => {
  it('a built packet is encoded into its own frame, the same bytes as a copy', () => {
    const p = request();
    const copy = encodePacket({ header: p.header, payload: p.payload });
    const frame = p.frame!;
    const inPlace = encodePacketAt(p, MAX_CARRIER_ROOM);
    expect(inPlace.buffer).toBe(frame.buffer);
    expect(inPlace.byteOffset).toBe(frame.byteOffset);
    expect(inPlace.subarray(MAX_CARRIER_ROOM)).toEqual(copy);
    expect(decodePacket(copy).payload.toString()).toBe(JSON.stringify({ type: 'transport.ping', body: { text: 'héllo' } }));
  });

  it('a carrier asking for less room gets a view of the frame', () => {
    const p = request();
    const framed = encodePacketAt(p, 16);
    expect(framed.buffer).toBe(p.payload.buffer);
    expect(framed.length).toBe(16 + HEADER_SIZE + p.payload.length);
    expect(decodePacket(framed.subarray(16)).header).toEqual(p.header);
  });

  it('the frame is taken once: a second encoding copies and leaves the first intact', () => {
    const p = request();
    const first = encodePacketAt(p, 0);
    const before = Buffer.from(first);
    expect(p.frame).toBeUndefined();
    const second = encodePacketAt({ ...p, header: { ...p.header, requestId: 10 } }, 0);
    expect(second.buffer === first.buffer && second.byteOffset === first.byteOffset).toBe(false);
    expect(first).toEqual(before);
  });

  it('a rewritten header takes the frame along; fan-out copies get none', () => {
    const p = request();
    const moved = withHeader(p, { dest: { node: 2, service: 1 } });
    expect(p.frame).toBeUndefined();
    expect(moved.frame).toBeDefined();
    const fanned = sharingPayload(moved, { dest: { node: 3, service: 1 } });
    expect(fanned.frame).toBeUndefined();
    expect(moved.frame).toBeDefined();
  });

  it('an invalid header is refused before anything is written into the frame', () => {
    const p = request();
    const snapshot = Buffer.from(p.frame!);
    expect(() => encodePacketAt({ ...p, header: { ...p.header, requestId: 0 } }, 0)).toThrow(TransportDecodeError);
    expect(p.frame).toEqual(snapshot);
  });
});

describe('packets as stream parts', () => {
  const bare = (size: number) => {
    const p = request();
    const payload = Buffer.alloc(size, 0x61);
    return { header: { ...p.header, payloadLength: size }, payload, frame: undefined };
  };

  it('a large payload without room goes as header and payload apart, the payload not copied', () => {
    const p = bare(SEPARATE_PAYLOAD_BYTES);
    const parts = encodePacketParts(p);
    expect(parts).toHaveLength(2);
    expect(parts[1]).toBe(p.payload);
    expect(Buffer.concat(parts)).toEqual(encodePacket(p));
  });

  it('a small payload is copied behind its header; a packet with room is written in place', () => {
    const small = bare(SEPARATE_PAYLOAD_BYTES - 1);
    expect(encodePacketParts(small)).toEqual([encodePacket(small)]);
    const built = request();
    const frame = built.frame!;
    const [only, ...rest] = encodePacketParts(built);
    expect(rest).toEqual([]);
    expect(only.buffer).toBe(frame.buffer);
  });

  it('refuses an invalid header as encodePacket does', () => {
    const p = bare(SEPARATE_PAYLOAD_BYTES);
    expect(() => encodePacketParts({ ...p, header: { ...p.header, requestId: 0 } })).toThrow(TransportDecodeError);
  });
});
