import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { controlPayloadCodecs, decodeControlReply, decodeControlRequest, encodeControlReply, encodeControlRequest,
  modelledControls } from './control-payloads.ts';
import { controlName } from './controls.ts';
import { CtdbDecodeError } from './errors.ts';
import { decodeMessagePayload, encodeMessagePayload, messageKindDefs, type MessageKind } from './message-payloads.ts';
import { Srvid } from './srvid.ts';
import { StructDef } from './struct.ts';
import { arbitraryFor } from './testing/arbitraries.ts';
import * as types from './types/index.ts';

/** Every StructDef exported by types/ (each payload type), by export name. */
const allDefs = Object.entries(types).filter((e): e is [string, StructDef<any>] => e[1] instanceof StructDef);

/** Valid encodings with a few random bytes overwritten: reaches deep fields more often than pure noise. */
function mutatedEncoding(def: StructDef<any>): fc.Arbitrary<Buffer> {
  return fc.tuple(arbitraryFor(def), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
    fc.nat()).map(([v, edits, cut]) => {
    const b = Buffer.from(def.encode(v));
    for (const [pos, byte] of edits) if (b.length > 0) b[pos % b.length] = byte;
    return cut % 5 === 0 ? b.subarray(0, cut % (b.length + 1)) : b;
  });
}

const noise = fc.uint8Array({ maxLength: 700 }).map((b) => Buffer.from(b));

function expectOnlyDecodeErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof CtdbDecodeError)) throw err;
  }
}

describe('every payload type (types/*.ts)', () => {
  test('the type list is complete enough', () => {
    expect(allDefs.length).toBeGreaterThanOrEqual(45);
  });

  for (const [name, def] of allDefs) {
    describe(name, () => {
      test('encode -> decode is the identity, and re-encoding gives the same bytes', () => {
        fc.assert(fc.property(arbitraryFor(def), (v) => {
          const bytes = def.encode(v);
          expect(bytes.length).toBe(def.encodedSize(v));
          const back = def.decodeExact(bytes);
          expect(back).toEqual(v);
          expect(def.encode(back).equals(bytes)).toBe(true);
        }), { numRuns: 60 });
      });

      test('decoding random and mutated bytes throws nothing but CtdbDecodeError', () => {
        fc.assert(fc.property(fc.oneof(noise, mutatedEncoding(def)), (b) => {
          expectOnlyDecodeErrors(() => def.decodeExact(b));
        }), { numRuns: 150 });
      });

      test('the compiled decoder agrees with the binary-parser reference decoder', () => {
        fc.assert(fc.property(fc.oneof(mutatedEncoding(def), noise), (b) => {
          let fast: { value: unknown; size: number } | CtdbDecodeError;
          let ref: { value: unknown; size: number } | CtdbDecodeError;
          try { fast = def.decodeWithSize(b); } catch (e) { if (!(e instanceof CtdbDecodeError)) throw e; fast = e; }
          try { ref = def.decodeReference(b); } catch (e) { if (!(e instanceof CtdbDecodeError)) throw e; ref = e; }
          if (fast instanceof CtdbDecodeError || ref instanceof CtdbDecodeError) {
            expect([fast instanceof CtdbDecodeError, ref instanceof CtdbDecodeError]).toEqual([true, true]);
          } else {
            expect(fast.size).toBe(ref.size);
            expect(fast.value).toEqual(ref.value);
          }
        }), { numRuns: 80 });
      });
    });
  }
});

describe('control payload registry', () => {
  const opcodes = modelledControls();

  test('round trip of every modelled request and reply', () => {
    for (const opcode of opcodes) {
      const codecs = controlPayloadCodecs(opcode)!;
      fc.assert(fc.property(arbitraryFor(codecs.request), arbitraryFor(codecs.reply), (req, rep) => {
        expect(decodeControlRequest(opcode, encodeControlRequest(opcode, req))).toEqual(req);
        expect(decodeControlReply(opcode, encodeControlReply(opcode, rep))).toEqual(rep);
      }), { numRuns: 20 });
    }
  });

  test('random data for any opcode 0..255 decodes or throws CtdbDecodeError, never anything else', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 255 }), noise, (opcode, data) => {
      expectOnlyDecodeErrors(() => decodeControlRequest(opcode, data));
      expectOnlyDecodeErrors(() => decodeControlReply(opcode, data));
    }), { numRuns: 2000 });
  });

  test('mutated valid payloads for every modelled opcode throw only CtdbDecodeError', () => {
    for (const opcode of opcodes) {
      const { request, reply } = controlPayloadCodecs(opcode)!;
      fc.assert(fc.property(mutatedEncoding(request), mutatedEncoding(reply), (a, b) => {
        expectOnlyDecodeErrors(() => decodeControlRequest(opcode, a));
        expectOnlyDecodeErrors(() => decodeControlReply(opcode, b));
      }), { numRuns: 30 });
    }
  });

  test('errors name the control', () => {
    expect(() => decodeControlRequest(4, Buffer.alloc(3))).toThrow(/^GETDBPATH request \(db_id\): field dbId at offset 0/);
    expect(controlName(4)).toBe('GETDBPATH');
  });
});

describe('message payloads by SRVID', () => {
  const samples: Array<[bigint, MessageKind]> = [
    [Srvid.ELECTION, 'election'], [Srvid.LEADER, 'pnn'], [Srvid.RELEASE_IP, 'ip'], [Srvid.PUSH_NODE_FLAGS, 'nodeFlagChange'],
    [Srvid.RECD_UPDATE_IP, 'publicIp'], [Srvid.RECOVERY + 3n, 'recBuffer'], [Srvid.TAKEOVER_RUN, 'srvidMessage'],
    [Srvid.DISABLE_RECOVERIES, 'disableMessage'], [Srvid.RECONFIGURE, 'empty'], [Srvid.DETACH_DATABASE, 'dbId'],
    [Srvid.DISABLE_IP_CHECK, 'timeout'], [Srvid.VACUUM_FETCH, 'recBuffer'],
  ];

  test('round trip by SRVID', () => {
    for (const [srvid, kind] of samples) {
      fc.assert(fc.property(arbitraryFor(messageKindDefs[kind as Exclude<MessageKind, 'raw'>]), (v) => {
        expect(decodeMessagePayload(srvid, encodeMessagePayload(srvid, v))).toEqual(v);
      }), { numRuns: 25 });
    }
  });

  test('random SRVIDs and data decode or throw CtdbDecodeError', () => {
    const srvid = fc.oneof(fc.constantFrom(...samples.map(([s]) => s)), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }));
    fc.assert(fc.property(srvid, noise, (s, data) => {
      expectOnlyDecodeErrors(() => decodeMessagePayload(s, data));
    }), { numRuns: 1500 });
  });
});
