// Stream framing for byte streams (the local unix socket): accepts chunks
// split anywhere, checks the length against the bound before buffering a
// payload, and skips (without buffering) frames whose header is invalid.

import { DEFAULT_MAX_PAYLOAD, HEADER_SIZE, Offset, checkHeader, readRawHeader, type TransportHeader } from './header.ts';
import { TransportDecodeError } from './errors.ts';
import { PACKET_ROOM, type Packet } from './packet.ts';

export type FrameEvent =
  | { kind: 'packet'; packet: Packet }
  /** A frame with a readable but invalid header; its payload was skipped, the stream goes on. */
  | { kind: 'invalid'; error: TransportDecodeError; raw: TransportHeader };

export class FrameReader {
  private chunks: Buffer[] = [];
  private size = 0;
  private header: TransportHeader | undefined;
  private skipping = 0;
  private broken: TransportDecodeError | undefined;
  private readonly maxPayload: number;

  constructor(opts: { maxPayload?: number } = {}) {
    this.maxPayload = opts.maxPayload ?? DEFAULT_MAX_PAYLOAD;
  }

  /** Bytes held waiting for the rest of a frame. */
  get buffered(): number {
    return this.size;
  }

  /**
   * Feeds a chunk; returns the frames it completed. Throws TransportDecodeError
   * on a bad magic: the stream cannot be resynchronised and must be closed.
   */
  push(chunk: Buffer): FrameEvent[] {
    if (this.broken) throw this.broken;
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.size += chunk.length;
    }
    const events: FrameEvent[] = [];
    for (;;) {
      if (this.skipping > 0) {
        const n = Math.min(this.skipping, this.size);
        this.discard(n);
        this.skipping -= n;
        if (this.skipping > 0) return events;
      }
      if (!this.header) {
        if (this.size < HEADER_SIZE) return events;
        const raw = this.take(HEADER_SIZE);
        const { magicOk, ...h } = readRawHeader(raw);
        if (!magicOk) {
          this.broken = new TransportDecodeError('magic', Offset.magic,
            `expected "CTBT", got 0x${raw.subarray(0, 4).toString('hex')}`);
          throw this.broken;
        }
        const problem = checkHeader(h, this.maxPayload);
        if (problem) {
          events.push({ kind: 'invalid', raw: h, error: new TransportDecodeError(problem.field, Offset[problem.field], problem.detail) });
          this.skipping = h.payloadLength;
          continue;
        }
        this.header = h;
      }
      const n = this.header.payloadLength;
      if (this.size < n) return events;
      const inOneChunk = n === 0 || this.chunks[0].length >= n;
      events.push({ kind: 'packet', packet: inOneChunk ? { header: this.header, payload: this.take(n), frame: undefined } : this.gather(this.header, n) });
      this.header = undefined;
    }
  }

  /**
   * A payload spread over several chunks is copied anyway: into a buffer with
   * PACKET_ROOM free in front (the packet's frame), where whoever forwards it
   * writes the transport header, and a carrier's own, in place (no second copy).
   */
  private gather(header: TransportHeader, n: number): Packet {
    const frame = Buffer.allocUnsafe(PACKET_ROOM + n);
    this.copyOut(frame, PACKET_ROOM, n);
    return { header, payload: frame.subarray(PACKET_ROOM), frame };
  }

  /** Removes and returns the first n buffered bytes (n <= size). */
  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0];
    if (first.length >= n) {
      const out = first.subarray(0, n);
      this.consume(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    this.copyOut(out, 0, n);
    return out;
  }

  /** Moves the first n buffered bytes (n <= size) into `out` from `at`. */
  private copyOut(out: Buffer, at: number, n: number): void {
    for (let filled = 0; filled < n;) {
      const c = this.chunks[0];
      const k = Math.min(c.length, n - filled);
      c.copy(out, at + filled, 0, k);
      filled += k;
      this.consume(k);
    }
  }

  private discard(n: number): void {
    while (n > 0) {
      const k = Math.min(this.chunks[0].length, n);
      this.consume(k);
      n -= k;
    }
  }

  /** Drops k bytes from the first chunk (k <= its length). */
  private consume(k: number): void {
    const c = this.chunks[0];
    if (k === c.length) this.chunks.shift();
    else this.chunks[0] = c.subarray(k);
    this.size -= k;
  }
}
