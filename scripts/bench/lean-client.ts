import { connect, type Socket } from 'node:net';
import { Node, Operation } from '../../legacy/protocol/constants.ts';
import { buildReqControl } from '../../legacy/daemon/fast-packets.ts';
import { Control } from '../../legacy/protocol/controls.ts';

/**
 * The benchmarks' deliberately lean legacy client (pre-built packets,
 * length-only parsing), so that daemons, not the client, are measured.
 */

/** Minimal framing: calls onPacket(buffer, offset, length) without copies when possible. */
export class LeanStream {
  private rest: Buffer | undefined;
  push(chunk: Buffer, onPacket: (b: Buffer, off: number, len: number) => void): void {
    let buf = chunk;
    if (this.rest) {
      buf = Buffer.concat([this.rest, chunk]);
      this.rest = undefined;
    }
    let off = 0;
    while (buf.length - off >= 4) {
      const len = buf.readUInt32LE(off);
      if (buf.length - off < len) break;
      onPacket(buf, off, len);
      off += len;
    }
    if (off < buf.length) this.rest = Buffer.from(buf.subarray(off));
  }
}

export class LeanClient {
  private readonly stream = new LeanStream();
  private readonly waiting = new Map<number, (status: number) => void>();
  private reqid = 0x7fffff38;
  onMessage: (() => void) | undefined;

  private constructor(readonly socket: Socket) {
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.stream.push(chunk, (b, off) => {
      const op = b.readUInt32LE(off + 16);
      if (op === Operation.REQ_MESSAGE) {
        this.onMessage?.();
      } else if (op === Operation.REPLY_CONTROL) {
        const id = b.readUInt32LE(off + 28);
        const w = this.waiting.get(id);
        if (w) {
          this.waiting.delete(id);
          w(b.readInt32LE(off + 32));
        }
      }
    }));
  }

  static open(path: string): Promise<LeanClient> {
    return new Promise((resolve, reject) => {
      const s = connect(path, () => resolve(new LeanClient(s)));
      s.once('error', reject);
    });
  }

  control(opcode: number, destnode: number = Node.CURRENT, srvid = 0n): Promise<number> {
    const id = this.reqid++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.socket.write(buildReqControl(0, destnode, 0, id, opcode, srvid, 0, 0, undefined));
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Median GET_PNN round trip in microseconds, after 200 warm-up calls. */
export async function controlRtt(c: LeanClient, destnode: number, n: number): Promise<number> {
  for (let i = 0; i < 200; i++) await c.control(Control.GET_PNN, destnode);
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await c.control(Control.GET_PNN, destnode);
    samples.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}
