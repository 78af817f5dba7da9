import { describe, expect, test } from 'vitest';
import { CTDB_MAGIC } from './constants.ts';
import { CtdbDecodeError, CtdbEncodeError } from './errors.ts';
import { f, struct } from './struct.ts';

describe('struct DSL', () => {
  const inner = struct<{ a: number; b: Buffer }>('inner', [f.u16('a'), f.lengthOf('b'), f.bytes('b', 'b')]);
  const outer = struct<{ id: bigint; items: Array<{ a: number; b: Buffer }>; tail: number[] }>('outer', [
    f.u64('id'), f.lengthOf('items'), f.array('items', inner), f.values('tail', 'i32', 2),
  ]);

  test('one definition: encode, decode, sizes, fixed size detection', () => {
    const v = { id: 0x0102030405060708n, items: [{ a: 1, b: Buffer.from('xy') }, { a: 0xffff, b: Buffer.alloc(0) }], tail: [-1, 7] };
    const b = outer.encode(v);
    expect(b.toString('hex')).toBe('0807060504030201' + '02000000' + '0100' + '02000000' + '7879' + 'ffff' + '00000000'
      + 'ffffffff' + '07000000');
    expect(outer.encodedSize(v)).toBe(b.length);
    expect(outer.decodeExact(b)).toEqual(v);
    expect(outer.decodeReference(b)).toEqual({ value: v, size: b.length });
    expect(outer.fixedSize).toBeUndefined();
    expect(struct('fixed', [f.u32('x'), f.pad(4), f.values('v', 'u16', 3)]).fixedSize).toBe(14);
  });

  test('errors name the nested field path and the absolute offset', () => {
    const b = outer.encode({ id: 1n, items: [{ a: 1, b: Buffer.from('xy') }, { a: 2, b: Buffer.from('z') }], tail: [0, 0] });
    b.writeUInt32LE(50, 8 + 4 + 8 + 2);
    try {
      outer.decode(b);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CtdbDecodeError);
      const err = e as CtdbDecodeError;
      expect([err.structure, err.field, err.offset]).toEqual(['outer', 'items[1].b', 8 + 4 + 8 + 6]);
      expect(err.message).toBe('outer: field items[1].b at offset 26: needs 50 bytes, only 9 left');
    }
  });

  test('decodeAt reports offsets relative to the whole buffer', () => {
    const d = struct<{ x: number }>('d', [f.u32('x')]);
    const buf = Buffer.from('ffff01000000', 'hex');
    expect(d.decodeAt(buf, 2)).toEqual({ value: { x: 1 }, size: 4 });
    expect(() => d.decodeAt(buf, 4)).toThrow(/field x at offset 4/);
  });

  test('const fields are checked, written and not part of the value', () => {
    const d = struct<{ v: number }>('c', [f.constU32('magic', CTDB_MAGIC), f.u32('v')]);
    const b = d.encode({ v: 3 });
    expect(b.toString('hex')).toBe('4244544303000000');
    expect(d.decode(b)).toEqual({ v: 3 });
    b[0] = 0;
    expect(() => d.decode(b)).toThrow(/field magic at offset 0: expected 0x43544442, got 0x43544400/);
  });

  test('self length: written on encode, checked on decode', () => {
    const d = struct<{ k: Buffer }>('rec', [f.selfLength(), f.lengthOf('k'), f.bytes('k', 'k')]);
    const b = d.encode({ k: Buffer.from('abc') });
    expect(b.readUInt32LE(0)).toBe(11);
    b.writeUInt32LE(12, 0);
    expect(() => d.decodeExact(Buffer.concat([b, Buffer.alloc(1)]))).toThrow(/record length 12 does not match/);
  });

  test('strings: counted, bare (missing NUL accepted), fixed, text', () => {
    const d = struct<{ n: string; fixed: string; bare: string }>('s', [f.lengthOf('n'), f.stringn('n'), f.fixedString('fixed', 4), f.cstring('bare')]);
    const b = d.encode({ n: 'é', fixed: 'ab', bare: 'end' });
    expect(b.toString('hex')).toBe('03000000' + 'c3a900' + '61620000' + '656e6400');
    expect(d.decodeExact(b)).toEqual({ n: 'é', fixed: 'ab', bare: 'end' });
    expect(d.decodeExact(b.subarray(0, b.length - 1))).toEqual({ n: 'é', fixed: 'ab', bare: 'end' });
    expect(() => d.encode({ n: 'a\0b', fixed: '', bare: '' })).toThrow(/NUL/);
    expect(() => d.encode({ n: '', fixed: 'abcd', bare: '' })).toThrow(CtdbEncodeError);
    expect(struct<{ t: string }>('t', [f.text('t')]).encode({ t: 'hi' }).toString('hex')).toBe('6869');
  });

  test('value maps transform both directions', () => {
    const d = struct<{ csv: string[] }>('m', [f.lengthOf('s'), f.stringn('s')], {
      decode: (raw: { s: string }) => ({ csv: raw.s.split(',') }),
      encode: (v: { csv: string[] }) => ({ s: v.csv.join(',') }),
    });
    const b = d.encode({ csv: ['a', 'b'] });
    expect(b.toString('latin1', 4)).toBe('a,b\0');
    expect(d.decodeExact(b)).toEqual({ csv: ['a', 'b'] });
    const outerMapped = struct<{ m: { csv: string[] } }>('om', [f.u8('x'), f.struct('m', d)]);
    expect(outerMapped.decodeExact(Buffer.concat([Buffer.from([7]), b]))).toEqual({ x: 7, m: { csv: ['a', 'b'] } });
  });

  test('encoding validates types and ranges with typed errors', () => {
    const d = struct<Record<string, unknown>>('v', [f.u8('a'), f.u16('b'), f.u32('c'), f.i32('d'), f.u64('e'), f.i64('g'), f.bytes('h', 2)]);
    const ok = { a: 1, b: 2, c: 3, d: -4, e: 5n, g: -6, h: Buffer.alloc(2) };
    expect(d.decodeExact(d.encode(ok))).toEqual(ok);
    for (const [k, bad] of [['a', 256], ['b', -1], ['c', 2 ** 32], ['c', 1.5], ['c', '3'], ['d', 2 ** 31], ['e', -1n],
      ['g', 2 ** 60], ['h', Buffer.alloc(3)]] as const) {
      expect(() => d.encode({ ...ok, [k]: bad }), `${k}=${String(bad)}`).toThrow(CtdbEncodeError);
    }
    expect(() => d.encode(null as never)).toThrow(CtdbEncodeError);
    expect(() => outer.encode({ id: 1n, items: 'nope' as never, tail: [0, 0] })).toThrow(/expected an array/);
    expect(() => outer.encode({ id: 1n, items: [], tail: [0] })).toThrow(/exactly 2 elements/);
  });

  test('i64 keeps full precision up to 2^53 and negative values', () => {
    const d = struct<{ t: number }>('i64', [f.i64('t')]);
    for (const t of [0, -1, 2 ** 53 - 1, -(2 ** 53 - 1), 1700000000]) expect(d.decodeExact(d.encode({ t }))).toEqual({ t });
    expect(d.encode({ t: -1 }).toString('hex')).toBe('ffffffffffffffff');
  });

  test('huge counts are rejected before any allocation', () => {
    const b = Buffer.alloc(12);
    b.writeUInt32LE(0xffffffff, 8);
    expect(() => outer.decode(b)).toThrow(/4294967295 elements of at least 6 bytes do not fit/);
  });

  test('pad ranges cover pad fields at their positions, also inside arrays', () => {
    const e = struct<{ x: number }>('e', [f.u8('x'), f.pad(3)]);
    const l = struct<{ es: Array<{ x: number }> }>('l', [f.lengthOf('es'), f.array('es', e)]);
    expect(l.padRanges({ es: [{ x: 1 }, { x: 2 }] })).toEqual([[5, 8], [9, 12]]);
  });
});
