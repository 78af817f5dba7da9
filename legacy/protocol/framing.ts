import { CTDB_MAGIC, CTDB_PROTOCOL, HEADER_SIZE } from './constants.ts';
import { CtdbFramingError } from './errors.ts';
import { PartialPacket } from './partial-packet.ts';

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
 * the stream cannot be resynchronised. A packet split across reads is
 * assembled in a PartialPacket (memory grows with the bytes received, never
 * with the length announced); a reader whose connection closes calls
 * release() to give that memory back at once.
 */
export interface FramerOptions {
  strict?: boolean;
  /** Largest accepted packet; ctdbd has no limit, we do (default 64 MiB). */
  maxPacketSize?: number;
}

export const DEFAULT_MAX_PACKET_SIZE = 64 * 1024 * 1024;

/** Little-endian u32 by plain byte arithmetic (the caller has checked that 4 bytes are there). */
function u32At(buf: Buffer, o: number): number {
  return (buf[o] | (buf[o + 1] << 8) | (buf[o + 2] << 16)) + buf[o + 3] * 16777216;
}

export class PacketFramer {
  private readonly strict: boolean;
  private readonly maxPacketSize: number;
  /** The first bytes (< 4) of a packet whose length word is not complete yet. */
  private head: Buffer | undefined;
  /** A packet of known length being assembled (partial-packet.ts: memory grows with the bytes that came). */
  private partial: PartialPacket | undefined;
  /** Strict mode: magic and version of `partial` were checked. */
  private partialChecked = false;
  /** Bytes of the stream already handed out as packets (for error offsets). */
  private consumed = 0;
  private failed: CtdbFramingError | undefined;
  /** Packets handed out so far: a reader that progresses is not a stalled one. */
  packetsOut = 0;

  constructor(opts: FramerOptions = {}) {
    this.strict = opts.strict ?? false;
    this.maxPacketSize = opts.maxPacketSize ?? DEFAULT_MAX_PACKET_SIZE;
  }

  /** Bytes received of the packet not complete yet. */
  get pendingBytes(): number {
    return this.partial ? this.partial.filled : this.head ? this.head.length : 0;
  }

  /** Memory held for the packet not complete yet. */
  get heldBytes(): number {
    return this.partial ? this.partial.heldBytes : this.head ? this.head.length : 0;
  }

  /** Part of a packet has come and the rest has not. */
  get midPacket(): boolean {
    return this.partial !== undefined || this.head !== undefined;
  }

  /** Drops a packet not complete yet and gives its memory back now (the connection is gone). */
  release(): void {
    this.partial?.release();
    this.partial = undefined;
    this.head = undefined;
  }

  push(chunk: Buffer, onPacket: (packet: Buffer) => void): void {
    if (this.failed) throw this.failed;
    if (chunk.length === 0) return;
    let buf = chunk;
    let off = 0;
    if (this.partial) {
      const partial = this.partial;
      off = partial.fill(chunk, 0, chunk.length);
      // Strict mode: magic and version were not all there when the length was checked.
      if (this.strict && !this.partialChecked && partial.filled >= 12) {
        this.check(partial.received(), 0, partial.length);
        this.partialChecked = true;
      }
      if (!partial.complete) return;
      this.partial = undefined;
      const packet = partial.take();
      this.check(packet, 0, packet.length);
      this.consumed += packet.length;
      this.packetsOut++;
      onPacket(packet);
    } else if (this.head) {
      buf = Buffer.concat([this.head, chunk]);
      this.head = undefined;
    }
    while (buf.length - off >= 4) {
      const length = u32At(buf, off);
      this.check(buf, off, length);
      if (buf.length - off < length) break;
      const packet = buf.subarray(off, off + length);
      off += length;
      this.consumed += length;
      this.packetsOut++;
      onPacket(packet);
    }
    const rest = buf.length - off;
    if (rest === 0) return;
    // Keep private copies of the remainder: the caller may reuse its chunk.
    if (rest < 4) {
      this.head = Buffer.from(buf.subarray(off));
      return;
    }
    const partial = new PartialPacket(u32At(buf, off));
    partial.fill(buf, off, buf.length);
    this.partial = partial;
    this.partialChecked = rest >= 12;
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
