import { CTDB_MAGIC, CTDB_PROTOCOL, HEADER_SIZE, Operation, operationNames } from './constants.ts';
import { CtdbDecodeError, CtdbEncodeError } from './errors.ts';
import { f, struct, type FieldSpec, type StructDef } from './struct.ts';
import { putU32LE } from '../common/bytes.ts';

/**
 * The 11 legacy operations (wire.md §2-§3). A packet is a flat object: the
 * header fields every packet has plus the fields of its operation. `length`
 * is filled in on decode (the value on the wire, padding included) and may be
 * given to the encoder to reproduce an exact length.
 */

export interface PacketCommon {
  generation: number;
  destnode: number;
  srcnode: number;
  reqid: number;
  /** Wire length as decoded; optional when encoding. */
  length?: number;
}

export interface ReqCall extends PacketCommon {
  operation: typeof Operation.REQ_CALL;
  flags: number;
  dbId: number;
  callId: number;
  hopcount: number;
  key: Buffer;
  callData: Buffer;
}
export interface ReplyCall extends PacketCommon {
  operation: typeof Operation.REPLY_CALL;
  status: number;
  data: Buffer;
}
export interface ReqDmaster extends PacketCommon {
  operation: typeof Operation.REQ_DMASTER;
  dbId: number;
  rsn: bigint;
  dmaster: number;
  key: Buffer;
  data: Buffer;
  /** Trailing ltdb flags word, not counted in keylen/datalen (wire.md §3.4). */
  recordFlags: number;
}
export interface ReplyDmaster extends PacketCommon {
  operation: typeof Operation.REPLY_DMASTER;
  dbId: number;
  rsn: bigint;
  key: Buffer;
  data: Buffer;
  recordFlags: number;
}
export interface ReplyError extends PacketCommon {
  operation: typeof Operation.REPLY_ERROR;
  status: number;
  /** Message text as sent (ctdbd includes the NUL). */
  msg: Buffer;
}
export interface ReqMessage extends PacketCommon {
  operation: typeof Operation.REQ_MESSAGE;
  srvid: bigint;
  data: Buffer;
}
export interface ReqControl extends PacketCommon {
  operation: typeof Operation.REQ_CONTROL;
  opcode: number;
  srvid: bigint;
  clientId: number;
  flags: number;
  data: Buffer;
}
export interface ReplyControl extends PacketCommon {
  operation: typeof Operation.REPLY_CONTROL;
  status: number;
  data: Buffer;
  /** Error text bytes as sent: ctdbd omits the NUL, the client library includes it. */
  errorMessage: Buffer;
}
export interface ReqKeepalive extends PacketCommon {
  operation: typeof Operation.REQ_KEEPALIVE;
  /** Absent in an old header-only keepalive (length 32). */
  version?: number;
  uptime?: number;
}
export interface ReqTunnel extends PacketCommon {
  operation: typeof Operation.REQ_TUNNEL;
  tunnelId: bigint;
  flags: number;
  data: Buffer;
}

export type Packet =
  | ReqCall | ReplyCall | ReqDmaster | ReplyDmaster | ReplyError
  | ReqMessage | ReqControl | ReplyControl | ReqKeepalive | ReqTunnel;

export interface PacketHeader {
  length: number;
  magic: number;
  version: number;
  generation: number;
  operation: number;
  destnode: number;
  srcnode: number;
  reqid: number;
}

export const headerDef = struct<PacketHeader>('ctdb_req_header', [
  f.u32('length'), f.u32('magic'), f.u32('version'), f.u32('generation'),
  f.u32('operation'), f.u32('destnode'), f.u32('srcnode'), f.u32('reqid'),
]);

const headerFields = [
  f.frameLength('length'), f.constU32('ctdb_magic', CTDB_MAGIC), f.constU32('ctdb_version', CTDB_PROTOCOL),
  f.u32('generation'), f.u32('operation'), f.u32('destnode'), f.u32('srcnode'), f.u32('reqid'),
];

interface OperationLayout {
  /** Body fields after the 32-byte header (wire.md §3). */
  body: StructDef<any>;
  /** Header + body as one definition: one compiled decoder/encoder per operation (fast path). */
  full: StructDef<any>;
  /** ctdbd's C struct minimum (before 8-rounding), wire.md §3. */
  cMin: number;
}

function layout(name: string, cMin: number, fields: FieldSpec[]): OperationLayout {
  return { cMin, body: struct(name, fields), full: struct(name, [...headerFields, ...fields]) };
}

const layouts: Array<OperationLayout | undefined> = [];
layouts[Operation.REQ_CALL] = layout('REQ_CALL', 60, [f.u32('flags'), f.u32('dbId'), f.u32('callId'), f.u32('hopcount'),
  f.lengthOf('key'), f.lengthOf('callData'), f.bytes('key', 'key'), f.bytes('callData', 'callData')]);
layouts[Operation.REPLY_CALL] = layout('REPLY_CALL', 44, [f.i32('status'), f.lengthOf('data'), f.bytes('data', 'data')]);
layouts[Operation.REQ_DMASTER] = layout('REQ_DMASTER', 64, [f.u32('dbId'), f.pad(4), f.u64('rsn'), f.u32('dmaster'),
  f.lengthOf('key'), f.lengthOf('data'), f.bytes('key', 'key'), f.bytes('data', 'data')]);
layouts[Operation.REPLY_DMASTER] = layout('REPLY_DMASTER', 64, [f.u32('dbId'), f.pad(4), f.u64('rsn'),
  f.lengthOf('key'), f.lengthOf('data'), f.bytes('key', 'key'), f.bytes('data', 'data')]);
layouts[Operation.REPLY_ERROR] = layout('REPLY_ERROR', 44, [f.i32('status'), f.lengthOf('msg'), f.bytes('msg', 'msg')]);
layouts[Operation.REQ_MESSAGE] = layout('REQ_MESSAGE', 48, [f.u64('srvid'), f.lengthOf('data'), f.bytes('data', 'data')]);
layouts[Operation.REQ_CONTROL] = layout('REQ_CONTROL', 64, [f.u32('opcode'), f.pad(4), f.u64('srvid'), f.u32('clientId'),
  f.u32('flags'), f.lengthOf('data'), f.bytes('data', 'data')]);
layouts[Operation.REPLY_CONTROL] = layout('REPLY_CONTROL', 48, [f.i32('status'), f.lengthOf('data'),
  f.lengthOf('errorMessage'), f.bytes('data', 'data'), f.bytes('errorMessage', 'errorMessage')]);
layouts[Operation.REQ_KEEPALIVE] = layout('REQ_KEEPALIVE', 40, [f.u32('version'), f.u32('uptime')]);
layouts[Operation.REQ_TUNNEL] = layout('REQ_TUNNEL', 56, [f.u64('tunnelId'), f.u32('flags'), f.lengthOf('data'),
  f.bytes('data', 'data')]);

/** The old header-only keepalive (length 32, no version/uptime). */
const headerOnlyKeepalive = struct<PacketCommon & { operation: number }>('REQ_KEEPALIVE', headerFields);

/** Operations whose body ends with the ltdb flags word outside the counted lengths. */
const hasRecordFlagsTrailer = (op: number) => op === Operation.REQ_DMASTER || op === Operation.REPLY_DMASTER;

export function operationName(op: number): string {
  return operationNames[op] ?? `UNKNOWN_OPERATION_${op}`;
}

const decodeState = { o: 0 };

function u32At(buf: Buffer, o: number): number {
  return (buf[o] | (buf[o + 1] << 8) | (buf[o + 2] << 16)) + buf[o + 3] * 16777216;
}

/**
 * Decode one complete packet (exactly the bytes framed by its `length`).
 * Checks magic and version; the framer enforces the length rules.
 */
export function decodePacket(buf: Buffer): Packet {
  if (buf.length < HEADER_SIZE) {
    throw new CtdbDecodeError('ctdb_req_header', 'length', 0, `packet of ${buf.length} bytes is shorter than the 32-byte header`);
  }
  // Plain byte arithmetic: the 32 bytes are known to be there (no per-read bounds checks).
  const length = u32At(buf, 0);
  const magic = u32At(buf, 4);
  if (magic !== CTDB_MAGIC) {
    throw new CtdbDecodeError('ctdb_req_header', 'ctdb_magic', 4, `expected 0x43544442, got 0x${magic.toString(16)}`);
  }
  const version = u32At(buf, 8);
  if (version !== CTDB_PROTOCOL) {
    throw new CtdbDecodeError('ctdb_req_header', 'ctdb_version', 8, `expected ${CTDB_PROTOCOL}, got ${version}`);
  }
  if (length !== buf.length) {
    throw new CtdbDecodeError('ctdb_req_header', 'length', 0, `header says ${length} bytes, packet has ${buf.length}`);
  }
  const op = u32At(buf, 16);
  const lay = layouts[op];
  if (!lay) {
    throw new CtdbDecodeError('ctdb_req_header', 'operation', 16, `unknown operation ${op}`);
  }
  if (op === Operation.REQ_KEEPALIVE && length < HEADER_SIZE + 8) {
    return headerOnlyKeepalive.decodeIn(buf, 0, length, decodeState) as Packet;
  }
  // Offsets in errors are packet offsets: the body is decoded in place.
  const p = lay.full.decodeIn(buf, 0, length, decodeState);
  if (hasRecordFlagsTrailer(op)) {
    // Read only if it fits inside the packet; otherwise it is 0 (wire.md §3.4).
    const end = decodeState.o;
    p.recordFlags = end + 4 <= length ? buf.readUInt32LE(end) : 0;
  }
  return p as Packet;
}

export type PaddingMode =
  /** ctdbd: max(exact, C struct minimum), rounded up to 8 (wire.md §1). */
  | 'daemon'
  /** new-style client library: exact length rounded up to 8. */
  | 'client'
  /** smbd: exact, unrounded length (accepted on the unix socket only). */
  | 'none';

export interface EncodeOptions {
  padding?: PaddingMode;
  /** Force this total length (>= the exact size); zero-filled. Overrides padding. */
  length?: number;
}

/** Exact (unpadded) size of a packet. */
export function packetExactSize(p: Packet): number {
  const lay = layoutOf(p.operation);
  if (p.operation === Operation.REQ_KEEPALIVE && p.version === undefined) return HEADER_SIZE;
  return lay.full.encodedSize(p) + (hasRecordFlagsTrailer(p.operation) ? 4 : 0);
}

export function encodePacket(p: Packet, opts: EncodeOptions = {}): Buffer {
  const lay = layoutOf(p.operation);
  const headerOnly = p.operation === Operation.REQ_KEEPALIVE && p.version === undefined;
  const def = headerOnly ? headerOnlyKeepalive : lay.full;
  const trailer = hasRecordFlagsTrailer(p.operation);
  const exact = def.encodedSize(p) + (trailer ? 4 : 0);
  let length: number;
  if (opts.length !== undefined) {
    if (!Number.isInteger(opts.length) || opts.length < exact || opts.length > 0xffffffff) {
      throw new CtdbEncodeError(operationName(p.operation), 'length', `${opts.length} < exact size ${exact}`);
    }
    length = opts.length;
  } else {
    const mode = opts.padding ?? 'daemon';
    length = mode === 'none' || headerOnly ? exact : roundUp8(mode === 'daemon' ? Math.max(exact, lay.cMin) : exact);
  }
  const out = Buffer.allocUnsafe(length);
  let end = def.write(p, out, 0);
  if (trailer) {
    const flags = (p as ReqDmaster).recordFlags ?? 0;
    if ((flags >>> 0) !== flags) throw new CtdbEncodeError(operationName(p.operation), 'recordFlags', `expected u32, got ${String(flags)}`);
    end = out.writeUInt32LE(flags, end);
  }
  // Padding is at most 7 bytes unless a length was forced; byte stores beat fill() for that.
  if (length - end > 16) out.fill(0, end);
  else for (let i = end; i < length; i++) out[i] = 0;
  return out;
}

/** Padding byte ranges of an encoded packet: pad fields and bytes beyond the exact size. */
export function packetPadRanges(p: Packet, length: number): Array<[number, number]> {
  const lay = layoutOf(p.operation);
  if (p.operation === Operation.REQ_KEEPALIVE && p.version === undefined) return length > HEADER_SIZE ? [[HEADER_SIZE, length]] : [];
  const ranges = lay.full.padRanges(p);
  const exact = packetExactSize(p);
  if (length > exact) ranges.push([exact, length]);
  return ranges;
}

/** Offset of the data in a REQ_TUNNEL: header (32) + tunnel id (8) + flags (4) + data length (4). */
export const TUNNEL_DATA_OFFSET = 48;

/**
 * Writes a REQ_TUNNEL's header and tunnel fields into the first
 * TUNNEL_DATA_OFFSET bytes of `frame`, whose data already follows them: a
 * sender that built its payload with that much room in front sends it without
 * another copy. The length is exact (padding 'none', as smbd sends; accepted
 * on the unix socket). Generation and reqid are 0 (ctdbd ignores them from
 * clients); the u64 tunnel id comes as two u32 halves, so no BigInt work is
 * done per packet. Fields as arguments, not an object: this runs per packet.
 */
export function writeTunnelFrameHeader(
  frame: Buffer, destnode: number, srcnode: number, tunnelIdLow: number, tunnelIdHigh: number, flags: number,
): Buffer {
  const length = frame.length;
  if (length < TUNNEL_DATA_OFFSET) throw new CtdbEncodeError('REQ_TUNNEL', 'length', `${length} < ${TUNNEL_DATA_OFFSET}`);
  putU32LE(frame, 0, length);
  putU32LE(frame, 4, CTDB_MAGIC);
  putU32LE(frame, 8, CTDB_PROTOCOL);
  putU32LE(frame, 12, 0);
  putU32LE(frame, 16, Operation.REQ_TUNNEL);
  putU32LE(frame, 20, destnode);
  putU32LE(frame, 24, srcnode);
  putU32LE(frame, 28, 0);
  putU32LE(frame, 32, tunnelIdLow);
  putU32LE(frame, 36, tunnelIdHigh);
  putU32LE(frame, 40, flags);
  putU32LE(frame, 44, length - TUNNEL_DATA_OFFSET);
  return frame;
}

export function roundUp8(n: number): number {
  return (n + 7) & ~7;
}

function layoutOf(op: number): OperationLayout {
  const layout = layouts[op];
  if (!layout) throw new CtdbEncodeError('ctdb_req_header', 'operation', `unknown operation ${op}`);
  return layout;
}

/** The body definition of an operation (fields after the header), for tests and tools. */
export function packetBodyDef(op: number): StructDef<any> | undefined {
  return layouts[op]?.body;
}

/** ctdbd's C struct minimum length of an operation before 8-rounding (wire.md §3). */
export function packetMinLength(op: number): number | undefined {
  return layouts[op]?.cMin;
}
