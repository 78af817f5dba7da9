import { CTDB_MAGIC, CTDB_PROTOCOL, HEADER_SIZE } from './constants.ts';
import { CtdbFramingError } from './errors.ts';

/**
 * Splits a byte stream into packets by the header `length` (wire.md §1).
 * Accepts partial chunks and several packets per chunk; complete packets are
 * handed out as views on the received chunks (no copy) when possible.
 *
 * Modes:
 * - lenient (unix socket, daemon side): any length >= 32 is accepted,
 *   unpadded smbd packets included; magic/version are left to the decoder
 *   (ctdbd drops such packets but keeps the connection).
 * - strict (node-to-node TCP): length must be a multiple of 8 and magic and
 *   version must be right, otherwise the connection is dead, as in ctdbd.
 *
 * A framing error is thrown from push(); the framer is then unusable, because
 * the stream cannot be resynchronised.
 */
export interface FramerOptions {
  strict?: boolean;
  /** Largest accepted packet; ctdbd has no limit, we do (default 64 MiB). */
  maxPacketSize?: number;
}

export const DEFAULT_MAX_PACKET_SIZE = 64 * 1024 * 1024;

/**
 * A packet split across chunks is assembled in one buffer of its full length,
 * allocated as soon as its length is known, so each byte is copied once. Larger
 * packets are collected chunk by chunk and joined at the end instead, so a
 * header announcing a huge length cannot make us allocate before the bytes come.
 */
const ASSEMBLE_LIMIT = 1024 * 1024;

/** Little-endian u32 by plain byte arithmetic (the caller has checked that 4 bytes are there). */
function u32At(buf: Buffer, o: number): number {
  return (buf[o] | (buf[o + 1] << 8) | (buf[o + 2] << 16)) + buf[o + 3] * 16777216;
}

export class PacketFramer {
  private readonly strict: boolean;
  private readonly maxPacketSize: number;
  /** Bytes of a packet whose length is not known yet (< 4 bytes) or that exceeds ASSEMBLE_LIMIT. */
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** A packet of known length being assembled, and how many of its bytes are in. */
  private partial: Buffer | undefined;
  private filled = 0;
  /** Bytes of the stream already handed out as packets (for error offsets). */
  private consumed = 0;
  private failed: CtdbFramingError | undefined;

  constructor(opts: FramerOptions = {}) {
    this.strict = opts.strict ?? false;
    this.maxPacketSize = opts.maxPacketSize ?? DEFAULT_MAX_PACKET_SIZE;
  }

  /** Bytes held waiting for the rest of a packet. */
  get pendingBytes(): number {
    return this.partial ? this.filled : this.buffered;
  }

  push(chunk: Buffer, onPacket: (packet: Buffer) => void): void {
    if (this.failed) throw this.failed;
    if (chunk.length === 0) return;
    let buf = chunk;
    let off = 0;
    if (this.partial) {
      const packet = this.partial;
      const take = Math.min(packet.length - this.filled, chunk.length);
      chunk.copy(packet, this.filled, 0, take);
      this.filled += take;
      if (this.filled < packet.length) return;
      this.partial = undefined;
      this.filled = 0;
      // Strict mode: magic and version were not all there when the length was checked.
      this.check(packet, 0, packet.length);
      this.consumed += packet.length;
      off = take;
      onPacket(packet);
    } else if (this.buffered > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      if (this.buffered < 4) return;
      const need = this.peekLength();
      // A large packet: wait for all of it before copying anything together.
      if (need > ASSEMBLE_LIMIT && need <= this.maxPacketSize && this.buffered < need) return;
      buf = Buffer.concat(this.chunks, this.buffered);
      this.chunks = [];
      this.buffered = 0;
    }
    while (buf.length - off >= 4) {
      const length = u32At(buf, off);
      this.check(buf, off, length);
      if (buf.length - off < length) break;
      const packet = buf.subarray(off, off + length);
      off += length;
      this.consumed += length;
      onPacket(packet);
    }
    const rest = buf.length - off;
    if (rest === 0) return;
    // Keep private copies of the remainder: the caller may reuse its chunk.
    if (rest >= 4) {
      const length = u32At(buf, off);
      if (length <= ASSEMBLE_LIMIT) {
        this.partial = Buffer.allocUnsafe(length);
        this.filled = buf.copy(this.partial, 0, off);
        return;
      }
    }
    const copy = Buffer.from(buf.subarray(off));
    this.chunks = [copy];
    this.buffered = copy.length;
  }

  /** The length word of the buffered packet (needs 4 buffered bytes). */
  private peekLength(): number {
    const first = this.chunks[0];
    if (first.length >= 4) return first.readUInt32LE(0);
    return Buffer.concat(this.chunks, 4).readUInt32LE(0);
  }

  // No closures here: tsx (esbuild keepNames) wraps every function created
  // per call in a __name() helper, which costs more than the whole check.
  private check(buf: Buffer, off: number, length: number): void {
    if (length < HEADER_SIZE) this.fail('length', `length ${length} is shorter than the 32-byte header`);
    if (length > this.maxPacketSize) this.fail('length', `length ${length} exceeds the maximum packet size ${this.maxPacketSize}`);
    if (!this.strict) return;
    if (length % 8 !== 0) this.fail('length', `length ${length} is not a multiple of 8 (node-to-node rule)`);
    if (buf.length - off >= 12) {
      const magic = buf.readUInt32LE(off + 4);
      if (magic !== CTDB_MAGIC) this.fail('ctdb_magic', `expected 0x43544442, got 0x${magic.toString(16)}`);
      const version = buf.readUInt32LE(off + 8);
      if (version !== CTDB_PROTOCOL) this.fail('ctdb_version', `expected ${CTDB_PROTOCOL}, got ${version}`);
    }
  }

  private fail(field: CtdbFramingError['field'], reason: string): never {
    this.failed = new CtdbFramingError(field, this.consumed, reason);
    throw this.failed;
  }
}
