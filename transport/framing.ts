// Stream framing for byte streams (the local unix socket): accepts chunks
// split anywhere, checks the length against the bound before buffering a
// payload, and skips (without buffering) frames whose header is invalid.

import { DEFAULT_MAX_PAYLOAD, HEADER_SIZE, Offset, checkHeader, readRawHeader, type TransportHeader } from './header.ts';
import { TransportDecodeError } from './errors.ts';
import type { Packet } from './packet.ts';

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
      if (this.size < this.header.payloadLength) return events;
      const payload = this.take(this.header.payloadLength);
      events.push({ kind: 'packet', packet: { header: this.header, payload, frame: undefined } });
      this.header = undefined;
    }
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
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0];
      const k = Math.min(c.length, n - filled);
      c.copy(out, filled, 0, k);
      filled += k;
      this.consume(k);
    }
    return out;
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
