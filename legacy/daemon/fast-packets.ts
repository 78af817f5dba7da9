// Imported, not the global: Node defines global Buffer as a getter, a call per use.
import { Buffer } from 'node:buffer';
import { CTDB_MAGIC, CTDB_PROTOCOL, HEADER_SIZE, Operation } from '../protocol/constants.ts';
import { PacketBoundsError } from './errors.ts';

/**
 * Hot-path packet access for the daemon: fixed header offsets read and
 * patched in place, replies built with one allocation. Same bytes as
 * legacy/protocol/packets.ts (fast-packets.test.ts checks that); packets.ts
 * stays the reference codec, this file only avoids per-packet objects.
 */

export const H = {
  LENGTH: 0, MAGIC: 4, VERSION: 8, GENERATION: 12, OPERATION: 16, DESTNODE: 20, SRCNODE: 24, REQID: 28,
} as const;

/** REQ_CONTROL body offsets (wire.md §3.7). */
export const C = { OPCODE: 32, SRVID: 40, CLIENT_ID: 48, FLAGS: 52, DATALEN: 56, DATA: 60, CMIN: 64 } as const;
/** REQ_MESSAGE (§3.6). */
export const M = { SRVID: 32, DATALEN: 40, DATA: 44, CMIN: 48 } as const;
/** REQ_TUNNEL (§3.10). */
export const T = { TUNNEL_ID: 32, FLAGS: 40, DATALEN: 44, DATA: 48, CMIN: 56 } as const;
/** REPLY_CONTROL (§3.8). */
export const R = { STATUS: 32, DATALEN: 36, ERRORLEN: 40, DATA: 44, CMIN: 48 } as const;
/** REQ_CALL (§3.1) / REPLY_CALL (§3.2). */
export const CALL = { DB_ID: 36, KEYLEN: 48, CALLDATALEN: 52, KEY: 56, CMIN: 60 } as const;
export const REPLY_CALL_CMIN = 44;

/** Exact for any length up to 2^53 (`(n + 7) & ~7` wraps at 2^31 and 2^32). */
export function roundUp8(n: number): number {
  return n + (-n & 7);
}

/** ctdbd's length rule: max(exact, C minimum), rounded up to 8. */
export function daemonLength(exact: number, cMin: number): number {
  return roundUp8(exact > cMin ? exact : cMin);
}

/**
 * Zeroes the padding b[from..end). A loop: the pad is a few bytes, and
 * Buffer.fill() costs a call into C++ per packet.
 */
export function zeroFrom(b: Buffer, from: number): void {
  for (let i = from; i < b.length; i++) b[i] = 0;
}

/**
 * Declared sizes that do not fit their packet: the operation's inner length
 * fields (datalen, errorlen, keylen, ...) put the end of its payload past
 * the bytes present, or the packet is shorter than its fixed part. Sums are
 * plain numbers, so no u32 wrap hides a lie.
 */
export interface SizeLie {
  operation: number;
  /** The field that takes the end past the packet ('length' when the fixed part is missing). */
  field: string;
  /** Length fields as declared, by wire name. */
  declared: Record<string, number>;
  /** Where the declared payload ends. */
  end: number;
  /** Bytes the packet holds. */
  length: number;
}

/**
 * The one home for the size rules of the operations the daemon reads or
 * forwards (wire.md §3); others pass (they are dropped unread). Undefined
 * when the sizes are consistent: no allocation on the hot path.
 */
export function sizeLie(p: Buffer): SizeLie | undefined {
  const op = p.readUInt32LE(H.OPERATION);
  switch (op) {
    case Operation.REQ_CONTROL: return oneLength(p, op, C.DATALEN, 'datalen');
    case Operation.REQ_MESSAGE: return oneLength(p, op, M.DATALEN, 'datalen');
    case Operation.REQ_TUNNEL: return oneLength(p, op, T.DATALEN, 'datalen');
    case Operation.REPLY_CONTROL: return twoLengths(p, op, R.DATALEN, 'datalen', 'errorlen');
    case Operation.REQ_CALL: return twoLengths(p, op, CALL.KEYLEN, 'keylen', 'calldatalen');
    default: return undefined;
  }
}

/** A payload located by one u32 length at `at`, starting right after it. */
function oneLength(p: Buffer, op: number, at: number, name: string): SizeLie | undefined {
  const start = at + 4;
  if (p.length < start) return { operation: op, field: 'length', declared: {}, end: start, length: p.length };
  const a = p.readUInt32LE(at);
  if (start + a <= p.length) return undefined;
  return { operation: op, field: name, declared: { [name]: a }, end: start + a, length: p.length };
}

/** Two payloads back to back, located by two consecutive u32 lengths at `at`. */
function twoLengths(p: Buffer, op: number, at: number, nameA: string, nameB: string): SizeLie | undefined {
  const start = at + 8;
  if (p.length < start) return { operation: op, field: 'length', declared: {}, end: start, length: p.length };
  const a = p.readUInt32LE(at);
  const b = p.readUInt32LE(at + 4);
  if (start + a + b <= p.length) return undefined;
  return {
    operation: op, field: start + a > p.length ? nameA : nameB, declared: { [nameA]: a, [nameB]: b },
    end: start + a + b, length: p.length,
  };
}

export function validMagic(p: Buffer): boolean {
  return p.readUInt32LE(H.MAGIC) === CTDB_MAGIC && p.readUInt32LE(H.VERSION) === CTDB_PROTOCOL;
}

function writeHeader(b: Buffer, op: number, generation: number, destnode: number, srcnode: number, reqid: number): void {
  b.writeUInt32LE(b.length, H.LENGTH);
  b.writeUInt32LE(CTDB_MAGIC, H.MAGIC);
  b.writeUInt32LE(CTDB_PROTOCOL, H.VERSION);
  b.writeUInt32LE(generation >>> 0, H.GENERATION);
  b.writeUInt32LE(op, H.OPERATION);
  b.writeUInt32LE(destnode >>> 0, H.DESTNODE);
  b.writeUInt32LE(srcnode >>> 0, H.SRCNODE);
  b.writeUInt32LE(reqid >>> 0, H.REQID);
}

/** Patches the routing fields of a packet header in place. */
export function patchHeader(p: Buffer, generation: number, destnode: number, srcnode: number, reqid: number): void {
  p.writeUInt32LE(generation >>> 0, H.GENERATION);
  p.writeUInt32LE(destnode >>> 0, H.DESTNODE);
  p.writeUInt32LE(srcnode >>> 0, H.SRCNODE);
  p.writeUInt32LE(reqid >>> 0, H.REQID);
}

export function buildReplyControl(
  generation: number, destnode: number, srcnode: number, reqid: number,
  status: number, data: Buffer | undefined, error: Buffer | undefined,
): Buffer {
  const dl = data ? data.length : 0;
  const el = error ? error.length : 0;
  const b = Buffer.allocUnsafe(daemonLength(R.DATA + dl + el, R.CMIN));
  writeHeader(b, Operation.REPLY_CONTROL, generation, destnode, srcnode, reqid);
  b.writeInt32LE(status | 0, R.STATUS);
  b.writeUInt32LE(dl, R.DATALEN);
  b.writeUInt32LE(el, R.ERRORLEN);
  let off = R.DATA;
  if (data) off += data.copy(b, off);
  if (error) off += error.copy(b, off);
  zeroFrom(b, off);
  return b;
}

export function buildReqControl(
  generation: number, destnode: number, srcnode: number, reqid: number,
  opcode: number, srvid: bigint, clientId: number, flags: number, data: Buffer | undefined,
): Buffer {
  const dl = data ? data.length : 0;
  const b = Buffer.allocUnsafe(daemonLength(C.DATA + dl, C.CMIN));
  writeHeader(b, Operation.REQ_CONTROL, generation, destnode, srcnode, reqid);
  b.writeUInt32LE(opcode >>> 0, C.OPCODE);
  b.writeUInt32LE(0, C.OPCODE + 4);
  b.writeBigUInt64LE(srvid, C.SRVID);
  b.writeUInt32LE(clientId >>> 0, C.CLIENT_ID);
  b.writeUInt32LE(flags >>> 0, C.FLAGS);
  b.writeUInt32LE(dl, C.DATALEN);
  let off = C.DATA;
  if (data) off += data.copy(b, off);
  zeroFrom(b, off);
  return b;
}

export function buildMessage(generation: number, destnode: number, srcnode: number, srvid: bigint, data: Buffer): Buffer {
  const b = Buffer.allocUnsafe(daemonLength(M.DATA + data.length, M.CMIN));
  writeHeader(b, Operation.REQ_MESSAGE, generation, destnode, srcnode, 0);
  b.writeBigUInt64LE(srvid, M.SRVID);
  b.writeUInt32LE(data.length, M.DATALEN);
  const off = M.DATA + data.copy(b, M.DATA);
  zeroFrom(b, off);
  return b;
}

/**
 * A copy of an existing packet's header+body (first `exact` bytes) with the
 * daemon's length; routing fields patched. Used when the original cannot be
 * reused (unpadded client packet, several destinations). `exact` beyond the
 * packet throws PacketBoundsError: the copy would carry unwritten bytes.
 */
export function copyPacket(p: Buffer, exact: number, cMin: number,
  generation: number, destnode: number, srcnode: number, reqid: number): Buffer {
  if (!(exact >= HEADER_SIZE && exact <= p.length)) throw new PacketBoundsError(exact, p.length);
  const b = Buffer.allocUnsafe(daemonLength(exact, cMin));
  p.copy(b, 0, 0, exact);
  zeroFrom(b, exact);
  b.writeUInt32LE(b.length, H.LENGTH);
  patchHeader(b, generation, destnode, srcnode, reqid);
  return b;
}

/**
 * The packet itself, patched in place, when its length already is the
 * daemon's length for `exact`; otherwise a fresh copy. The caller must own
 * `p` (a view into a chunk we read) and not use it again. Refuses `exact`
 * beyond the packet as copyPacket does.
 */
export function reusePacket(p: Buffer, exact: number, cMin: number,
  generation: number, destnode: number, srcnode: number, reqid: number): Buffer {
  if (!(exact >= HEADER_SIZE && exact <= p.length)) throw new PacketBoundsError(exact, p.length);
  const want = daemonLength(exact, cMin);
  if (p.length !== want) return copyPacket(p, exact, cMin, generation, destnode, srcnode, reqid);
  if (exact < want) zeroFrom(p, exact);
  patchHeader(p, generation, destnode, srcnode, reqid);
  return p;
}

export function buildKeepalive(generation: number, destnode: number, srcnode: number, version: number, uptime: number): Buffer {
  const b = Buffer.allocUnsafe(40);
  writeHeader(b, Operation.REQ_KEEPALIVE, generation, destnode, srcnode, 0);
  b.writeUInt32LE(version >>> 0, 32);
  b.writeUInt32LE(uptime >>> 0, 36);
  return b;
}

export function buildReplyCall(generation: number, destnode: number, srcnode: number, reqid: number, status: number, data?: Buffer): Buffer {
  const dl = data ? data.length : 0;
  const b = Buffer.allocUnsafe(daemonLength(40 + dl, REPLY_CALL_CMIN));
  writeHeader(b, Operation.REPLY_CALL, generation, destnode, srcnode, reqid);
  b.writeInt32LE(status | 0, 32);
  b.writeUInt32LE(dl, 36);
  let off = 40;
  if (data) off += data.copy(b, off);
  zeroFrom(b, off);
  return b;
}

export function buildTunnel(generation: number, destnode: number, srcnode: number, tunnelId: bigint, flags: number, data: Buffer): Buffer {
  const b = Buffer.allocUnsafe(daemonLength(T.DATA + data.length, T.CMIN));
  writeHeader(b, Operation.REQ_TUNNEL, generation, destnode, srcnode, 0);
  b.writeBigUInt64LE(tunnelId, T.TUNNEL_ID);
  b.writeUInt32LE(flags >>> 0, T.FLAGS);
  b.writeUInt32LE(data.length, T.DATALEN);
  const off = T.DATA + data.copy(b, T.DATA);
  zeroFrom(b, off);
  return b;
}

export { HEADER_SIZE };
