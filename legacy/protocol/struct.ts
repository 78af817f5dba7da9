import { Parser } from 'binary-parser';
import { CtdbDecodeError, CtdbEncodeError } from './errors.ts';

/**
 * One declarative definition per wire structure drives both directions:
 * decoding compiles it to a binary-parser Parser (fast path), encoding walks
 * it with explicit little-endian writes. A slow field-by-field walk over the
 * same definition explains failures (field name and offset).
 *
 * All integers are little endian (x86_64 host order, wire.md conventions).
 */

/** A fixed-size leaf codec for things binary-parser cannot express (sockaddr, names). */
export interface FixedCodec<T> {
  readonly size: number;
  decode(buf: Buffer): T;
  encode(value: T, out: Buffer, offset: number): void;
}

export type FieldSpec =
  | { kind: 'u8' | 'u16' | 'u32' | 'i32' | 'u64' | 'f64' | 'bool'; name: string }
  | { kind: 'pad'; size: number }
  /** u32 holding the byte length (bytes/string) or element count (array) of field `of`. */
  | { kind: 'length'; of: string; extra?: number }
  | { kind: 'bytes'; name: string; length: number | string }
  /** Counted string: the length field counts the bytes including the NUL. */
  | { kind: 'stringn'; name: string; length: string }
  /** Everything to the end of the buffer. */
  | { kind: 'rest'; name: string }
  | { kind: 'struct'; name: string; def: StructDef<any> }
  | { kind: 'array'; name: string; def: StructDef<any>; count: string }
  | { kind: 'fixed'; name: string; codec: FixedCodec<any> };

const PRIMITIVE_SIZE = { u8: 1, bool: 1, u16: 2, u32: 4, i32: 4, u64: 8, f64: 8 } as const;

export class StructDef<T> {
  readonly fixedSize: number | undefined;
  private parser: Parser | undefined;
  /** Length fields are not part of the decoded value; they are derived when encoding. */
  private readonly lengthFor = new Map<string, { index: number; extra: number }>();

  constructor(readonly name: string, readonly fields: readonly FieldSpec[]) {
    let size = 0;
    let fixed = true;
    fields.forEach((f, index) => {
      if (f.kind === 'length') this.lengthFor.set(f.of, { index, extra: f.extra ?? 0 });
      const s = fieldFixedSize(f);
      if (s === undefined) fixed = false;
      else size += s;
    });
    this.fixedSize = fixed ? size : undefined;
  }

  /** Decode `buf` from offset 0; returns the value and the bytes consumed. */
  decodeWithSize(buf: Buffer): { value: T; size: number } {
    let raw: Record<string, unknown>;
    try {
      raw = this.compiled().parse(buf) as Record<string, unknown>;
    } catch {
      this.explain(buf);
      throw new CtdbDecodeError(this.name, '(unknown)', 0, 'malformed input');
    }
    const end = raw.$end as number;
    if (end > buf.length) {
      this.explain(buf);
      throw new CtdbDecodeError(this.name, '(end)', end, `needs ${end} bytes, have ${buf.length}`);
    }
    return { value: this.finish(raw) as unknown as T, size: end };
  }

  decode(buf: Buffer): T {
    return this.decodeWithSize(buf).value;
  }

  encodedSize(value: T): number {
    return this.sizeOf(value as Record<string, unknown>);
  }

  encode(value: T): Buffer {
    const v = value as Record<string, unknown>;
    const out = Buffer.alloc(this.sizeOf(v));
    this.writeFields(v, out, 0);
    return out;
  }

  /** Write `value` into `out` at `offset`; returns the offset after it. */
  write(value: T, out: Buffer, offset: number): number {
    return this.writeFields(value as Record<string, unknown>, out, offset);
  }

  private compiled(): Parser {
    if (!this.parser) this.parser = this.buildParser(true);
    return this.parser;
  }

  private buildParser(top: boolean): Parser {
    let p = new Parser().endianness('little');
    const lengthName = (of: string) => `$len_${of}`;
    for (const f of this.fields) {
      switch (f.kind) {
        case 'u8': p = p.uint8(f.name); break;
        case 'bool': p = p.uint8(f.name); break;
        case 'u16': p = p.uint16(f.name); break;
        case 'u32': p = p.uint32(f.name); break;
        case 'i32': p = p.int32(f.name); break;
        case 'u64': p = p.uint64(f.name); break;
        case 'f64': p = p.doublele(f.name); break;
        case 'pad': p = p.seek(f.size); break;
        case 'length': p = p.uint32(lengthName(f.of)); break;
        case 'bytes':
          p = p.buffer(f.name, { length: typeof f.length === 'number' ? f.length : lengthOrField(this, f.length) });
          break;
        case 'stringn': p = p.buffer(f.name, { length: lengthOrField(this, f.length) }); break;
        case 'rest': p = p.buffer(f.name, { readUntil: 'eof' }); break;
        case 'struct': p = p.nest(f.name, { type: f.def.buildParser(false) }); break;
        case 'array':
          p = p.array(f.name, { type: f.def.buildParser(false), length: lengthOrField(this, f.count) });
          break;
        case 'fixed': p = p.buffer(f.name, { length: f.codec.size }); break;
      }
    }
    if (top) p = p.saveOffset('$end');
    return p;
  }

  /** Converts binary-parser output into the public value shape. */
  private finish(raw: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const f of this.fields) {
      switch (f.kind) {
        case 'pad':
        case 'length':
          break;
        case 'bool': out[f.name] = raw[f.name] !== 0; break;
        case 'stringn': out[f.name] = cString(raw[f.name] as Buffer); break;
        case 'struct': out[f.name] = f.def.finish(raw[f.name] as Record<string, unknown>); break;
        case 'array':
          out[f.name] = (raw[f.name] as Record<string, unknown>[]).map((e) => f.def.finish(e));
          break;
        case 'fixed': out[f.name] = f.codec.decode(raw[f.name] as Buffer); break;
        default: out[f.name] = raw[f.name];
      }
    }
    return out;
  }

  /**
   * Slow walk used only after the fast path failed: finds the first field that
   * does not fit and throws a CtdbDecodeError naming it.
   */
  explain(buf: Buffer, base = 0, path = '', structure = this.name): number {
    let off = base;
    const lengths = new Map<string, number>();
    const need = (field: string, n: number) => {
      if (off + n > buf.length) {
        throw new CtdbDecodeError(structure, path + field, off,
          `needs ${n} bytes, only ${Math.max(0, buf.length - off)} left`);
      }
    };
    for (const f of this.fields) {
      switch (f.kind) {
        case 'pad': need('(pad)', f.size); off += f.size; break;
        case 'length': need(`${f.of}.length`, 4); lengths.set(f.of, buf.readUInt32LE(off)); off += 4; break;
        case 'bytes':
        case 'stringn': {
          const n = typeof (f as { length: unknown }).length === 'number'
            ? (f as { length: number }).length
            : lengths.get(f.name) ?? 0;
          need(f.name, n);
          off += n;
          break;
        }
        case 'rest': off = buf.length; break;
        case 'struct': off = f.def.explain(buf, off, `${path}${f.name}.`, structure); break;
        case 'array': {
          const count = lengths.get(f.name) ?? 0;
          for (let i = 0; i < count; i++) off = f.def.explain(buf, off, `${path}${f.name}[${i}].`, structure);
          break;
        }
        case 'fixed': need(f.name, f.codec.size); off += f.codec.size; break;
        default: {
          const n = PRIMITIVE_SIZE[f.kind];
          need(f.name, n);
          off += n;
        }
      }
    }
    return off;
  }

  private sizeOf(v: Record<string, unknown>): number {
    if (this.fixedSize !== undefined) return this.fixedSize;
    let size = 0;
    for (const f of this.fields) {
      const fixed = fieldFixedSize(f);
      if (fixed !== undefined) { size += fixed; continue; }
      switch (f.kind) {
        case 'bytes':
        case 'rest': size += (v[f.name] as Buffer | undefined)?.length ?? 0; break;
        case 'stringn': size += stringnLength(v[f.name] as string); break;
        case 'struct': size += f.def.sizeOf(v[f.name] as Record<string, unknown>); break;
        case 'array':
          for (const e of (v[f.name] as Record<string, unknown>[])) size += f.def.sizeOf(e);
          break;
      }
    }
    return size;
  }

  private writeFields(v: Record<string, unknown>, out: Buffer, offset: number): number {
    let off = offset;
    for (const f of this.fields) {
      switch (f.kind) {
        case 'u8': off = out.writeUInt8(num(this, f.name, v[f.name], 0xff), off); break;
        case 'bool': off = out.writeUInt8(v[f.name] ? 1 : 0, off); break;
        case 'u16': off = out.writeUInt16LE(num(this, f.name, v[f.name], 0xffff), off); break;
        case 'u32': off = out.writeUInt32LE(num(this, f.name, v[f.name], 0xffffffff), off); break;
        case 'i32': off = out.writeInt32LE(int32(this, f.name, v[f.name]), off); break;
        case 'u64': off = out.writeBigUInt64LE(u64(this, f.name, v[f.name]), off); break;
        case 'f64': off = out.writeDoubleLE(Number(v[f.name] ?? 0), off); break;
        case 'pad': out.fill(0, off, off + f.size); off += f.size; break;
        case 'length': off = out.writeUInt32LE(this.lengthValue(f.of, v) + (f.extra ?? 0), off); break;
        case 'bytes': {
          const b = (v[f.name] as Buffer | undefined) ?? Buffer.alloc(0);
          if (typeof f.length === 'number' && b.length !== f.length) {
            throw new CtdbEncodeError(this.name, f.name, `must be exactly ${f.length} bytes, got ${b.length}`);
          }
          off += b.copy(out, off);
          break;
        }
        case 'rest': off += ((v[f.name] as Buffer | undefined) ?? Buffer.alloc(0)).copy(out, off); break;
        case 'stringn': {
          const s = (v[f.name] as string | undefined) ?? '';
          if (s.length > 0) { off += out.write(s, off, 'utf8'); out[off++] = 0; }
          break;
        }
        case 'struct': off = f.def.writeFields(v[f.name] as Record<string, unknown>, out, off); break;
        case 'array':
          for (const e of (v[f.name] as Record<string, unknown>[])) off = f.def.writeFields(e, out, off);
          break;
        case 'fixed': f.codec.encode(v[f.name], out, off); off += f.codec.size; break;
      }
    }
    return off;
  }

  private lengthValue(of: string, v: Record<string, unknown>): number {
    const target = this.fields.find((f) => 'name' in f && f.name === of);
    const value = v[of];
    if (target?.kind === 'array') return (value as unknown[]).length;
    if (target?.kind === 'stringn') return stringnLength(value as string);
    return (value as Buffer | undefined)?.length ?? 0;
  }
}

function fieldFixedSize(f: FieldSpec): number | undefined {
  switch (f.kind) {
    case 'pad': return f.size;
    case 'length': return 4;
    case 'bytes': return typeof f.length === 'number' ? f.length : undefined;
    case 'fixed': return f.codec.size;
    case 'struct': return f.def.fixedSize;
    case 'stringn':
    case 'rest':
    case 'array': return undefined;
    default: return PRIMITIVE_SIZE[f.kind];
  }
}

/** binary-parser refers to earlier fields by name; length fields are stored as $len_<field>. */
function lengthOrField(def: StructDef<unknown>, ref: string): string {
  return def.fields.some((f) => f.kind === 'length' && f.of === ref) ? `$len_${ref}` : ref;
}

function stringnLength(s: string | undefined): number {
  return s ? Buffer.byteLength(s, 'utf8') + 1 : 0;
}

/** Bytes up to the first NUL (a missing NUL is accepted, wire.md §1 strings). */
export function cString(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.toString('utf8', 0, nul === -1 ? b.length : nul);
}

/** Bare string encoding: the bytes plus one NUL; empty string = no bytes. */
export function encodeCString(s: string): Buffer {
  if (s.length === 0) return Buffer.alloc(0);
  const b = Buffer.alloc(Buffer.byteLength(s, 'utf8') + 1);
  b.write(s, 0, 'utf8');
  return b;
}

function num(def: StructDef<unknown>, field: string, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new CtdbEncodeError(def.name, field, `expected an integer 0..${max}, got ${String(v)}`);
  }
  return v;
}

function int32(def: StructDef<unknown>, field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) {
    throw new CtdbEncodeError(def.name, field, `expected a signed 32-bit integer, got ${String(v)}`);
  }
  return v;
}

function u64(def: StructDef<unknown>, field: string, v: unknown): bigint {
  const b = typeof v === 'number' ? BigInt(v) : v;
  if (typeof b !== 'bigint' || b < 0n || b > 0xffffffffffffffffn) {
    throw new CtdbEncodeError(def.name, field, `expected an unsigned 64-bit integer, got ${String(v)}`);
  }
  return b;
}

/** Field constructors, so definitions read like the tables in reference/. */
export const f = {
  u8: (name: string): FieldSpec => ({ kind: 'u8', name }),
  bool: (name: string): FieldSpec => ({ kind: 'bool', name }),
  u16: (name: string): FieldSpec => ({ kind: 'u16', name }),
  u32: (name: string): FieldSpec => ({ kind: 'u32', name }),
  i32: (name: string): FieldSpec => ({ kind: 'i32', name }),
  u64: (name: string): FieldSpec => ({ kind: 'u64', name }),
  f64: (name: string): FieldSpec => ({ kind: 'f64', name }),
  pad: (size: number): FieldSpec => ({ kind: 'pad', size }),
  lengthOf: (of: string): FieldSpec => ({ kind: 'length', of }),
  bytes: (name: string, length: number | string): FieldSpec => ({ kind: 'bytes', name, length }),
  stringn: (name: string): FieldSpec => ({ kind: 'stringn', name, length: name }),
  rest: (name: string): FieldSpec => ({ kind: 'rest', name }),
  struct: (name: string, def: StructDef<any>): FieldSpec => ({ kind: 'struct', name, def }),
  array: (name: string, def: StructDef<any>): FieldSpec => ({ kind: 'array', name, def, count: name }),
  fixed: (name: string, codec: FixedCodec<any>): FieldSpec => ({ kind: 'fixed', name, codec }),
};

export function struct<T>(name: string, fields: FieldSpec[]): StructDef<T> {
  return new StructDef<T>(name, fields);
}
