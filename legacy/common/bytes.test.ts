import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { putU16BE, putU32BE, putU32LE } from './bytes.ts';

describe('byte stores', () => {
  it('match Buffer.write* for every u32 / u16', () => {
    fc.assert(fc.property(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffff }), (u32, u16) => {
      const ours = Buffer.alloc(10);
      putU32BE(ours, 0, u32);
      putU32LE(ours, 4, u32);
      putU16BE(ours, 8, u16);
      const ref = Buffer.alloc(10);
      ref.writeUInt32BE(u32, 0);
      ref.writeUInt32LE(u32, 4);
      ref.writeUInt16BE(u16, 8);
      expect(ours).toEqual(ref);
    }));
  });

  it('write at an offset without touching neighbours', () => {
    const b = Buffer.alloc(8, 0xee);
    putU32BE(b, 2, 0x01020304);
    expect(b.toString('hex')).toBe('eeee01020304eeee');
  });
});
