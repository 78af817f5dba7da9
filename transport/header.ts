// The 32-byte transport header (PROTOCOL.md). Network byte order throughout,
// no padding, no host-dependent sizes. Pure functions, no I/O.

import { BROADCAST_NODE, LOCAL_NODE, isConcreteNode, isU32, type Endpoint } from './endpoint.ts';
import { TransportDecodeError } from './errors.ts';
import { putU16BE, putU32BE } from '../legacy/common/bytes.ts';

export const MAGIC = Buffer.from('CTBT', 'ascii');
/** The magic as one big-endian u32 (hot paths compare a number, not bytes). */
const MAGIC_U32 = MAGIC.readUInt32BE(0);
export const PROTOCOL_VERSION = 1;
export const SUPPORTED_PROTOCOL_VERSIONS: readonly number[] = [1];
export const HEADER_SIZE = 32;
/** Default bound on the JSON payload of one packet. */
export const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

export const Flag = {
  REQUEST: 0x0001,
  REPLY: 0x0002,
  ERROR: 0x0004,
  NOREPLY: 0x0008,
} as const;
const KNOWN_FLAGS = Flag.REQUEST | Flag.REPLY | Flag.ERROR | Flag.NOREPLY;

/** Byte offsets of the header fields (also used in decode errors). */
export const Offset = {
  magic: 0,
  protocolVersion: 4,
  payloadVersion: 5,
  flags: 6,
  destNode: 8,
  destService: 12,
  srcNode: 16,
  srcService: 20,
  requestId: 24,
  payloadLength: 28,
} as const;

export interface TransportHeader {
  protocolVersion: number;
  payloadVersion: number;
  flags: number;
  dest: Endpoint;
  src: Endpoint;
  requestId: number;
  payloadLength: number;
}

export type PacketKind = 'request' | 'reply' | 'message';

/** request = expects a reply; reply (possibly an error reply); message = no reply expected. */
export function kindOf(flags: number): PacketKind {
  if (flags & Flag.REQUEST) return 'request';
  if (flags & Flag.REPLY) return 'reply';
  return 'message';
}

export function isErrorReply(h: TransportHeader): boolean {
  return (h.flags & Flag.ERROR) !== 0;
}

interface FieldProblem {
  field: keyof typeof Offset;
  detail: string;
}

/**
 * The rules of PROTOCOL.md that a header must satisfy, field by field in
 * wire order; returns the first violation. Shared by encode and decode so
 * we never send what we would refuse.
 */
export function checkHeader(h: TransportHeader, maxPayload = DEFAULT_MAX_PAYLOAD): FieldProblem | undefined {
  if (h.protocolVersion !== PROTOCOL_VERSION) {
    return { field: 'protocolVersion', detail: `unsupported protocol version ${h.protocolVersion}` };
  }
  if (!Number.isInteger(h.payloadVersion) || h.payloadVersion < 1 || h.payloadVersion > 255) {
    return { field: 'payloadVersion', detail: `payload version must be 1..255, got ${h.payloadVersion}` };
  }
  const f = h.flags;
  if (!Number.isInteger(f) || f < 0 || f > 0xffff) return { field: 'flags', detail: `not a u16: ${f}` };
  if (f & ~KNOWN_FLAGS) return { field: 'flags', detail: `reserved bits set: 0x${(f & ~KNOWN_FLAGS).toString(16)}` };
  const kinds = (f & Flag.REQUEST ? 1 : 0) + (f & Flag.REPLY ? 1 : 0) + (f & Flag.NOREPLY ? 1 : 0);
  if (kinds !== 1) return { field: 'flags', detail: 'exactly one of REQUEST, REPLY, NOREPLY must be set' };
  if (f & Flag.ERROR && !(f & Flag.REPLY)) return { field: 'flags', detail: 'ERROR is only valid with REPLY' };
  const dn = h.dest.node;
  if (!isConcreteNode(dn) && dn !== LOCAL_NODE && dn !== BROADCAST_NODE) {
    return { field: 'destNode', detail: `not a node number: 0x${dn.toString(16)}` };
  }
  if (dn === BROADCAST_NODE && !(f & Flag.NOREPLY)) {
    return { field: 'destNode', detail: 'broadcast is only valid for NOREPLY messages' };
  }
  if (!isU32(h.dest.service)) return { field: 'destService', detail: `not a u32: ${h.dest.service}` };
  if (!isConcreteNode(h.src.node) && h.src.node !== LOCAL_NODE) {
    return { field: 'srcNode', detail: `not a node number: 0x${h.src.node.toString(16)}` };
  }
  if (!isU32(h.src.service)) return { field: 'srcService', detail: `not a u32: ${h.src.service}` };
  if (!isU32(h.requestId)) return { field: 'requestId', detail: `not a u32: ${h.requestId}` };
  if (f & Flag.NOREPLY ? h.requestId !== 0 : h.requestId === 0) {
    return { field: 'requestId', detail: f & Flag.NOREPLY ? 'must be 0 for NOREPLY' : 'must not be 0 for REQUEST/REPLY' };
  }
  if (!isU32(h.payloadLength)) return { field: 'payloadLength', detail: `not a u32: ${h.payloadLength}` };
  if (h.payloadLength > maxPayload) {
    return { field: 'payloadLength', detail: `${h.payloadLength} exceeds the limit of ${maxPayload}` };
  }
  return undefined;
}

/** The raw fields, without any rule applied (the caller knows the buffer holds HEADER_SIZE bytes). */
export function readRawHeader(buf: Buffer, at = 0): TransportHeader & { magicOk: boolean } {
  return { magicOk: buf.readUInt32BE(at) === MAGIC_U32, ...readFields(buf, at) };
}

function readFields(buf: Buffer, at: number): TransportHeader {
  return {
    protocolVersion: buf.readUInt8(at + Offset.protocolVersion),
    payloadVersion: buf.readUInt8(at + Offset.payloadVersion),
    flags: buf.readUInt16BE(at + Offset.flags),
    dest: { node: buf.readUInt32BE(at + Offset.destNode), service: buf.readUInt32BE(at + Offset.destService) },
    src: { node: buf.readUInt32BE(at + Offset.srcNode), service: buf.readUInt32BE(at + Offset.srcService) },
    requestId: buf.readUInt32BE(at + Offset.requestId),
    payloadLength: buf.readUInt32BE(at + Offset.payloadLength),
  };
}

/** Decodes and validates the header at `at`; throws TransportDecodeError naming field and offset. */
export function decodeHeader(buf: Buffer, at = 0, maxPayload = DEFAULT_MAX_PAYLOAD): TransportHeader {
  if (buf.length - at < HEADER_SIZE) {
    throw new TransportDecodeError('header', buf.length - at, `need ${HEADER_SIZE} bytes, have ${buf.length - at}`);
  }
  // Fields read directly: an object rest spread here is a slow generic copy on every packet.
  if (buf.readUInt32BE(at) !== MAGIC_U32) {
    throw new TransportDecodeError('magic', Offset.magic, `expected "CTBT", got 0x${buf.subarray(at, at + 4).toString('hex')}`);
  }
  const h = readFields(buf, at);
  const problem = checkHeader(h, maxPayload);
  if (problem) throw new TransportDecodeError(problem.field, Offset[problem.field], problem.detail);
  return h;
}

/** Writes a validated header; throws TransportDecodeError (same rules as decode) for invalid fields. */
export function encodeHeader(h: TransportHeader, maxPayload = DEFAULT_MAX_PAYLOAD): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_SIZE);
  writeHeader(buf, 0, h, maxPayload);
  return buf;
}

/** Writes a validated header into `buf` at `at` (room for HEADER_SIZE bytes); same rules as encodeHeader. */
export function writeHeader(buf: Buffer, at: number, h: TransportHeader, maxPayload = DEFAULT_MAX_PAYLOAD): void {
  const problem = checkHeader(h, maxPayload);
  if (problem) throw new TransportDecodeError(problem.field, Offset[problem.field], problem.detail);
  writeCheckedHeader(buf, at, h);
}

/** Writes a header that already passed checkHeader (a packet transportd accepted and routed). */
export function writeCheckedHeader(buf: Buffer, at: number, h: TransportHeader): void {
  putU32BE(buf, at + Offset.magic, MAGIC_U32);
  buf[at + Offset.protocolVersion] = h.protocolVersion;
  buf[at + Offset.payloadVersion] = h.payloadVersion;
  putU16BE(buf, at + Offset.flags, h.flags);
  putU32BE(buf, at + Offset.destNode, h.dest.node);
  putU32BE(buf, at + Offset.destService, h.dest.service);
  putU32BE(buf, at + Offset.srcNode, h.src.node);
  putU32BE(buf, at + Offset.srcService, h.src.service);
  putU32BE(buf, at + Offset.requestId, h.requestId);
  putU32BE(buf, at + Offset.payloadLength, h.payloadLength);
}
