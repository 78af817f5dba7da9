import fc from 'fast-check';
import { Operation } from '../constants.ts';
import { packetBodyDef, type Packet } from '../packets.ts';
import type { FieldSpec, FixedCodec, StructDef, ValueKind } from '../struct.ts';
import { dbStatisticsDef } from '../types/statistics.ts';
import { formatIpv6, sockAddrCodec, type SockAddr } from '../types/sock-addr.ts';
import { varListDef } from '../types/tunables.ts';

/**
 * fast-check arbitraries derived from the struct definitions themselves, so
 * every payload type gets property tests without a hand-written generator.
 * Used by the tests and by the fuzz run (scripts/bench/fuzz.ts).
 */

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const bytes = (max = 40) => fc.uint8Array({ maxLength: max }).map((b) => Buffer.from(b));
const noNul = (s: string) => !s.includes('\0');
const text = fc.string({ unit: 'grapheme', maxLength: 16 }).filter(noNul);

export const sockAddrArbitrary: fc.Arbitrary<SockAddr> = fc.oneof(
  fc.record({ family: fc.constant('inet' as const), address: fc.ipV4(), port: fc.integer({ min: 0, max: 0xffff }) }),
  fc.record({
    family: fc.constant('inet6' as const),
    raw: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    port: fc.integer({ min: 0, max: 0xffff }),
    flowinfo: fc.oneof(fc.constant(0), u32),
    scopeId: fc.oneof(fc.constant(0), u32),
  }).map(({ raw, port, flowinfo, scopeId }) => {
    const a: SockAddr = { family: 'inet6', address: formatIpv6(raw, 0), port };
    if (flowinfo) a.flowinfo = flowinfo;
    if (scopeId) a.scopeId = scopeId;
    return a;
  }),
);

const codecArbitraries = new Map<FixedCodec<any>, fc.Arbitrary<any>>([[sockAddrCodec, sockAddrArbitrary]]);

function valueArbitrary(type: ValueKind): fc.Arbitrary<unknown> {
  switch (type) {
    case 'u8': return fc.integer({ min: 0, max: 0xff });
    case 'u16': return fc.integer({ min: 0, max: 0xffff });
    case 'u32': return u32;
    case 'i32': return fc.integer({ min: -0x80000000, max: 0x7fffffff });
    case 'u64': return fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
    case 'f64': return fc.double({ noNaN: true });
  }
}

function fieldArbitrary(fs: FieldSpec): fc.Arbitrary<unknown> | undefined {
  switch (fs.kind) {
    case 'u8': case 'u16': case 'u32': case 'i32': case 'u64': case 'f64': return valueArbitrary(fs.kind);
    case 'i64': return fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });
    case 'bool': return fc.boolean();
    case 'bytes': return typeof fs.length === 'number'
      ? fc.uint8Array({ minLength: fs.length, maxLength: fs.length }).map((b) => Buffer.from(b)) : bytes();
    case 'stringn': case 'cstring': case 'text': return text;
    case 'fixedString':
      return fc.string({ unit: 'grapheme-ascii', maxLength: fs.size - 1 }).filter(noNul);
    case 'rest': return bytes();
    case 'struct': return arbitraryFor(fs.def);
    case 'array': case 'arrayToEnd': {
      const n = fs.kind === 'array' && typeof fs.count === 'number' ? fs.count : undefined;
      return fc.array(arbitraryFor(fs.def), n !== undefined ? { minLength: n, maxLength: n } : { maxLength: 4 });
    }
    case 'values': {
      const n = typeof fs.count === 'number' ? fs.count : undefined;
      return fc.array(valueArbitrary(fs.type), n !== undefined ? { minLength: n, maxLength: n } : { maxLength: 6 });
    }
    case 'fixed': {
      const a = codecArbitraries.get(fs.codec);
      if (!a) throw new Error(`no arbitrary for fixed codec of field ${fs.name}`);
      return a;
    }
    case 'frameLength': return undefined;
    default: return undefined; // pad, const, length, selfLength: derived, not part of the value
  }
}

/** Arbitrary for the plain (unmapped) value shape of a definition. */
export function fieldsArbitrary(def: StructDef<any>, skip: string[] = []): fc.Arbitrary<Record<string, unknown>> {
  const rec: Record<string, fc.Arbitrary<unknown>> = {};
  for (const fs of def.fields) {
    if ('name' in fs && skip.includes(fs.name)) continue;
    const a = fieldArbitrary(fs);
    if (a && 'name' in fs) rec[fs.name] = a;
  }
  return fc.record(rec);
}

const overrides = new Map<StructDef<any>, () => fc.Arbitrary<any>>([
  [varListDef, () => fc.record({
    names: fc.array(fc.stringMatching(/^[A-Za-z0-9]{1,12}$/), { minLength: 1, maxLength: 6 }),
    leadingColon: fc.boolean(),
  })],
  [dbStatisticsDef, () => fc.tuple(
    fieldsArbitrary(dbStatisticsDef, ['hotKeySlots', 'keyBytes']),
    fc.array(fc.record({ count: u32, key: bytes(12) }), { minLength: 10, maxLength: 10 }),
  ).map(([rest, hotKeys]) => ({ ...rest, hotKeys }))],
]);

const cache = new Map<StructDef<any>, fc.Arbitrary<any>>();

/** An arbitrary producing valid values of `def` (round-trip identity holds for them). */
export function arbitraryFor<T>(def: StructDef<T>): fc.Arbitrary<T> {
  let a = cache.get(def);
  if (!a) {
    const o = overrides.get(def);
    if (o) a = o();
    else if (def.map) throw new Error(`${def.name} has a value map: add an override arbitrary`);
    else a = fieldsArbitrary(def);
    cache.set(def, a);
  }
  return a as fc.Arbitrary<T>;
}

const header = fc.record({ generation: u32, destnode: u32, srcnode: u32, reqid: u32 });

/** Arbitrary valid packets of every operation (incl. header-only keepalives and DMASTER trailers). */
export const packetArbitrary: fc.Arbitrary<Packet> = fc.oneof(
  ...Object.values(Operation).map((op) => fc.tuple(header, arbitraryFor(packetBodyDef(op)!), u32).map(([h, body, flags]) => {
    const p: Record<string, unknown> = { ...h, ...body, operation: op };
    if (op === Operation.REQ_DMASTER || op === Operation.REPLY_DMASTER) p.recordFlags = flags;
    return p as unknown as Packet;
  })),
  header.map((h) => ({ ...h, operation: Operation.REQ_KEEPALIVE }) as Packet),
);
