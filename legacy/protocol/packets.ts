import { CTDB_MAGIC, CTDB_PROTOCOL, HEADER_SIZE, Operation, operationNames } from './constants.ts';
import { CtdbDecodeError, CtdbEncodeError } from './errors.ts';
import { f, struct, type StructDef } from './struct.ts';

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

interface OperationLayout {
  body: StructDef<any>;
  /** ctdbd's C struct minimum (before 8-rounding), wire.md §3. */
  cMin: number;
}

const layouts: Record<number, OperationLayout> = {
  [Operation.REQ_CALL]: {
    cMin: 60,
    body: struct('REQ_CALL', [f.u32('flags'), f.u32('dbId'), f.u32('callId'), f.u32('hopcount'),
      f.lengthOf('key'), f.lengthOf('callData'), f.bytes('key', 'key'), f.bytes('callData', 'callData')]),
  },
  [Operation.REPLY_CALL]: {
    cMin: 44,
    body: struct('REPLY_CALL', [f.i32('status'), f.lengthOf('data'), f.bytes('data', 'data')]),
  },
  [Operation.REQ_DMASTER]: {
    cMin: 64,
    body: struct('REQ_DMASTER', [f.u32('dbId'), f.pad(4), f.u64('rsn'), f.u32('dmaster'),
      f.lengthOf('key'), f.lengthOf('data'), f.bytes('key', 'key'), f.bytes('data', 'data')]),
  },
  [Operation.REPLY_DMASTER]: {
    cMin: 64,
    body: struct('REPLY_DMASTER', [f.u32('dbId'), f.pad(4), f.u64('rsn'),
      f.lengthOf('key'), f.lengthOf('data'), f.bytes('key', 'key'), f.bytes('data', 'data')]),
  },
  [Operation.REPLY_ERROR]: {
    cMin: 44,
    body: struct('REPLY_ERROR', [f.i32('status'), f.lengthOf('msg'), f.bytes('msg', 'msg')]),
  },
  [Operation.REQ_MESSAGE]: {
    cMin: 48,
    body: struct('REQ_MESSAGE', [f.u64('srvid'), f.lengthOf('data'), f.bytes('data', 'data')]),
  },
  [Operation.REQ_CONTROL]: {
    cMin: 64,
    body: struct('REQ_CONTROL', [f.u32('opcode'), f.pad(4), f.u64('srvid'), f.u32('clientId'),
      f.u32('flags'), f.lengthOf('data'), f.bytes('data', 'data')]),
  },
  [Operation.REPLY_CONTROL]: {
    cMin: 48,
    body: struct('REPLY_CONTROL', [f.i32('status'), f.lengthOf('data'), f.lengthOf('errorMessage'),
      f.bytes('data', 'data'), f.bytes('errorMessage', 'errorMessage')]),
  },
  [Operation.REQ_KEEPALIVE]: {
    cMin: 40,
    body: struct('REQ_KEEPALIVE', [f.u32('version'), f.u32('uptime')]),
  },
  [Operation.REQ_TUNNEL]: {
    cMin: 56,
    body: struct('REQ_TUNNEL', [f.u64('tunnelId'), f.u32('flags'), f.lengthOf('data'), f.bytes('data', 'data')]),
  },
};

/** Operations whose body ends with the ltdb flags word outside the counted lengths. */
const hasRecordFlagsTrailer = (op: number) => op === Operation.REQ_DMASTER || op === Operation.REPLY_DMASTER;

export function operationName(op: number): string {
  return operationNames[op] ?? `UNKNOWN_OPERATION_${op}`;
}

/**
 * Decode one complete packet (exactly the bytes framed by its `length`).
 * Checks magic and version; the framer enforces the length rules.
 */
export function decodePacket(buf: Buffer): Packet {
  if (buf.length < HEADER_SIZE) {
    throw new CtdbDecodeError('ctdb_req_header', 'length', 0, `packet of ${buf.length} bytes is shorter than the 32-byte header`);
  }
  const h = headerDef.decode(buf);
  if (h.magic !== CTDB_MAGIC) {
    throw new CtdbDecodeError('ctdb_req_header', 'ctdb_magic', 4, `expected 0x43544442, got 0x${h.magic.toString(16)}`);
  }
  if (h.version !== CTDB_PROTOCOL) {
    throw new CtdbDecodeError('ctdb_req_header', 'ctdb_version', 8, `expected ${CTDB_PROTOCOL}, got ${h.version}`);
  }
  if (h.length !== buf.length) {
    throw new CtdbDecodeError('ctdb_req_header', 'length', 0, `header says ${h.length} bytes, packet has ${buf.length}`);
  }
  const layout = layouts[h.operation];
  if (!layout) {
    throw new CtdbDecodeError('ctdb_req_header', 'operation', 16, `unknown operation ${h.operation}`);
  }
  const common = { generation: h.generation, destnode: h.destnode, srcnode: h.srcnode, reqid: h.reqid, length: h.length };
  const bodyBuf = buf.subarray(HEADER_SIZE);
  if (h.operation === Operation.REQ_KEEPALIVE && bodyBuf.length < 8) {
    return { operation: Operation.REQ_KEEPALIVE, ...common };
  }
  let body: Record<string, unknown>;
  let size: number;
  try {
    ({ value: body, size } = layout.body.decodeWithSize(bodyBuf));
  } catch (err) {
    throw shiftOffset(err, HEADER_SIZE);
  }
  if (hasRecordFlagsTrailer(h.operation)) {
    // Read only if it fits inside the packet; otherwise it is 0 (wire.md §3.4).
    body.recordFlags = size + 4 <= bodyBuf.length ? bodyBuf.readUInt32LE(size) : 0;
  }
  return { operation: h.operation, ...common, ...body } as Packet;
}

/** Offsets in body errors are relative to the body; report them from packet start. */
function shiftOffset(err: unknown, by: number): unknown {
  if (err instanceof CtdbDecodeError) {
    return new CtdbDecodeError(err.structure, err.field, err.offset + by, err.reason);
  }
  return err;
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
  const layout = layoutOf(p.operation);
  if (p.operation === Operation.REQ_KEEPALIVE && p.version === undefined) return HEADER_SIZE;
  return HEADER_SIZE + layout.body.encodedSize(p) + (hasRecordFlagsTrailer(p.operation) ? 4 : 0);
}

export function encodePacket(p: Packet, opts: EncodeOptions = {}): Buffer {
  const layout = layoutOf(p.operation);
  const exact = packetExactSize(p);
  let length: number;
  if (opts.length !== undefined) {
    if (opts.length < exact) throw new CtdbEncodeError(operationName(p.operation), 'length', `${opts.length} < exact size ${exact}`);
    length = opts.length;
  } else {
    const mode = opts.padding ?? 'daemon';
    length = mode === 'none' ? exact : roundUp8(mode === 'daemon' ? Math.max(exact, layout.cMin) : exact);
  }
  const out = Buffer.alloc(length);
  headerDef.write({
    length, magic: CTDB_MAGIC, version: CTDB_PROTOCOL, generation: p.generation,
    operation: p.operation, destnode: p.destnode, srcnode: p.srcnode, reqid: p.reqid,
  }, out, 0);
  if (exact > HEADER_SIZE) {
    const end = layout.body.write(p, out, HEADER_SIZE);
    if (hasRecordFlagsTrailer(p.operation)) out.writeUInt32LE((p as ReqDmaster).recordFlags >>> 0, end);
  }
  return out;
}

export function roundUp8(n: number): number {
  return (n + 7) & ~7;
}

function layoutOf(op: number): OperationLayout {
  const layout = layouts[op];
  if (!layout) throw new CtdbEncodeError('ctdb_req_header', 'operation', `unknown operation ${op}`);
  return layout;
}
