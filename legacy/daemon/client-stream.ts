import { HEADER_SIZE } from '../protocol/constants.ts';

/**
 * Splits a unix-socket client's byte stream the way ctdbd's queue does
 * (observed against ctdbd 4.17, see client-face tests):
 * - length 0 kills the connection;
 * - a length below the 32-byte header is consumed and dropped;
 * - any other length is a packet, padded or not (smbd sends exact lengths);
 * - a length above `maxPacketSize` is consumed without buffering and dropped
 *   (ctdbd would wait for and buffer it; we refuse to hold that much memory).
 * Magic/version are checked by the caller, which drops such packets.
 */
export type StreamEvent =
  | { kind: 'fatal'; reason: string }
  | { kind: 'dropped'; length: number; reason: string };

export class ClientStream {
  private pending: Buffer[] = [];
  private pendingLen = 0;
  /** Length of the packet being assembled, once its first 4 bytes are in. */
  private needed = 0;
  /** Bytes still to discard of an oversized packet. */
  private skipping = 0;

  constructor(private readonly maxPacketSize: number) {}

  /**
   * Feeds one chunk; calls onPacket for each complete packet (views into the
   * chunk when possible). Returns a fatal event if the stream is dead.
   */
  push(chunk: Buffer, onPacket: (packet: Buffer) => void, onEvent: (e: StreamEvent) => void): boolean {
    let buf = chunk;
    if (this.skipping > 0) {
      if (buf.length <= this.skipping) {
        this.skipping -= buf.length;
        return true;
      }
      buf = buf.subarray(this.skipping);
      this.skipping = 0;
    }
    if (this.pendingLen > 0) {
      this.pending.push(buf);
      this.pendingLen += buf.length;
      if (this.needed === 0 && this.pendingLen >= 4) {
        const first = this.pending[0].length >= 4 ? this.pending[0] : Buffer.concat(this.pending);
        this.needed = first.readUInt32LE(0);
      }
      // Wait for the whole packet before copying anything together.
      if (this.needed === 0 || (this.needed <= this.maxPacketSize && this.pendingLen < this.needed)) return true;
      buf = Buffer.concat(this.pending, this.pendingLen);
      this.pending = [];
      this.pendingLen = 0;
      this.needed = 0;
    }
    let off = 0;
    const end = buf.length;
    while (end - off >= 4) {
      const length = buf.readUInt32LE(off);
      if (length === 0) {
        onEvent({ kind: 'fatal', reason: 'packet length 0' });
        return false;
      }
      if (length > this.maxPacketSize) {
        onEvent({ kind: 'dropped', length, reason: `length ${length} exceeds ${this.maxPacketSize}` });
        const have = end - off;
        if (have >= length) { off += length; continue; }
        this.skipping = length - have;
        return true;
      }
      if (end - off < length) break;
      if (length < HEADER_SIZE) {
        onEvent({ kind: 'dropped', length, reason: `length ${length} is shorter than the header` });
      } else {
        onPacket(buf.subarray(off, off + length));
      }
      off += length;
    }
    // Keep a private copy: the caller's chunk may be reused.
    if (off < end) {
      const rest = Buffer.from(buf.subarray(off));
      this.pending = [rest];
      this.pendingLen = rest.length;
      this.needed = rest.length >= 4 ? rest.readUInt32LE(0) : 0;
    }
    return true;
  }

  get pendingBytes(): number {
    return this.pendingLen;
  }
}
