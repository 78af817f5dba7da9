import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  TUNNEL_DATA_OFFSET, decodePacket, encodePacket, packetExactSize, packetMinLength, writeTunnelFrameHeader, type Packet, type PaddingMode,
} from './packets.ts';
import { Node, Operation } from './constants.ts';
import { PacketFramer } from './framing.ts';
import { CtdbDecodeError, CtdbEncodeError, CtdbFramingError } from './errors.ts';
import { packetArbitrary } from './testing/arbitraries.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('packets', () => {
  test('GET_PNN request from the ctdb CLI: golden bytes (64 bytes, srcnode unknown)', () => {
    const p: Packet = {
      operation: Operation.REQ_CONTROL, generation: 0, destnode: Node.CURRENT, srcnode: 0xffffffff,
      reqid: 2147483448, opcode: 35, srvid: 0n, clientId: 0, flags: 0, data: Buffer.alloc(0),
    };
    const bytes = encodePacket(p, { padding: 'client' });
    expect(bytes.toString('hex')).toBe(
      '40000000' + '42445443' + '01000000' + '00000000' + '07000000' + '010000f0' + 'ffffffff' + '38ffff7f'
      + '23000000' + '00000000' + '0000000000000000' + '00000000' + '00000000' + '00000000' + '00000000');
    expect(decodePacket(bytes)).toEqual({ ...p, length: 64 });
  });

  test('empty REPLY_CONTROL is 48 bytes and empty REQ_TUNNEL is 56 (C struct minimum)', () => {
    const reply = encodePacket({ operation: Operation.REPLY_CONTROL, generation: 1, destnode: 0, srcnode: 0, reqid: 5,
      status: 0, data: Buffer.alloc(0), errorMessage: Buffer.alloc(0) });
    expect(reply.length).toBe(48);
    const tunnel = encodePacket({ operation: Operation.REQ_TUNNEL, generation: 1, destnode: 1, srcnode: 0, reqid: 0,
      tunnelId: 7n, flags: 1, data: Buffer.alloc(0) });
    expect(tunnel.length).toBe(56);
    expect(encodePacket({ operation: Operation.REQ_TUNNEL, generation: 1, destnode: 1, srcnode: 0, reqid: 0,
      tunnelId: 7n, flags: 1, data: Buffer.alloc(0) }, { padding: 'none' }).length).toBe(48);
  });

  test('REQ_DMASTER carries the trailing record flags word', () => {
    const p: Packet = { operation: Operation.REQ_DMASTER, generation: 9, destnode: 1, srcnode: 0, reqid: 3,
      dbId: 0x37eb41c7, rsn: 5n, dmaster: 2, key: Buffer.from('k'), data: Buffer.from('vv'), recordFlags: 0x10000 };
    const b = encodePacket(p);
    expect(b.length).toBe(72);
    expect(b.readUInt32LE(63)).toBe(0x10000);
    expect(decodePacket(b)).toEqual({ ...p, length: 72 });
  });

  test('a too-long keylen is a typed error naming the field and offset', () => {
    const b = encodePacket({ operation: Operation.REQ_MESSAGE, generation: 0, destnode: 0, srcnode: 0, reqid: 0,
      srvid: 1n, data: Buffer.from('hello') });
    b.writeUInt32LE(1000, 40);
    expect(() => decodePacket(b)).toThrow(CtdbDecodeError);
    try { decodePacket(b); } catch (e) {
      expect((e as CtdbDecodeError).field).toBe('data');
      expect((e as CtdbDecodeError).offset).toBe(44);
    }
  });

  test('framer: split at every offset gives the same packets; strict rejects unrounded', () => {
    const a = encodePacket({ operation: Operation.REQ_MESSAGE, generation: 0, destnode: 0, srcnode: 0, reqid: 0, srvid: 1n, data: Buffer.from('x'.repeat(50)) });
    const b = encodePacket({ operation: Operation.REQ_CONTROL, generation: 0, destnode: 0, srcnode: 0, reqid: 1, opcode: 3, srvid: 0n, clientId: 0, flags: 0, data: Buffer.alloc(0) }, { padding: 'none' });
    const stream = Buffer.concat([a, b, a]);
    for (let i = 0; i <= stream.length; i++) {
      const fr = new PacketFramer();
      const out: Buffer[] = [];
      fr.push(stream.subarray(0, i), (p) => out.push(Buffer.from(p)));
      fr.push(stream.subarray(i), (p) => out.push(Buffer.from(p)));
      expect(out.map((x) => x.toString('hex'))).toEqual([a, b, a].map((x) => x.toString('hex')));
    }
    const strict = new PacketFramer({ strict: true });
    expect(() => strict.push(b, () => {})).toThrow(CtdbFramingError);
  });
});

describe('golden packets (wire.md §3)', () => {
  const base = { generation: 0x7343b374, destnode: 0, srcnode: 1, reqid: 2147483450 };

  test('REPLY_CONTROL with ctdbd error text: errorlen = strlen (no NUL), padded to 80', () => {
    const text = 'ctdb_control to disconnected node';
    const b = encodePacket({ operation: Operation.REPLY_CONTROL, ...base, status: -1, data: Buffer.alloc(0), errorMessage: Buffer.from(text) });
    expect(b.length).toBe(80);
    expect(b.subarray(32, 44).toString('hex')).toBe('ffffffff' + '00000000' + '21000000');
    expect(b.toString('latin1', 44, 77)).toBe(text);
    expect(b.subarray(77).toString('hex')).toBe('000000');
    const p = decodePacket(b) as Extract<Packet, { operation: 8 }>;
    expect(p.status).toBe(-1);
    expect(p.errorMessage.toString()).toBe(text);
  });

  test('REQ_KEEPALIVE: 40 bytes with version 0x00040011 and uptime', () => {
    const p: Packet = { operation: Operation.REQ_KEEPALIVE, generation: 5, destnode: 1, srcnode: 0, reqid: 0, version: 0x00040011, uptime: 93 };
    const b = encodePacket(p);
    expect(b.toString('hex')).toBe('28000000' + '42445443' + '01000000' + '05000000' + '09000000' + '01000000' + '00000000' + '00000000'
      + '11000400' + '5d000000');
    expect(decodePacket(b)).toEqual({ ...p, length: 40 });
  });

  test('old header-only keepalive: 32 bytes, no version or uptime', () => {
    const p: Packet = { operation: Operation.REQ_KEEPALIVE, generation: 5, destnode: 1, srcnode: 0, reqid: 0 };
    const b = encodePacket(p);
    expect(b.length).toBe(32);
    expect(b.readUInt32LE(0)).toBe(32);
    const back = decodePacket(b);
    expect(back).toEqual({ ...p, length: 32 });
    expect('version' in back).toBe(false);
  });

  test('REPLY_DMASTER: golden bytes with the record flags word after key and data', () => {
    const p: Packet = { operation: Operation.REPLY_DMASTER, generation: 9, destnode: 1, srcnode: 0, reqid: 7,
      dbId: 0x37eb41c7, rsn: 5n, key: Buffer.from('key1'), data: Buffer.from('v'), recordFlags: 0x10000 };
    const b = encodePacket(p);
    expect(b.length).toBe(72); // 56 + 4 + 1 + 4 = 65 -> 72
    expect(b.subarray(32).toString('hex')).toBe('c741eb37' + '00000000' + '0500000000000000' + '04000000' + '01000000'
      + '6b657931' + '76' + '00000100' + '00000000000000');
    expect(decodePacket(b)).toEqual({ ...p, length: 72 });
  });

  test('DMASTER without room for the trailer reads record flags as 0', () => {
    const p: Packet = { operation: Operation.REQ_DMASTER, generation: 9, destnode: 1, srcnode: 0, reqid: 7,
      dbId: 1, rsn: 5n, dmaster: 2, key: Buffer.from('abcd'), data: Buffer.alloc(0), recordFlags: 0x10000 };
    const b = encodePacket(p, { padding: 'none' }).subarray(0, 64);
    b.writeUInt32LE(64, 0);
    expect((decodePacket(b) as Extract<Packet, { operation: 2 }>).recordFlags).toBe(0);
  });

  test('smbd-style unpadded REQ_CONTROL (60 bytes) decodes; a daemon pads it to 64', () => {
    const p: Packet = { operation: Operation.REQ_CONTROL, generation: 0, destnode: Node.CURRENT, srcnode: 0, reqid: 1,
      opcode: 35, srvid: 0n, clientId: 0, flags: 0, data: Buffer.alloc(0) };
    expect(encodePacket(p, { padding: 'none' }).length).toBe(60);
    expect(decodePacket(encodePacket(p, { padding: 'none' }))).toEqual({ ...p, length: 60 });
    expect(encodePacket(p, { padding: 'daemon' }).length).toBe(64);
  });

  test('header errors name the field: magic, version, length, operation', () => {
    const good = encodePacket({ operation: Operation.REQ_MESSAGE, generation: 0, destnode: 0, srcnode: 0, reqid: 0, srvid: 1n, data: Buffer.alloc(0) });
    const bad = (at: number, v: number) => { const b = Buffer.from(good); b.writeUInt32LE(v, at); return b; };
    expect(() => decodePacket(bad(4, 0x12345678))).toThrow(/ctdb_magic at offset 4/);
    expect(() => decodePacket(bad(8, 2))).toThrow(/ctdb_version at offset 8/);
    expect(() => decodePacket(bad(0, 40))).toThrow(/field length at offset 0/);
    expect(() => decodePacket(bad(16, 6))).toThrow(/operation at offset 16: unknown operation 6/);
    expect(() => decodePacket(good.subarray(0, 20))).toThrow(CtdbDecodeError);
  });

  test('encoding rejects out-of-range header values with a typed error', () => {
    expect(() => encodePacket({ operation: Operation.REQ_MESSAGE, generation: -1, destnode: 0, srcnode: 0, reqid: 0, srvid: 1n, data: Buffer.alloc(0) }))
      .toThrow(CtdbEncodeError);
    expect(() => encodePacket({ operation: Operation.REQ_MESSAGE, generation: 0, destnode: 0, srcnode: 0, reqid: 0, srvid: -1n, data: Buffer.alloc(0) }))
      .toThrow(CtdbEncodeError);
  });
});

describe('packet properties', () => {
  test('encode -> decode identity for every operation and padding mode; lengths follow the rounding rule', () => {
    fc.assert(fc.property(packetArbitrary, fc.constantFrom<PaddingMode>('daemon', 'client', 'none'), (p, padding) => {
      const b = encodePacket(p, { padding });
      const exact = packetExactSize(p);
      if (padding === 'none' || b.length === 32) expect(b.length).toBe(exact);
      else expect(b.length % 8).toBe(0);
      if (padding === 'daemon' && b.length > 32) expect(b.length).toBeGreaterThanOrEqual(packetMinLength(p.operation)!);
      expect(decodePacket(b)).toEqual({ ...p, length: b.length });
    }), { numRuns: 600 });
  });

  test('random and mutated packets decode or throw CtdbDecodeError, nothing else', () => {
    const mutated = fc.tuple(packetArbitrary, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }))
      .map(([p, edits]) => {
        const b = Buffer.from(encodePacket(p));
        for (const [pos, v] of edits) if (pos % b.length >= 12) b[pos % b.length] = v; // keep magic/version mostly valid
        return b;
      });
    fc.assert(fc.property(fc.oneof(mutated, fc.uint8Array({ maxLength: 200 }).map((x) => Buffer.from(x))), (b) => {
      try { decodePacket(b); } catch (e) { if (!(e instanceof CtdbDecodeError)) throw e; }
    }), { numRuns: 3000 });
  });

  test('one packet of every operation, concatenated, frames identically when split at every offset (both modes)', () => {
    const samples = fc.sample(packetArbitrary, { numRuns: 300, seed: 42 });
    const byOp = new Map<string, Packet>();
    for (const p of samples) {
      const key = p.operation === Operation.REQ_KEEPALIVE && !('version' in p) ? 'header-only keepalive' : String(p.operation);
      if (!byOp.has(key)) byOp.set(key, p);
    }
    const packets = [...byOp.values()].map((p) => encodePacket(p, { padding: 'client' }));
    expect(packets.length).toBe(11); // 10 operations + the header-only keepalive
    const stream = Buffer.concat(packets);
    const expected = packets.map((x) => x.toString('hex'));
    for (const strict of [false, true]) {
      for (let i = 0; i <= stream.length; i++) {
        const fr = new PacketFramer({ strict });
        const out: string[] = [];
        fr.push(stream.subarray(0, i), (p) => out.push(p.toString('hex')));
        fr.push(stream.subarray(i), (p) => out.push(p.toString('hex')));
        expect(out).toEqual(expected);
        expect(fr.pendingBytes).toBe(0);
      }
    }
  });

  test('random packet sequences survive random chunking (lenient framer with unpadded packets)', () => {
    fc.assert(fc.property(fc.array(packetArbitrary, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 6 }), (ps, cuts) => {
      const packets = ps.map((p) => encodePacket(p, { padding: 'none' }));
      const stream = Buffer.concat(packets);
      const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
      const fr = new PacketFramer();
      const out: Packet[] = [];
      let last = 0;
      for (const at of [...points, stream.length]) {
        fr.push(stream.subarray(last, at), (b) => out.push(decodePacket(b)));
        last = at;
      }
      expect(out).toEqual(ps.map((p, i) => ({ ...p, length: packets[i].length })));
    }), { numRuns: 300 });
  });
});

describe('REQ_TUNNEL written in place', () => {
  test('the same bytes as the encoder with padding none, for any fields and data', () => {
    fc.assert(fc.property(
      fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }),
      fc.bigUint64Array({ minLength: 1, maxLength: 1 }), fc.nat({ max: 0xffffffff }), fc.uint8Array({ maxLength: 100 }),
      (destnode, srcnode, [tunnelId], flags, data) => {
        const frame = Buffer.alloc(TUNNEL_DATA_OFFSET + data.length, 0xaa);
        frame.set(data, TUNNEL_DATA_OFFSET);
        writeTunnelFrameHeader(frame, destnode, srcnode, Number(tunnelId & 0xffffffffn), Number(tunnelId >> 32n), flags);
        const expected = encodePacket({
          operation: Operation.REQ_TUNNEL, generation: 0, destnode, srcnode, reqid: 0, tunnelId, flags, data: Buffer.from(data),
        }, { padding: 'none' });
        expect(frame).toEqual(expected);
      },
    ));
  });

  test('a frame without room for the header is refused', () => {
    expect(() => writeTunnelFrameHeader(Buffer.alloc(TUNNEL_DATA_OFFSET - 1), 1, 0, 0, 0, 0)).toThrow(CtdbEncodeError);
  });
});
