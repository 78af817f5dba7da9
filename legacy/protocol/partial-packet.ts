// Imported, not the global: Node defines global Buffer as a getter, a call per use.
import { Buffer } from 'node:buffer';

/**
 * One packet of known length whose bytes arrive in pieces (a stream reader
 * holds at most one). Packets up to 1 MiB get their whole buffer at once, so
 * each byte is copied once. Larger ones grow in a resizable ArrayBuffer
 * exactly as their bytes come: a header announcing a huge length costs
 * nothing until the bytes are there, nothing is copied twice, the pages are
 * the kernel's (not malloc's heap, which keeps freed memory), and release()
 * gives them back at once, without waiting for a garbage collection. (The
 * resize is exact because V8 zeroes what a shrink gives back: spare pages
 * would be touched then.) Fresh pages cost a fault each, which is why small
 * packets, the ones real traffic splits across reads, stay on malloc.
 */

/** Up to this length a partial packet's buffer is allocated whole on its first bytes (recovery's 1 MB record buffers fit). */
export const EAGER_PACKET_LIMIT = 1024 * 1024;

/** ES2024 resizable ArrayBuffer (Node 20's V8 has it; the project's lib is ES2022). */
interface ResizableArrayBuffer extends ArrayBuffer {
  resize(byteLength: number): void;
}
const Resizable = ArrayBuffer as unknown as new (length: number, opts: { maxByteLength: number }) => ResizableArrayBuffer;

export class PartialPacket {
  /** Bytes received so far. */
  filled = 0;
  private readonly eager: Buffer | undefined;
  private readonly growing: ResizableArrayBuffer | undefined;

  constructor(readonly length: number) {
    if (length <= EAGER_PACKET_LIMIT) this.eager = Buffer.allocUnsafe(length);
    else this.growing = new Resizable(0, { maxByteLength: length });
  }

  /** Takes the packet's missing bytes from src[from..to); returns how many it took. */
  fill(src: Buffer, from: number, to: number): number {
    const take = Math.min(this.length - this.filled, to - from);
    if (take <= 0) return 0;
    if (this.eager) {
      src.copy(this.eager, this.filled, from, from + take);
    } else {
      const ab = this.growing!;
      ab.resize(this.filled + take);
      new Uint8Array(ab, this.filled, take).set(src.subarray(from, from + take));
    }
    this.filled += take;
    return take;
  }

  get complete(): boolean {
    return this.filled === this.length;
  }

  /** Memory this packet holds now. */
  get heldBytes(): number {
    return this.eager ? this.length : this.growing!.byteLength;
  }

  /** The bytes received so far (a view: for header checks before the packet is complete). */
  received(): Buffer {
    return this.eager ? this.eager.subarray(0, this.filled) : Buffer.from(this.growing!, 0, this.filled);
  }

  /** The complete packet. Ownership passes to the caller: release() must not be called after. */
  take(): Buffer {
    return this.eager ?? Buffer.from(this.growing!, 0, this.length);
  }

  /** Gives the memory of a packet that will never be handed out back now (connection closed). */
  release(): void {
    this.growing?.resize(0);
    this.filled = 0;
  }
}
