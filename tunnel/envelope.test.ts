import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { decodeEnvelope, encodeEnvelope, EnvelopeError, EnvelopeKind, type EnvelopeKindCode } from './envelope.ts';
import { bridgeTunnelId, isBridgeTunnelId } from './tunnel-ids.ts';

describe('tunnel envelope', () => {
  test('golden bytes: network byte order, 16-byte header', () => {
    const b = encodeEnvelope({ kind: EnvelopeKind.REQUEST, srcPnn: 1, dstPnn: 2, requestId: 0x01020304, payload: Buffer.from('hi') });
    expect(b.toString('hex')).toBe('5442' + '01' + '01' + '00000001' + '00000002' + '01020304' + '6869');
  });

  test('round trip for any envelope', () => {
    fc.assert(fc.property(
      fc.constantFrom<EnvelopeKindCode>(1, 2, 3, 4, 5), fc.nat(0xffffffff), fc.nat(0xffffffff), fc.nat(0xffffffff),
      fc.uint8Array({ maxLength: 200 }),
      (kind, srcPnn, dstPnn, requestId, payload) => {
        const e = { kind, srcPnn, dstPnn, requestId, payload: Buffer.from(payload) };
        expect(decodeEnvelope(encodeEnvelope(e))).toEqual(e);
      }));
  });

  test('garbage is a typed error naming the field', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
      try {
        decodeEnvelope(Buffer.from(bytes));
      } catch (err) {
        expect(err).toBeInstanceOf(EnvelopeError);
      }
    }));
    expect(() => decodeEnvelope(Buffer.from('5442020100000000000000000000000000', 'hex'))).toThrow(/version/);
    expect(() => decodeEnvelope(Buffer.from('5442010900000000000000000000000000', 'hex'))).toThrow(/kind/);
  });

  test('bridge tunnel ids come from one range', () => {
    expect(bridgeTunnelId(1)).toBe(0xcb1d000000000001n);
    expect(isBridgeTunnelId(bridgeTunnelId(0x100))).toBe(true);
    expect(isBridgeTunnelId(0xffffffff00000001n)).toBe(false);
    expect(() => bridgeTunnelId(-1)).toThrow(RangeError);
  });
});
