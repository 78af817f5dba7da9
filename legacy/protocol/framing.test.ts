import { describe, expect, test } from 'vitest';
import { Operation } from './constants.ts';
import { CtdbFramingError } from './errors.ts';
import { PacketFramer } from './framing.ts';
import { decodePacket, encodePacket, type ReqMessage } from './packets.ts';

const hdr = { generation: 7, destnode: 0, srcnode: 1, reqid: 9 };
const message = (size: number, srvid = 0x1234n, fillByte = 0x5a): ReqMessage =>
  ({ operation: Operation.REQ_MESSAGE, ...hdr, srvid, data: Buffer.alloc(size, fillByte) });

/** Push `stream` in chunks of `size` bytes (fresh copies, like socket reads); returns hex of each packet. */
function frame(stream: Buffer, size: number, framer = new PacketFramer()): { packets: string[]; framer: PacketFramer } {
  const packets: string[] = [];
  for (let off = 0; off < stream.length; off += size) {
    framer.push(Buffer.from(stream.subarray(off, off + size)), (p) => packets.push(p.toString('hex')));
  }
  return { packets, framer };
}

describe('PacketFramer: packets split across chunks', () => {
  test('small and 64 KiB packets survive 1-byte, 3-byte, 1000-byte and 64 KiB reads', () => {
    const packets = [message(0), message(64 * 1024, 1n, 1), message(5), message(70_000, 2n, 2), message(64)]
      .map((p) => encodePacket(p, { padding: 'client' }));
    const stream = Buffer.concat(packets);
    for (const size of [1, 3, 1000, 65536]) {
      const { packets: out, framer } = frame(stream, size);
      expect(out, `reads of ${size} bytes`).toEqual(packets.map((p) => p.toString('hex')));
      expect(framer.pendingBytes).toBe(0);
    }
  });

  test('pendingBytes counts the bytes of a packet still being assembled', () => {
    const packet = encodePacket(message(1000), { padding: 'client' });
    const framer = new PacketFramer();
    const out: Buffer[] = [];
    framer.push(packet.subarray(0, 2), (p) => out.push(p));
    expect(framer.pendingBytes).toBe(2);
    framer.push(packet.subarray(2, 500), (p) => out.push(p));
    expect(framer.pendingBytes).toBe(500);
    framer.push(packet.subarray(500), (p) => out.push(p));
    expect(framer.pendingBytes).toBe(0);
    expect(out).toHaveLength(1);
    expect(decodePacket(out[0])).toMatchObject({ srvid: 0x1234n, data: Buffer.alloc(1000, 0x5a) });
  });

  test('a packet above the 1 MiB assembly limit is still delivered whole', () => {
    const big = encodePacket(message(1_500_000, 3n, 3), { padding: 'client' });
    const small = encodePacket(message(8), { padding: 'client' });
    const stream = Buffer.concat([small, big, small]);
    const { packets, framer } = frame(stream, 65536);
    expect(packets).toEqual([small, big, small].map((p) => p.toString('hex')));
    expect(framer.pendingBytes).toBe(0);
  });

  test('a reused chunk buffer does not corrupt a packet being assembled', () => {
    const packet = encodePacket(message(300, 5n, 0x11), { padding: 'client' });
    const chunk = Buffer.alloc(100);
    const framer = new PacketFramer();
    const out: Buffer[] = [];
    for (let off = 0; off < packet.length; off += 100) {
      chunk.fill(0xee);
      const n = packet.copy(chunk, 0, off, off + 100);
      framer.push(chunk.subarray(0, n), (p) => out.push(Buffer.from(p)));
    }
    expect(out.map((p) => p.toString('hex'))).toEqual([packet.toString('hex')]);
  });

  test('strict: a bad magic that arrives after the length is reported at the packet\'s stream offset', () => {
    const good = encodePacket(message(8), { padding: 'client' });
    const bad = encodePacket(message(100), { padding: 'client' });
    bad.writeUInt32LE(0xdeadbeef, 4);
    const stream = Buffer.concat([good, bad]);
    const framer = new PacketFramer({ strict: true });
    // First read ends 6 bytes into the bad packet: its length is known, its magic is not.
    framer.push(stream.subarray(0, good.length + 6), () => {});
    expect(framer.pendingBytes).toBe(6);
    let error: unknown;
    try {
      framer.push(stream.subarray(good.length + 6), () => { throw new Error('bad packet delivered'); });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CtdbFramingError);
    expect((error as CtdbFramingError).field).toBe('ctdb_magic');
    expect((error as CtdbFramingError).streamOffset).toBe(good.length);
    expect(() => framer.push(good, () => {})).toThrow(CtdbFramingError);
  });
});

describe('u64 fields: repeated values reuse the last conversion', () => {
  test('alternating SRVIDs decode and encode to the right values', () => {
    const ids = [0xfe00000000000001n, 0n, 0xffffffffffffffffn, 0xfe00000000000001n, 0x100000000n, 0xffffffffn, 0n];
    for (const srvid of ids) {
      const bytes = encodePacket(message(4, srvid), { padding: 'client' });
      expect(bytes.readBigUInt64LE(32)).toBe(srvid);
      expect((decodePacket(bytes) as { srvid: bigint }).srvid).toBe(srvid);
    }
    // A number is accepted for a u64 and must not be confused with the bigint cached before it.
    const asNumber = encodePacket({ ...message(4), srvid: 7 as unknown as bigint }, { padding: 'client' });
    expect(asNumber.readBigUInt64LE(32)).toBe(7n);
  });

  test('an invalid value is rejected even right after a valid one', () => {
    encodePacket(message(4, 5n));
    expect(() => encodePacket({ ...message(4), srvid: -1n })).toThrow(/srvid/);
    expect(() => encodePacket({ ...message(4), srvid: undefined as unknown as bigint })).toThrow(/srvid/);
    expect(() => encodePacket({ ...message(4), srvid: 2n ** 64n })).toThrow(/srvid/);
  });
});
