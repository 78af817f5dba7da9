import { HEADER_SIZE } from '../protocol/constants.ts';
import { PartialPacket } from '../protocol/partial-packet.ts';

/**
 * Splits a unix-socket client's byte stream the way ctdbd's queue does
 * (observed against ctdbd 4.17, see client-face tests):
 * - length 0 kills the connection;
 * - a length below the 32-byte header is consumed and dropped;
 * - any other length is a packet, padded or not (smbd sends exact lengths);
 * - a length above `maxPacketSize` is consumed without buffering and dropped
 *   (ctdbd would wait for and buffer it; we refuse to hold that much memory).
 * Magic/version are checked by the caller, which drops such packets. A packet
 * split across reads is assembled in a PartialPacket (memory follows the
 * bytes received, not the length announced); release() gives it back.
 */
export type StreamEvent =
  | { kind: 'fatal'; reason: string }
  | { kind: 'dropped'; length: number; reason: string };

export class ClientStream {
  /** The first bytes (< 4) of a packet whose length word is not complete yet. */
  private head: Buffer | undefined;
  /** A packet of known length being assembled (memory grows with the bytes that came). */
  private partial: PartialPacket | undefined;
  /** Bytes still to discard of an oversized packet. */
  private skipping = 0;
  /** Packets finished so far (handed out, dropped or skipped): a client that progresses is not stalled. */
  packetsOut = 0;

  constructor(private readonly maxPacketSize: number) {}

  /**
   * Feeds one chunk; calls onPacket for each complete packet (views into the
   * chunk when possible). Returns false if the stream is dead (fatal event).
   */
  push(chunk: Buffer, onPacket: (packet: Buffer) => void, onEvent: (e: StreamEvent) => void): boolean {
    let buf = chunk;
    let off = 0;
    if (this.skipping > 0) {
      if (buf.length <= this.skipping) {
        this.skipping -= buf.length;
        if (this.skipping === 0) this.packetsOut++;
        return true;
      }
      off = this.skipping;
      this.skipping = 0;
      this.packetsOut++;
    } else if (this.partial) {
      const partial = this.partial;
      off = partial.fill(chunk, 0, chunk.length);
      if (!partial.complete) return true;
      this.partial = undefined;
      this.finish(partial.take(), onPacket, onEvent);
    } else if (this.head) {
      buf = Buffer.concat([this.head, chunk]);
      this.head = undefined;
    }
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
        if (have >= length) {
          off += length;
          this.packetsOut++;
          continue;
        }
        this.skipping = length - have;
        return true;
      }
      if (end - off < length) break;
      this.finish(buf.subarray(off, off + length), onPacket, onEvent);
      off += length;
    }
    // Keep private copies of the remainder: the caller's chunk may be reused.
    if (off === end) return true;
    if (end - off < 4) {
      this.head = Buffer.from(buf.subarray(off));
      return true;
    }
    const partial = new PartialPacket(buf.readUInt32LE(off));
    partial.fill(buf, off, end);
    this.partial = partial;
    return true;
  }

  private finish(packet: Buffer, onPacket: (packet: Buffer) => void, onEvent: (e: StreamEvent) => void): void {
    this.packetsOut++;
    if (packet.length < HEADER_SIZE) {
      onEvent({ kind: 'dropped', length: packet.length, reason: `length ${packet.length} is shorter than the header` });
    } else {
      onPacket(packet);
    }
  }

  /** Bytes received of the packet not complete yet. */
  get pendingBytes(): number {
    return this.partial ? this.partial.filled : this.head ? this.head.length : 0;
  }

  /** Memory held for the packet not complete yet (an oversized one being skipped holds none). */
  get heldBytes(): number {
    return this.partial ? this.partial.heldBytes : this.head ? this.head.length : 0;
  }

  /** Part of a packet has come (or is being skipped) and the rest has not. */
  get midPacket(): boolean {
    return this.partial !== undefined || this.head !== undefined || this.skipping > 0;
  }

  /** Drops a packet not complete yet and gives its memory back now (the connection is gone). */
  release(): void {
    this.partial?.release();
    this.partial = undefined;
    this.head = undefined;
    this.skipping = 0;
  }
}
