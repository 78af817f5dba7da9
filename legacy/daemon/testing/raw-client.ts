import { connect, type Socket } from 'node:net';
import { ControlFlag, Node, Operation } from '../../protocol/constants.ts';
import { PacketFramer } from '../../protocol/framing.ts';
import {
  decodePacket, encodePacket, type Packet, type PaddingMode, type ReplyControl, type ReqMessage, type ReqTunnel,
} from '../../protocol/packets.ts';

/**
 * A deliberately thin unix-socket client for tests and benchmarks of the
 * embedded daemon (and of real ctdbd, for side-by-side checks): it speaks
 * raw packets through the reference codec, so tests can assert exact header
 * fields and send malformed bytes. Not a replacement for legacy/client.
 */
export class RawClient {
  readonly received: Packet[] = [];
  private readonly waiters: Array<{ match: (p: Packet) => boolean; resolve: (p: Packet) => void }> = [];
  private readonly framer = new PacketFramer();
  private nextReqid = 1000;
  closed = false;
  /** Called for every packet instead of buffering (benchmarks). */
  onPacket: ((p: Packet) => void) | undefined;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.framer.push(chunk, (buf) => this.dispatch(decodePacket(buf))));
    socket.on('close', () => { this.closed = true; });
    socket.on('error', () => undefined);
  }

  static open(path: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect(path);
      s.once('connect', () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  private dispatch(p: Packet): void {
    if (this.onPacket) {
      this.onPacket(p);
      return;
    }
    const i = this.waiters.findIndex((w) => w.match(p));
    if (i !== -1) {
      const [w] = this.waiters.splice(i, 1);
      w.resolve(p);
    } else {
      this.received.push(p);
    }
  }

  /** Next packet (already received or future) matching `match`. */
  next(match: (p: Packet) => boolean, timeoutMs = 5000): Promise<Packet> {
    const i = this.received.findIndex(match);
    if (i !== -1) return Promise.resolve(this.received.splice(i, 1)[0]);
    return new Promise((resolve, reject) => {
      const w = { match, resolve: (p: Packet) => { clearTimeout(timer); resolve(p); } };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`no matching packet within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** Resolves true if no matching packet arrives within `ms`. */
  async nothing(match: (p: Packet) => boolean, ms: number): Promise<boolean> {
    try {
      await this.next(match, ms);
      return false;
    } catch {
      return true;
    }
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  send(p: Packet, padding: PaddingMode = 'client'): void {
    this.socket.write(encodePacket(p, { padding }));
  }

  allocReqid(): number {
    return this.nextReqid++;
  }

  controlPacket(opcode: number, opts: { destnode?: number; data?: Buffer; srvid?: bigint; flags?: number; reqid?: number } = {}): Packet {
    return {
      operation: Operation.REQ_CONTROL, generation: 0, destnode: opts.destnode ?? Node.CURRENT, srcnode: 0,
      reqid: opts.reqid ?? this.allocReqid(), opcode, srvid: opts.srvid ?? 0n, clientId: 0, flags: opts.flags ?? 0,
      data: opts.data ?? Buffer.alloc(0),
    };
  }

  /** Sends a control and waits for its REPLY_CONTROL. */
  async control(opcode: number, opts: { destnode?: number; data?: Buffer; srvid?: bigint; flags?: number; timeoutMs?: number; padding?: PaddingMode } = {}): Promise<ReplyControl> {
    const p = this.controlPacket(opcode, opts);
    const reply = this.next((r) => r.operation === Operation.REPLY_CONTROL && r.reqid === p.reqid, opts.timeoutMs);
    this.send(p, opts.padding);
    return (await reply) as ReplyControl;
  }

  /** Fire-and-forget control (NOREPLY). */
  controlNoReply(opcode: number, opts: { destnode?: number; data?: Buffer; srvid?: bigint } = {}): void {
    this.send(this.controlPacket(opcode, { ...opts, flags: ControlFlag.NOREPLY }));
  }

  message(destnode: number, srvid: bigint, data: Buffer, padding: PaddingMode = 'client'): void {
    this.send({ operation: Operation.REQ_MESSAGE, generation: 0, destnode, srcnode: 0, reqid: 0, srvid, data }, padding);
  }

  tunnel(destnode: number, tunnelId: bigint, data: Buffer, flags = 0, reqid = 0): void {
    this.send({ operation: Operation.REQ_TUNNEL, generation: 0, destnode, srcnode: 0, reqid, tunnelId, flags, data });
  }

  nextMessage(srvid: bigint, timeoutMs?: number): Promise<ReqMessage> {
    return this.next((p) => p.operation === Operation.REQ_MESSAGE && p.srvid === srvid, timeoutMs) as Promise<ReqMessage>;
  }

  nextTunnel(tunnelId: bigint, timeoutMs?: number): Promise<ReqTunnel> {
    return this.next((p) => p.operation === Operation.REQ_TUNNEL && p.tunnelId === tunnelId, timeoutMs) as Promise<ReqTunnel>;
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.destroy();
    });
  }
}
