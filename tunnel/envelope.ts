/**
 * The envelope at the start of every tunnel payload the bridge sends.
 *
 * A real ctdbd rewrites the REQ_TUNNEL header on delivery (reqid 0, srcnode =
 * delivering daemon, behaviour.md §3), so the sender's node and the request
 * id must travel inside the payload. Network byte order, 16 bytes:
 *
 * | off | size | field                                         |
 * |----:|-----:|-----------------------------------------------|
 * |   0 |    2 | magic 0x5442 ("TB")                            |
 * |   2 |    1 | envelope version (1)                           |
 * |   3 |    1 | kind: 1 request, 2 reply, 3 no-reply, 4 probe, 5 probe reply |
 * |   4 |    4 | source PNN                                     |
 * |   8 |    4 | destination PNN                                |
 * |  12 |    4 | request id (0 for no-reply)                    |
 * |  16 |    … | payload                                        |
 */
import { putU16BE, putU32BE } from '../legacy/common/bytes.ts';

export const ENVELOPE_MAGIC = 0x5442;
export const ENVELOPE_VERSION = 1;
export const ENVELOPE_SIZE = 16;

export const EnvelopeKind = {
  REQUEST: 1,
  REPLY: 2,
  NOREPLY: 3,
  PROBE: 4,
  PROBE_REPLY: 5,
} as const;
export type EnvelopeKindCode = (typeof EnvelopeKind)[keyof typeof EnvelopeKind];

export interface Envelope {
  kind: EnvelopeKindCode;
  srcPnn: number;
  dstPnn: number;
  requestId: number;
  payload: Buffer;
}

export class EnvelopeError extends Error {
  override name = 'EnvelopeError';
  constructor(readonly field: string, readonly offset: number, reason: string) {
    super(`tunnel envelope: field ${field} at offset ${offset}: ${reason}`);
  }
}

export function encodeEnvelope(e: Envelope): Buffer {
  const out = Buffer.allocUnsafe(ENVELOPE_SIZE + e.payload.length);
  writeEnvelopeHeader(out, 0, e.kind, e.srcPnn, e.dstPnn, e.requestId);
  e.payload.copy(out, ENVELOPE_SIZE);
  return out;
}

/**
 * The 16 envelope bytes at offset `at` of `out` (a sender that reserved them
 * need not copy its payload). Fields as arguments, not an object: this runs
 * for every packet sent.
 */
export function writeEnvelopeHeader(out: Buffer, at: number, kind: EnvelopeKindCode, srcPnn: number, dstPnn: number, requestId: number): void {
  putU16BE(out, at, ENVELOPE_MAGIC);
  out[at + 2] = ENVELOPE_VERSION;
  out[at + 3] = kind;
  putU32BE(out, at + 4, srcPnn);
  putU32BE(out, at + 8, dstPnn);
  putU32BE(out, at + 12, requestId);
}

/** Checks length, magic, version and kind of the envelope at the start of `buf`; returns the kind. */
export function checkEnvelopeHeader(buf: Buffer): EnvelopeKindCode {
  if (buf.length < ENVELOPE_SIZE) {
    throw new EnvelopeError('length', 0, `needs ${ENVELOPE_SIZE} bytes, have ${buf.length}`);
  }
  const magic = (buf[0] << 8) | buf[1];
  if (magic !== ENVELOPE_MAGIC) throw new EnvelopeError('magic', 0, `expected 0x5442, got 0x${magic.toString(16)}`);
  if (buf[2] !== ENVELOPE_VERSION) throw new EnvelopeError('version', 2, `unsupported version ${buf[2]}`);
  const kind = buf[3];
  if (kind < EnvelopeKind.REQUEST || kind > EnvelopeKind.PROBE_REPLY) {
    throw new EnvelopeError('kind', 3, `unknown kind ${kind}`);
  }
  return kind as EnvelopeKindCode;
}

export function decodeEnvelope(buf: Buffer): Envelope {
  const kind = checkEnvelopeHeader(buf);
  return {
    kind,
    srcPnn: buf.readUInt32BE(4),
    dstPnn: buf.readUInt32BE(8),
    requestId: buf.readUInt32BE(12),
    payload: buf.subarray(ENVELOPE_SIZE),
  };
}
