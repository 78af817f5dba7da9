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

export class PacketFramer {
  private readonly strict: boolean;
  private readonly maxPacketSize: number;
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes of the stream already handed out as packets (for error offsets). */
  private consumed = 0;
  private failed: CtdbFramingError | undefined;

  constructor(opts: FramerOptions = {}) {
    this.strict = opts.strict ?? false;
    this.maxPacketSize = opts.maxPacketSize ?? DEFAULT_MAX_PACKET_SIZE;
  }

  /** Bytes held waiting for the rest of a packet. */
  get pendingBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer, onPacket: (packet: Buffer) => void): void {
    if (this.failed) throw this.failed;
    if (chunk.length === 0) return;
    let buf: Buffer;
    if (this.buffered === 0) {
      buf = chunk;
    } else {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      // Wait for the whole packet before copying anything together.
      if (this.buffered < HEADER_SIZE) return;
      const need = this.peekLength();
      if (need !== undefined && need >= HEADER_SIZE && need <= this.maxPacketSize && this.buffered < need) return;
      buf = Buffer.concat(this.chunks, this.buffered);
      this.chunks = [];
      this.buffered = 0;
    }
    let off = 0;
    while (buf.length - off >= 4) {
      const length = buf.readUInt32LE(off);
      this.check(buf, off, length);
      if (buf.length - off < length) break;
      const packet = buf.subarray(off, off + length);
      off += length;
      this.consumed += length;
      onPacket(packet);
    }
    if (off < buf.length) {
      // Keep a private copy of the remainder: the caller may reuse its chunk.
      const rest = Buffer.from(buf.subarray(off));
      this.chunks = [rest];
      this.buffered = rest.length;
    }
  }

  private peekLength(): number | undefined {
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
