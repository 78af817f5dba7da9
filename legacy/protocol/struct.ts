import { createRequire } from 'node:module';
import type { Parser } from 'binary-parser';
import { CtdbDecodeError, CtdbEncodeError } from './errors.ts';

/**
 * One declarative definition per wire structure drives every direction:
 *
 * - decoding: the definition is compiled (once, lazily) into a specialised
 *   JavaScript function that reads the fields with direct byte arithmetic
 *   and checks every bound itself, so a failure names the exact field path
 *   and byte offset. This is the fast path (no DataView per call, no
 *   intermediate object).
 * - encoding: compiled the same way into a size function and a writer with
 *   explicit little-endian writes and value validation.
 * - a binary-parser Parser built from the same definition is kept as an
 *   independent reference decoder (`decodeReference`); tests check that both
 *   decoders agree.
 * - `padRanges` lists the padding bytes of an encoded value, so round-trip
 *   checks can ignore garbage padding (wire.md §8).
 *
 * All integers are little endian (x86_64 host order, wire.md conventions).
 */

/** A fixed-size leaf codec for things the field kinds cannot express (sockaddr). */
export interface FixedCodec<T> {
  readonly size: number;
  /** Decode `size` bytes at `offset`; throw CtdbDecodeError with absolute offsets. */
  decode(buf: Buffer, offset: number): T;
  encode(value: T, out: Buffer, offset: number): void;
  /** Byte ranges (relative to the codec's start) that are padding for this value. */
  padRanges?(value: T): Array<[number, number]>;
}

export type PrimitiveKind = 'u8' | 'u16' | 'u32' | 'i32' | 'u64' | 'i64' | 'f64' | 'bool';
export type ValueKind = 'u8' | 'u16' | 'u32' | 'i32' | 'u64' | 'f64';

export type FieldSpec =
  /** u64 decodes to bigint; i64 decodes to a number (exact up to 2^53). */
  | { kind: PrimitiveKind; name: string }
  /** A u32 that must hold `value`; not part of the decoded value. */
  | { kind: 'const'; name: string; value: number }
  | { kind: 'pad'; size: number }
  /** u32 holding the byte length (bytes/string) or element count (array/values) of field `of`. */
  | { kind: 'length'; of: string; extra?: number }
  /** u32 = size of the enclosing structure including this field; checked on decode. */
  | { kind: 'selfLength' }
  /** u32 = size of the whole encoded buffer from the struct start (packet `length`). */
  | { kind: 'frameLength'; name: string }
  | { kind: 'bytes'; name: string; length: number | string }
  /** Counted string: the length field counts the bytes including the NUL. */
  | { kind: 'stringn'; name: string; length: string }
  /** Bare string to the end of the buffer: bytes + NUL (a missing NUL is accepted). */
  | { kind: 'cstring'; name: string }
  /** Text to the end of the buffer without NUL. */
  | { kind: 'text'; name: string }
  /** NUL-padded string in a fixed-size field. */
  | { kind: 'fixedString'; name: string; size: number }
  /** Everything to the end of the buffer. */
  | { kind: 'rest'; name: string }
  | { kind: 'struct'; name: string; def: StructDef<any> }
  | { kind: 'array'; name: string; def: StructDef<any>; count: string | number }
  /** Elements until the end of the buffer (no count). */
  | { kind: 'arrayToEnd'; name: string; def: StructDef<any> }
  /** Array of primitive values. */
  | { kind: 'values'; name: string; type: ValueKind; count: string | number }
  | { kind: 'fixed'; name: string; codec: FixedCodec<any> };

/** Optional value transform applied after decoding / before encoding (raw <-> value). */
export interface StructMap<T> {
  /** `start` is the absolute offset of the structure, for error offsets. */
  decode(raw: any, start: number): T;
  encode(value: T): any;
}

/**
 * binary-parser, loaded on first use: only the reference decoder (tests,
 * the dissector) needs it, and loading it costs a one-shot CLI ~15 ms.
 */
let ParserClass: typeof Parser | undefined;
function referenceParserClass(): typeof Parser {
  ParserClass ??= (createRequire(import.meta.url)('binary-parser') as typeof import('binary-parser')).Parser;
  return ParserClass;
}

const PRIMITIVE_SIZE: Record<PrimitiveKind | ValueKind, number> = {
  u8: 1, bool: 1, u16: 2, u32: 4, i32: 4, u64: 8, i64: 8, f64: 8,
};

type DecodeFn = (buf: Buffer, o: number, end: number, st: { o: number }) => any;
type EncodeFn = (v: any, out: Buffer, o: number) => number;
type SizeFn = (v: any) => number;

export class StructDef<T> {
  /** Encoded size when it does not depend on the value. */
  readonly fixedSize: number | undefined;
  /** Smallest possible encoded size (bounds array counts before looping). */
  readonly minSize: number;
  private dec: DecodeFn | undefined;
  private enc: EncodeFn | undefined;
  private sz: SizeFn | undefined;
  private parser: Parser | undefined;
  private readonly state = { o: 0 };

  constructor(readonly name: string, readonly fields: readonly FieldSpec[], readonly map?: StructMap<T>) {
    let size = 0;
    let min = 0;
    let fixed = true;
    for (const f of fields) {
      const s = fieldFixedSize(f);
      if (s === undefined) fixed = false;
      else size += s;
      min += fieldMinSize(f);
    }
    this.fixedSize = fixed ? size : undefined;
    this.minSize = min;
  }

  /** Decode from the start of `buf`; trailing bytes are left alone. */
  decode(buf: Buffer): T {
    return this.decodeAt(buf, 0, buf.length).value;
  }

  /** Decode from the start of `buf`; returns the value and the bytes consumed. */
  decodeWithSize(buf: Buffer): { value: T; size: number } {
    return this.decodeAt(buf, 0, buf.length);
  }

  /** Decode the whole of `buf`; trailing bytes are an error. */
  decodeExact(buf: Buffer): T {
    const { value, size } = this.decodeAt(buf, 0, buf.length);
    if (size !== buf.length) {
      throw new CtdbDecodeError(this.name, '(end)', size, `${buf.length - size} unexpected trailing bytes`);
    }
    return value;
  }

  /**
   * Decode at `offset` within `buf`, reading no further than `end`. Error
   * offsets are absolute positions in `buf`.
   */
  decodeAt(buf: Buffer, offset: number, end = buf.length): { value: T; size: number } {
    const fn = this.dec ?? this.compileDecoder();
    const st = this.state;
    let value: T;
    try {
      value = fn(buf, offset, end, st);
    } catch (err) {
      throw asDecodeError(err, this.name, '', offset);
    }
    return { value, size: st.o - offset };
  }

  encodedSize(value: T): number {
    if (this.fixedSize !== undefined && !this.map) return this.fixedSize;
    return (this.sz ?? this.compileSize())(this.map ? this.map.encode(value) : value);
  }

  encode(value: T): Buffer {
    const raw = this.map ? this.map.encode(value) : value;
    const size = this.fixedSize ?? (this.sz ?? this.compileSize())(raw);
    const out = Buffer.allocUnsafe(size);
    const end = (this.enc ?? this.compileEncoder())(raw, out, 0);
    if (end !== size) throw new CtdbEncodeError(this.name, '(size)', `wrote ${end} bytes, expected ${size}`);
    return out;
  }

  /** Write `value` into `out` at `offset` (out must be large enough); returns the offset after it. */
  write(value: T, out: Buffer, offset: number): number {
    return (this.enc ?? this.compileEncoder())(this.map ? this.map.encode(value) : value, out, offset);
  }

  /**
   * Padding byte ranges [start, end) of the encoding of `value` placed at
   * `base`: pad fields plus padding declared by fixed codecs.
   */
  padRanges(value: T, base = 0): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    this.collectPads(this.map ? this.map.encode(value) : value, base, out);
    return out;
  }

  /** The binary-parser reference decoder (slower; used to cross-check the fast path). */
  decodeReference(buf: Buffer): { value: T; size: number } {
    let raw: Record<string, unknown>;
    try {
      raw = this.referenceParser().parse(buf) as Record<string, unknown>;
    } catch (err) {
      throw asDecodeError(err, this.name, '', 0);
    }
    // binary-parser does not advance its offset over a buffer read to the end.
    const toEnd = this.fields.some((x) => x.kind === 'cstring' || x.kind === 'text' || x.kind === 'rest');
    const size = toEnd ? buf.length : raw.$end as number;
    if (size > buf.length) throw new CtdbDecodeError(this.name, '(end)', size, `needs ${size} bytes, have ${buf.length}`);
    return { value: this.finishReference(raw, 0), size };
  }

  // ---------------------------------------------------------------- decoder

  private compileDecoder(): DecodeFn {
    const S = JSON.stringify(this.name);
    const deps: unknown[] = [];
    const dep = (x: unknown) => { deps.push(x); return `D[${deps.length - 1}]`; };
    const lines: string[] = ['const start = o;'];
    const props: string[] = [];
    const lengthVar = new Map<string, string>();
    let selfVar: string | undefined;
    const need = (field: string, n: string) =>
      `if (${n} > end - o) R.short(${S}, ${JSON.stringify(field)}, o, ${n}, end);`;

    this.fields.forEach((fs, i) => {
      const v = `v${i}`;
      const name = 'name' in fs ? fs.name : '';
      const q = JSON.stringify(name);
      const refLen = (ref: string | number): string => {
        if (typeof ref === 'number') return String(ref);
        const lv = lengthVar.get(ref);
        if (lv) return lv;
        const idx = this.fields.findIndex((x) => 'name' in x && x.name === ref);
        if (idx < 0 || idx >= i) throw new Error(`${this.name}: length reference ${ref} must be an earlier field`);
        return `v${idx}`;
      };
      switch (fs.kind) {
        case 'u8': case 'u16': case 'u32': case 'i32': case 'u64': case 'i64': case 'f64': case 'bool':
          lines.push(need(name, String(PRIMITIVE_SIZE[fs.kind])));
          if (fs.kind === 'u64') {
            // SRVIDs and similar repeat from packet to packet: reuse the last bigint built at this field.
            const k = dep(newU64ReadMemo());
            lines.push(`const ${v}lo = ${readExpr('u32', 'o')}, ${v}hi = ${readExpr('u32', 'o + 4')};`);
            lines.push(`const ${v} = ${v}lo === ${k}.lo && ${v}hi === ${k}.hi ? ${k}.v : R.u64memo(${k}, ${v}lo, ${v}hi);`);
          } else {
            lines.push(`const ${v} = ${readExpr(fs.kind, 'o')};`);
          }
          if (fs.kind === 'bool') lines.push(`if (${v} > 1) R.bad(${S}, ${q}, o, 'bool must be 0 or 1, got ' + ${v});`);
          lines.push(`o += ${PRIMITIVE_SIZE[fs.kind]};`);
          props.push(`${q}: ${fs.kind === 'bool' ? `${v} === 1` : v}`);
          break;
        case 'const':
          lines.push(need(name, '4'));
          lines.push(`const ${v} = ${readExpr('u32', 'o')};`);
          lines.push(`if (${v} !== ${fs.value >>> 0}) R.bad(${S}, ${q}, o, 'expected 0x${(fs.value >>> 0).toString(16)}, got 0x' + ${v}.toString(16));`);
          lines.push('o += 4;');
          break;
        case 'pad':
          lines.push(need('(pad)', String(fs.size)));
          lines.push(`o += ${fs.size};`);
          break;
        case 'length': {
          const lv = `L${i}`;
          lengthVar.set(fs.of, lv);
          lines.push(need(`${fs.of}.length`, '4'));
          lines.push(`const ${lv} = ${readExpr('u32', 'o')}${fs.extra ? ` - ${fs.extra}` : ''};`);
          lines.push('o += 4;');
          break;
        }
        case 'selfLength':
          selfVar = `SL${i}`;
          lines.push(need('length', '4'));
          lines.push(`const ${selfVar} = ${readExpr('u32', 'o')};`);
          lines.push(`if (${selfVar} > end - start) R.bad(${S}, 'length', o, 'length ' + ${selfVar} + ' exceeds the ' + (end - start) + ' bytes available');`);
          lines.push('o += 4;');
          break;
        case 'frameLength':
          lines.push(need(name, '4'));
          lines.push(`const ${v} = ${readExpr('u32', 'o')};`);
          lines.push('o += 4;');
          props.push(`${q}: ${v}`);
          break;
        case 'bytes': {
          const n = refLen(fs.length);
          if (typeof fs.length === 'string') lines.push(`if (${n} < 0) R.bad(${S}, ${q}, o, 'negative length');`);
          lines.push(need(name, n));
          // Empty fields (most control data, error texts) share one empty Buffer: no view to build.
          lines.push(`const ${v} = ${n} === 0 ? R.EMPTY : buf.subarray(o, o + ${n});`);
          lines.push(`o += ${n};`);
          props.push(`${q}: ${v}`);
          break;
        }
        case 'stringn': {
          const n = refLen(fs.length);
          lines.push(need(name, n));
          lines.push(`const ${v} = R.cstr(buf, o, o + ${n});`);
          lines.push(`o += ${n};`);
          props.push(`${q}: ${v}`);
          break;
        }
        case 'fixedString':
          lines.push(need(name, String(fs.size)));
          lines.push(`const ${v} = R.cstr(buf, o, o + ${fs.size});`);
          lines.push(`o += ${fs.size};`);
          props.push(`${q}: ${v}`);
          break;
        case 'cstring':
          lines.push(`const ${v} = R.cstr(buf, o, end); o = end;`);
          props.push(`${q}: ${v}`);
          break;
        case 'text':
          lines.push(`const ${v} = buf.toString('utf8', o, end); o = end;`);
          props.push(`${q}: ${v}`);
          break;
        case 'rest':
          lines.push(`const ${v} = buf.subarray(o, end); o = end;`);
          props.push(`${q}: ${v}`);
          break;
        case 'struct': {
          const d = dep(fs.def.decoderFn());
          lines.push(`let ${v}; try { ${v} = ${d}(buf, o, end, st); } catch (e) { throw R.nest(e, ${S}, ${JSON.stringify(name + '.')}, o); }`);
          lines.push('o = st.o;');
          props.push(`${q}: ${v}`);
          break;
        }
        case 'array': {
          const d = dep(fs.def.decoderFn());
          const n = refLen(fs.count);
          const min = Math.max(1, fs.def.minSize);
          lines.push(`if (${n} * ${min} > end - o) R.bad(${S}, ${JSON.stringify(name)}, o, ${n} + ' elements of at least ${min} bytes do not fit in ' + (end - o) + ' bytes');`);
          lines.push(`const ${v} = new Array(${n});`);
          lines.push(`for (let i = 0; i < ${n}; i++) { try { ${v}[i] = ${d}(buf, o, end, st); } catch (e) { throw R.nest(e, ${S}, ${q} + '[' + i + '].', o); } o = st.o; }`);
          props.push(`${q}: ${v}`);
          break;
        }
        case 'arrayToEnd': {
          const d = dep(fs.def.decoderFn());
          lines.push(`const ${v} = [];`);
          lines.push(`for (let i = 0; o < end; i++) { try { ${v}.push(${d}(buf, o, end, st)); } catch (e) { throw R.nest(e, ${S}, ${q} + '[' + i + '].', o); } if (st.o === o) break; o = st.o; }`);
          props.push(`${q}: ${v}`);
          break;
        }
        case 'values': {
          const n = refLen(fs.count);
          const size = PRIMITIVE_SIZE[fs.type];
          lines.push(`if (${n} * ${size} > end - o) R.bad(${S}, ${q}, o, ${n} + ' values of ${size} bytes do not fit in ' + (end - o) + ' bytes');`);
          lines.push(`const ${v} = new Array(${n});`);
          lines.push(`for (let i = 0; i < ${n}; i++) { ${v}[i] = ${readExpr(fs.type, 'o')}; o += ${size}; }`);
          props.push(`${q}: ${v}`);
          break;
        }
        case 'fixed': {
          const d = dep(fs.codec);
          lines.push(need(name, String(fs.codec.size)));
          lines.push(`let ${v}; try { ${v} = ${d}.decode(buf, o); } catch (e) { throw R.nest(e, ${S}, ${q}, o); }`);
          lines.push(`o += ${fs.codec.size};`);
          props.push(`${q}: ${v}`);
          break;
        }
      }
    });
    if (selfVar) {
      lines.push(`if (${selfVar} !== o - start) R.bad(${S}, 'length', start, 'record length ' + ${selfVar} + ' does not match its contents (' + (o - start) + ' bytes)');`);
    }
    lines.push('st.o = o;');
    const obj = `{ ${props.join(', ')} }`;
    lines.push(this.map ? `return M.decode(${obj}, start);` : `return ${obj};`);
    const body = lines.join('\n');
    const factory = new Function('R', 'D', 'M', `return function decode_${ident(this.name)}(buf, o, end, st) {\n${body}\n};`);
    this.dec = factory(runtime, deps, this.map) as DecodeFn;
    return this.dec;
  }

  /** Internal entry used by compiled parents: decodes at `o`, leaves the end in st.o. */
  decodeIn(buf: Buffer, o: number, end: number, st: { o: number }): T {
    return (this.dec ?? this.compileDecoder())(buf, o, end, st);
  }

  /** The compiled decoder itself (same contract as decodeIn): parents call it directly, no method hop. */
  decoderFn(): DecodeFn {
    return this.dec ?? this.compileDecoder();
  }

  // ---------------------------------------------------------------- encoder

  private compileSize(): SizeFn {
    const S = JSON.stringify(this.name);
    const deps: unknown[] = [];
    const dep = (x: unknown) => { deps.push(x); return `D[${deps.length - 1}]`; };
    // Unmapped, variable-size children: call their compiled size function directly.
    const sizeCall = (def: StructDef<any>, x: string) =>
      def.map || def.fixedSize !== undefined ? `${dep(def)}.sizeOfRaw(${x})` : `${dep(def.sizeFn())}(${x})`;
    let fixedPart = 0;
    const lines: string[] = [];
    for (const fs of this.fields) {
      const fixed = fieldFixedSize(fs);
      if (fixed !== undefined) { fixedPart += fixed; continue; }
      const q = JSON.stringify((fs as { name: string }).name);
      switch (fs.kind) {
        case 'bytes': case 'rest':
          lines.push(`s += R.bufLen(${S}, ${q}, v[${q}]);`);
          break;
        case 'stringn': case 'cstring':
          lines.push(`s += R.strLen(${S}, ${q}, v[${q}], true);`);
          break;
        case 'text':
          lines.push(`s += R.strLen(${S}, ${q}, v[${q}], false);`);
          break;
        case 'struct':
          lines.push(`s += ${sizeCall(fs.def, `v[${q}]`)};`);
          break;
        case 'array': case 'arrayToEnd': {
          const d = dep(fs.def);
          const arr = `R.arr(${S}, ${q}, v[${q}], ${typeof (fs as { count?: unknown }).count === 'number' ? (fs as { count: number }).count : -1})`;
          if (fs.def.fixedSize !== undefined && !fs.def.map) lines.push(`s += ${arr}.length * ${fs.def.fixedSize};`);
          else lines.push(`for (const e of ${arr}) s += ${sizeCall(fs.def, 'e')};`);
          break;
        }
        case 'values':
          lines.push(`s += R.arr(${S}, ${q}, v[${q}], -1).length * ${PRIMITIVE_SIZE[fs.type]};`);
          break;
        default:
          throw new Error(`${this.name}: no size rule for ${fs.kind}`);
      }
    }
    const body = `if (v === null || typeof v !== 'object') R.encErr(${S}, '', 'expected an object, got ' + String(v));\nlet s = ${fixedPart};\n${lines.join('\n')}\nreturn s;`;
    this.sz = new Function('R', 'D', `return function size_${ident(this.name)}(v) {\n${body}\n};`)(runtime, deps) as SizeFn;
    return this.sz;
  }

  /** Size of an already mapped (raw) value; used by compiled parents. */
  sizeOfRaw(v: any): number {
    const raw = this.map ? this.map.encode(v) : v;
    if (this.fixedSize !== undefined) {
      if (raw === null || typeof raw !== 'object') throw new CtdbEncodeError(this.name, '', `expected an object, got ${String(raw)}`);
      return this.fixedSize;
    }
    return (this.sz ?? this.compileSize())(raw);
  }

  /** Compiled size function of a raw value (variable-size definitions). */
  sizeFn(): SizeFn {
    return this.sz ?? this.compileSize();
  }

  /** Compiled encoder of a raw (already mapped) value. */
  encoderFn(): EncodeFn {
    return this.enc ?? this.compileEncoder();
  }

  /** Encode a (not yet mapped) value at `o`; used by compiled parents. */
  encodeIn(v: any, out: Buffer, o: number): number {
    return (this.enc ?? this.compileEncoder())(this.map ? this.map.encode(v) : v, out, o);
  }

  private compileEncoder(): EncodeFn {
    const S = JSON.stringify(this.name);
    const deps: unknown[] = [];
    const dep = (x: unknown) => { deps.push(x); return `D[${deps.length - 1}]`; };
    // Unmapped children: call their compiled encoder directly.
    const encodeCall = (def: StructDef<any>, x: string) =>
      def.map ? `${dep(def)}.encodeIn(${x}, out, o)` : `${dep(def.encoderFn())}(${x}, out, o)`;
    const lines: string[] = [
      `if (v === null || typeof v !== 'object') R.encErr(${S}, '', 'expected an object, got ' + String(v));`,
      'const start = o;',
    ];
    let selfPos: string | undefined;
    this.fields.forEach((fs, i) => {
      const name = 'name' in fs ? fs.name : '';
      const q = JSON.stringify(name);
      const x = `x${i}`;
      switch (fs.kind) {
        case 'u8': case 'u16': case 'u32': case 'i32':
          lines.push(`const ${x} = v[${q}];`);
          lines.push(`if (${checkExpr(fs.kind, x)}) R.numErr(${S}, ${q}, ${x}, '${fs.kind}');`);
          lines.push(writeStmt(fs.kind, x));
          break;
        case 'u64': {
          // Split (and validate) only when the value differs from the last one encoded at this field.
          const k = dep(newU64WriteMemo());
          lines.push(`const ${x} = v[${q}];`);
          lines.push(`if (${x} !== ${k}.v) R.u64split(${S}, ${q}, ${k}, ${x});`);
          lines.push(writeStmt('u32', `${k}.lo`), writeStmt('u32', `${k}.hi`));
          break;
        }
        case 'i64':
          lines.push(`R.i64(${S}, ${q}, v[${q}], out, o); o += 8;`);
          break;
        case 'f64':
          lines.push(`const ${x} = v[${q}] ?? 0;`);
          lines.push(`if (typeof ${x} !== 'number') R.numErr(${S}, ${q}, ${x}, 'f64');`);
          lines.push(`out.writeDoubleLE(${x}, o); o += 8;`);
          break;
        case 'bool':
          lines.push(`out[o++] = v[${q}] ? 1 : 0;`);
          break;
        case 'const':
          lines.push(writeStmt('u32', String(fs.value >>> 0)));
          break;
        case 'pad':
          lines.push(fs.size <= 8 ? `${'out[o++] = 0; '.repeat(fs.size)}` : `out.fill(0, o, o + ${fs.size}); o += ${fs.size};`);
          break;
        case 'length': {
          const target = this.fields.find((t) => 'name' in t && t.name === fs.of);
          if (!target) throw new Error(`${this.name}: length of unknown field ${fs.of}`);
          const tq = JSON.stringify(fs.of);
          let expr: string;
          if (target.kind === 'array' || target.kind === 'values') expr = `R.arr(${S}, ${tq}, v[${tq}], -1).length`;
          else if (target.kind === 'stringn') expr = `R.strLen(${S}, ${tq}, v[${tq}], true)`;
          else expr = `R.bufLen(${S}, ${tq}, v[${tq}])`;
          lines.push(`const ${x} = ${expr}${fs.extra ? ` + ${fs.extra}` : ''};`);
          lines.push(writeStmt('u32', x));
          break;
        }
        case 'selfLength':
          selfPos = `P${i}`;
          lines.push(`const ${selfPos} = o; o += 4;`);
          break;
        case 'frameLength':
          lines.push(`const ${x} = out.length - start;`);
          lines.push(writeStmt('u32', x));
          break;
        case 'bytes': {
          lines.push(`const ${x} = v[${q}] ?? R.EMPTY;`);
          lines.push(`if (!(${x} instanceof Uint8Array)) R.encErr(${S}, ${q}, 'expected a Buffer');`);
          if (typeof fs.length === 'number') {
            lines.push(`if (${x}.length !== ${fs.length}) R.encErr(${S}, ${q}, 'must be exactly ${fs.length} bytes, got ' + ${x}.length);`);
          } else if (!this.fields.some((t) => t.kind === 'length' && t.of === fs.length)) {
            lines.push(`if (${x}.length !== v[${JSON.stringify(fs.length)}]) R.encErr(${S}, ${q}, 'length does not match field ${fs.length}');`);
          }
          // set() costs tens of ns even for nothing; empty fields are common (control data, error texts).
          lines.push(`if (${x}.length !== 0) { out.set(${x}, o); o += ${x}.length; }`);
          break;
        }
        case 'rest':
          lines.push(`const ${x} = v[${q}] ?? R.EMPTY;`);
          lines.push(`if (!(${x} instanceof Uint8Array)) R.encErr(${S}, ${q}, 'expected a Buffer');`);
          lines.push(`out.set(${x}, o); o += ${x}.length;`);
          break;
        case 'stringn': case 'cstring':
          lines.push(`o = R.writeCString(${S}, ${q}, v[${q}], out, o);`);
          break;
        case 'text':
          lines.push(`o += out.write(v[${q}] ?? '', o, 'utf8');`);
          break;
        case 'fixedString':
          lines.push(`R.writeFixedString(${S}, ${q}, v[${q}], out, o, ${fs.size}); o += ${fs.size};`);
          break;
        case 'struct':
          lines.push(`o = ${encodeCall(fs.def, `R.obj(${S}, ${q}, v[${q}])`)};`);
          break;
        case 'array': case 'arrayToEnd': {
          const count = fs.kind === 'array' && typeof fs.count === 'number' ? fs.count : -1;
          lines.push(`for (const e of R.arr(${S}, ${q}, v[${q}], ${count})) o = ${encodeCall(fs.def, 'e')};`);
          break;
        }
        case 'values': {
          const count = typeof fs.count === 'number' ? fs.count : -1;
          const w = fs.type === 'u64' ? `out.writeBigUInt64LE(R.u64(${S}, ${q}, e), o); o += 8;`
            : fs.type === 'f64' ? 'out.writeDoubleLE(+e, o); o += 8;'
              : `if (${checkExpr(fs.type, 'e')}) R.numErr(${S}, ${q}, e, '${fs.type}'); ${writeStmt(fs.type, 'e')}`;
          lines.push(`for (const e of R.arr(${S}, ${q}, v[${q}], ${count})) { ${w} }`);
          break;
        }
        case 'fixed':
          lines.push(`${dep(fs.codec)}.encode(v[${q}], out, o); o += ${fs.codec.size};`);
          break;
      }
    });
    if (selfPos) lines.push(`{ const n = o - start; let p = ${selfPos}; out[p++] = n & 0xff; out[p++] = (n >>> 8) & 0xff; out[p++] = (n >>> 16) & 0xff; out[p] = n >>> 24; }`);
    lines.push('return o;');
    const factory = new Function('R', 'D', `return function encode_${ident(this.name)}(v, out, o) {\n${lines.join('\n')}\n};`);
    this.enc = factory(runtime, deps) as EncodeFn;
    return this.enc;
  }

  // ------------------------------------------------------------ pad ranges

  private collectPads(v: any, base: number, out: Array<[number, number]>): number {
    let off = base;
    for (const fs of this.fields) {
      const name = 'name' in fs ? fs.name : '';
      switch (fs.kind) {
        case 'pad': out.push([off, off + fs.size]); off += fs.size; break;
        case 'struct': off = fs.def.collectPads(fs.def.map ? fs.def.map.encode(v[name]) : v[name], off, out); break;
        case 'array': case 'arrayToEnd':
          for (const e of v[name] as unknown[]) off = fs.def.collectPads(fs.def.map ? fs.def.map.encode(e) : e, off, out);
          break;
        case 'fixed':
          for (const [a, b] of fs.codec.padRanges?.(v[name]) ?? []) out.push([off + a, off + b]);
          off += fs.codec.size;
          break;
        default: {
          const fixed = fieldFixedSize(fs);
          if (fixed !== undefined) { off += fixed; break; }
          if (fs.kind === 'values') off += (v[name] as unknown[]).length * PRIMITIVE_SIZE[fs.type];
          else if (fs.kind === 'stringn' || fs.kind === 'cstring') off += cStringLength(v[name]);
          else if (fs.kind === 'text') off += Buffer.byteLength(v[name] ?? '', 'utf8');
          else off += (v[name] as Uint8Array | undefined)?.length ?? 0;
        }
      }
    }
    return off;
  }

  // ------------------------------------------------------ reference decoder

  private referenceParser(): Parser {
    if (!this.parser) this.parser = this.buildParser();
    return this.parser;
  }

  private buildParser(): Parser {
    let p = new (referenceParserClass())().endianness('little');
    const lengthName = (of: string) => `$len_${of}`;
    const ref = (r: string | number): string | number =>
      typeof r === 'number' ? r : this.fields.some((x) => x.kind === 'length' && x.of === r) ? lengthName(r) : r;
    const primitive: Record<ValueKind, string> = {
      u8: 'uint8', u16: 'uint16le', u32: 'uint32le', i32: 'int32le', u64: 'uint64le', f64: 'doublele',
    };
    p = p.saveOffset('$start');
    for (const fs of this.fields) {
      switch (fs.kind) {
        case 'u8': case 'bool': p = p.uint8(fs.name); break;
        case 'u16': p = p.uint16(fs.name); break;
        case 'u32': case 'frameLength': p = p.uint32(fs.name); break;
        case 'i32': p = p.int32(fs.name); break;
        case 'u64': p = p.uint64(fs.name); break;
        case 'i64': p = p.int64(fs.name); break;
        case 'f64': p = p.doublele(fs.name); break;
        case 'const': p = p.uint32(`$const_${fs.name}`); break;
        case 'pad': p = p.seek(fs.size); break;
        case 'length': p = p.uint32(lengthName(fs.of)); break;
        case 'selfLength': p = p.uint32('$self'); break;
        case 'bytes': case 'stringn':
          p = p.buffer(fs.name, typeof fs.length === 'number' ? exactBuffer(fs.length) : { length: ref(fs.length) });
          break;
        case 'fixedString': p = p.buffer(fs.name, exactBuffer(fs.size)); break;
        case 'cstring': case 'text': case 'rest': p = p.buffer(fs.name, { readUntil: 'eof' }); break;
        case 'struct': p = p.nest(fs.name, { type: fs.def.buildParser() }); break;
        case 'array': p = p.array(fs.name, { type: fs.def.buildParser(), length: ref(fs.count) }); break;
        case 'arrayToEnd': p = p.array(fs.name, { type: fs.def.buildParser(), readUntil: 'eof' }); break;
        case 'values': p = p.array(fs.name, { type: primitive[fs.type], length: ref(fs.count) }); break;
        case 'fixed': p = p.buffer(fs.name, exactBuffer(fs.codec.size)); break;
      }
    }
    p = p.saveOffset('$end');
    return p;
  }

  private finishReference(raw: Record<string, any>, base: number): T {
    const out: Record<string, unknown> = {};
    for (const fs of this.fields) {
      switch (fs.kind) {
        case 'pad': case 'length': break;
        case 'const':
          if (raw[`$const_${fs.name}`] !== fs.value >>> 0) throw new CtdbDecodeError(this.name, fs.name, base, 'constant mismatch');
          break;
        case 'selfLength':
          if (raw.$self !== raw.$end - raw.$start) throw new CtdbDecodeError(this.name, 'length', base, 'record length mismatch');
          break;
        case 'bool':
          if (raw[fs.name] > 1) throw new CtdbDecodeError(this.name, fs.name, base, 'bool must be 0 or 1');
          out[fs.name] = raw[fs.name] === 1;
          break;
        case 'i64': out[fs.name] = Number(raw[fs.name]); break;
        case 'stringn': case 'cstring': case 'fixedString': out[fs.name] = cString(raw[fs.name] as Buffer); break;
        case 'text': out[fs.name] = (raw[fs.name] as Buffer).toString('utf8'); break;
        case 'struct': out[fs.name] = fs.def.finishReference(raw[fs.name], raw[fs.name].$start); break;
        case 'array': case 'arrayToEnd':
          out[fs.name] = (raw[fs.name] as Record<string, any>[]).map((e) => fs.def.finishReference(e, e.$start));
          break;
        case 'fixed': out[fs.name] = fs.codec.decode(raw[fs.name] as Buffer, 0); break;
        default: out[fs.name] = raw[fs.name];
      }
    }
    return this.map ? this.map.decode(out, base) : out as T;
  }
}

// ------------------------------------------------------------------ helpers

/**
 * binary-parser cuts a buffer field short at the end of the input instead of
 * failing; assert the full size so arrays of buffer-only elements stop.
 */
function exactBuffer(n: number): { length: number; assert: (b: number | string) => boolean } {
  return { length: n, assert: (b) => (b as unknown as Buffer).length === n };
}

function ident(name: string): string {
  return name.replace(/[^A-Za-z0-9_]/g, '_');
}

function readExpr(kind: PrimitiveKind | ValueKind, o: string): string {
  switch (kind) {
    case 'u8': case 'bool': return `buf[${o}]`;
    case 'u16': return `(buf[${o}] | (buf[${o} + 1] << 8))`;
    case 'u32': return `((buf[${o}] | (buf[${o} + 1] << 8) | (buf[${o} + 2] << 16)) + buf[${o} + 3] * 16777216)`;
    case 'i32': return `(buf[${o}] | (buf[${o} + 1] << 8) | (buf[${o} + 2] << 16) | (buf[${o} + 3] << 24))`;
    case 'u64': return `buf.readBigUInt64LE(${o})`;
    case 'i64': return `(((buf[${o} + 4] | (buf[${o} + 5] << 8) | (buf[${o} + 6] << 16) | (buf[${o} + 7] << 24)) * 4294967296) + ((buf[${o}] | (buf[${o} + 1] << 8) | (buf[${o} + 2] << 16)) + buf[${o} + 3] * 16777216))`;
    case 'f64': return `buf.readDoubleLE(${o})`;
  }
}

function checkExpr(kind: 'u8' | 'u16' | 'u32' | 'i32', x: string): string {
  switch (kind) {
    case 'u8': return `(${x} & 0xff) !== ${x}`;
    case 'u16': return `(${x} & 0xffff) !== ${x}`;
    case 'u32': return `(${x} >>> 0) !== ${x}`;
    case 'i32': return `(${x} | 0) !== ${x}`;
  }
}

function writeStmt(kind: 'u8' | 'u16' | 'u32' | 'i32', x: string): string {
  switch (kind) {
    case 'u8': return `out[o++] = ${x};`;
    case 'u16': return `out[o++] = ${x} & 0xff; out[o++] = ${x} >>> 8;`;
    case 'u32': case 'i32':
      return `out[o++] = ${x} & 0xff; out[o++] = (${x} >>> 8) & 0xff; out[o++] = (${x} >>> 16) & 0xff; out[o++] = (${x} >>> 24) & 0xff;`;
  }
}

function fieldFixedSize(f: FieldSpec): number | undefined {
  switch (f.kind) {
    case 'pad': return f.size;
    case 'length': case 'selfLength': case 'frameLength': case 'const': return 4;
    case 'bytes': return typeof f.length === 'number' ? f.length : undefined;
    case 'fixedString': return f.size;
    case 'fixed': return f.codec.size;
    case 'struct': return f.def.map ? undefined : f.def.fixedSize;
    case 'array':
      return typeof f.count === 'number' && f.def.fixedSize !== undefined && !f.def.map ? f.count * f.def.fixedSize : undefined;
    case 'values': return typeof f.count === 'number' ? f.count * PRIMITIVE_SIZE[f.type] : undefined;
    case 'stringn': case 'cstring': case 'text': case 'rest': case 'arrayToEnd': return undefined;
    default: return PRIMITIVE_SIZE[f.kind];
  }
}

function fieldMinSize(f: FieldSpec): number {
  const fixed = fieldFixedSize(f);
  if (fixed !== undefined) return fixed;
  if (f.kind === 'struct') return f.def.minSize;
  if (f.kind === 'array' && typeof f.count === 'number') return f.count * f.def.minSize;
  return 0;
}

function cStringLength(s: unknown): number {
  return typeof s === 'string' && s.length > 0 ? Buffer.byteLength(s, 'utf8') + 1 : 0;
}

/** Wrap anything thrown while decoding into a CtdbDecodeError naming the field path. */
function asDecodeError(err: unknown, structure: string, prefix: string, offset: number): CtdbDecodeError {
  if (err instanceof CtdbDecodeError) {
    return err.structure === structure && prefix === '' ? err
      : new CtdbDecodeError(structure, prefix + err.field, err.offset, err.reason);
  }
  const reason = err instanceof Error ? err.message : String(err);
  return new CtdbDecodeError(structure, prefix || '(unknown)', offset, reason);
}

/** Last u64 decoded at one field: the 32-bit halves and the bigint built from them (lo = -1: none yet). */
interface U64ReadMemo { lo: number; hi: number; v: bigint }
function newU64ReadMemo(): U64ReadMemo {
  return { lo: -1, hi: -1, v: 0n };
}

/** Last value encoded at one u64 field and its validated 32-bit halves (v = UNSET: none yet). */
interface U64WriteMemo { v: unknown; lo: number; hi: number }
const UNSET = Symbol('unset');
function newU64WriteMemo(): U64WriteMemo {
  return { v: UNSET, lo: 0, hi: 0 };
}

/** Helpers called from the generated code. */
const runtime = {
  u64memo(k: U64ReadMemo, lo: number, hi: number): bigint {
    k.lo = lo;
    k.hi = hi;
    k.v = hi === 0 ? BigInt(lo) : (BigInt(hi) << 32n) | BigInt(lo);
    return k.v;
  },
  u64split(structure: string, field: string, k: U64WriteMemo, v: unknown): void {
    const big = runtime.u64(structure, field, v);
    k.lo = Number(big & 0xffffffffn);
    k.hi = Number(big >> 32n);
    k.v = v;
  },
  EMPTY: Buffer.alloc(0),
  short(structure: string, field: string, offset: number, need: number, end: number): never {
    throw new CtdbDecodeError(structure, field, offset, `needs ${need} bytes, only ${Math.max(0, end - offset)} left`);
  },
  bad(structure: string, field: string, offset: number, reason: string): never {
    throw new CtdbDecodeError(structure, field, offset, reason);
  },
  nest(err: unknown, structure: string, prefix: string, offset: number): CtdbDecodeError {
    if (err instanceof CtdbDecodeError) {
      const field = prefix.endsWith('.') && err.field === '' ? prefix.slice(0, -1)
        : !prefix.endsWith('.') && err.field !== '' ? `${prefix}.${err.field}` : prefix + err.field;
      return new CtdbDecodeError(structure, field, err.offset, err.reason);
    }
    return asDecodeError(err, structure, prefix, offset);
  },
  cstr: cStringAt,
  encErr(structure: string, field: string, reason: string): never {
    throw new CtdbEncodeError(structure, field, reason);
  },
  numErr(structure: string, field: string, v: unknown, kind: string): never {
    throw new CtdbEncodeError(structure, field, `expected ${kind}, got ${typeof v === 'bigint' ? `${v}n` : String(v)}`);
  },
  u64(structure: string, field: string, v: unknown): bigint {
    if (typeof v === 'bigint' && v >= 0n && v <= 0xffffffffffffffffn) return v;
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
    throw new CtdbEncodeError(structure, field, `expected an unsigned 64-bit integer, got ${String(v)}`);
  },
  i64(structure: string, field: string, v: unknown, out: Buffer, o: number): void {
    if (typeof v === 'bigint' && v >= -(2n ** 63n) && v < 2n ** 63n) { out.writeBigInt64LE(v, o); return; }
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
      throw new CtdbEncodeError(structure, field, `expected a safe integer, got ${String(v)}`);
    }
    const lo = v >>> 0;
    const hi = Math.floor(v / 4294967296);
    out.writeUInt32LE(lo, o);
    out.writeInt32LE(hi, o + 4);
  },
  bufLen(structure: string, field: string, v: unknown): number {
    if (v === undefined) return 0;
    if (!(v instanceof Uint8Array)) throw new CtdbEncodeError(structure, field, 'expected a Buffer');
    return v.length;
  },
  strLen(structure: string, field: string, v: unknown, nul: boolean): number {
    if (v === undefined || v === '') return 0;
    if (typeof v !== 'string') throw new CtdbEncodeError(structure, field, `expected a string, got ${typeof v}`);
    if (nul && v.includes('\0')) throw new CtdbEncodeError(structure, field, 'string contains a NUL character');
    return Buffer.byteLength(v, 'utf8') + (nul ? 1 : 0);
  },
  writeCString(structure: string, field: string, v: unknown, out: Buffer, o: number): number {
    if (v === undefined || v === '') return o;
    if (typeof v !== 'string') throw new CtdbEncodeError(structure, field, `expected a string, got ${typeof v}`);
    o += out.write(v, o, 'utf8');
    out[o] = 0;
    return o + 1;
  },
  writeFixedString(structure: string, field: string, v: unknown, out: Buffer, o: number, size: number): void {
    const s = v ?? '';
    if (typeof s !== 'string' || s.includes('\0')) throw new CtdbEncodeError(structure, field, 'expected a string without NUL');
    const n = Buffer.byteLength(s, 'utf8');
    if (n > size - 1) throw new CtdbEncodeError(structure, field, `string of ${n} bytes does not fit in ${size - 1} bytes plus NUL`);
    out.write(s, o, 'utf8');
    out.fill(0, o + n, o + size);
  },
  arr(structure: string, field: string, v: unknown, count: number): unknown[] {
    if (!Array.isArray(v)) throw new CtdbEncodeError(structure, field, 'expected an array');
    if (count >= 0 && v.length !== count) throw new CtdbEncodeError(structure, field, `expected exactly ${count} elements, got ${v.length}`);
    return v;
  },
  obj(structure: string, field: string, v: unknown): unknown {
    if (v === null || typeof v !== 'object') throw new CtdbEncodeError(structure, field, 'expected an object');
    return v;
  },
};

function cStringAt(buf: Buffer, start: number, end: number): string {
  const nul = buf.indexOf(0, start);
  return buf.toString('utf8', start, nul === -1 || nul > end ? end : nul);
}

/** Bytes up to the first NUL (a missing NUL is accepted, types.md §1 strings). */
export function cString(b: Buffer): string {
  return cStringAt(b, 0, b.length);
}

/** Bare string encoding: the bytes plus one NUL; empty string = no bytes. */
export function encodeCString(s: string): Buffer {
  if (s.length === 0) return Buffer.alloc(0);
  const b = Buffer.alloc(Buffer.byteLength(s, 'utf8') + 1);
  b.write(s, 0, 'utf8');
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
  i64: (name: string): FieldSpec => ({ kind: 'i64', name }),
  f64: (name: string): FieldSpec => ({ kind: 'f64', name }),
  constU32: (name: string, value: number): FieldSpec => ({ kind: 'const', name, value }),
  pad: (size: number): FieldSpec => ({ kind: 'pad', size }),
  lengthOf: (of: string): FieldSpec => ({ kind: 'length', of }),
  selfLength: (): FieldSpec => ({ kind: 'selfLength' }),
  frameLength: (name: string): FieldSpec => ({ kind: 'frameLength', name }),
  bytes: (name: string, length: number | string): FieldSpec => ({ kind: 'bytes', name, length }),
  stringn: (name: string): FieldSpec => ({ kind: 'stringn', name, length: name }),
  cstring: (name: string): FieldSpec => ({ kind: 'cstring', name }),
  text: (name: string): FieldSpec => ({ kind: 'text', name }),
  fixedString: (name: string, size: number): FieldSpec => ({ kind: 'fixedString', name, size }),
  rest: (name: string): FieldSpec => ({ kind: 'rest', name }),
  struct: (name: string, def: StructDef<any>): FieldSpec => ({ kind: 'struct', name, def }),
  /** Array counted by `lengthOf(name)`, or with a fixed element count. */
  array: (name: string, def: StructDef<any>, count?: number): FieldSpec => ({ kind: 'array', name, def, count: count ?? name }),
  arrayToEnd: (name: string, def: StructDef<any>): FieldSpec => ({ kind: 'arrayToEnd', name, def }),
  values: (name: string, type: ValueKind, count?: number): FieldSpec => ({ kind: 'values', name, type, count: count ?? name }),
  fixed: (name: string, codec: FixedCodec<any>): FieldSpec => ({ kind: 'fixed', name, codec }),
};

export function struct<T>(name: string, fields: FieldSpec[], map?: StructMap<T>): StructDef<T> {
  return new StructDef<T>(name, fields, map);
}
