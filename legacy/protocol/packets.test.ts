import { describe, expect, test } from 'vitest';
import { decodePacket, encodePacket, type Packet } from './packets.ts';
import { Node, Operation } from './constants.ts';
import { PacketFramer } from './framing.ts';
import { CtdbDecodeError, CtdbFramingError } from './errors.ts';

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
