import { connect, type Socket } from 'node:net';
import { CTDB_MAGIC, CTDB_PROTOCOL, HEADER_SIZE, Node, Operation } from '../../legacy/protocol/constants.ts';

/**
 * A legacy-protocol unix-socket client for hostile tests that never trusts
 * what comes back: it frames by the length field itself, keeps only the
 * first bytes of each packet, never throws from its data handler, and can
 * scan every received byte for a needle (the marker test). RawClient
 * (legacy/daemon/testing) decodes with the reference codec and would throw
 * on the malformed replies these tests provoke.
 */

/** One packet as received: its declared length and its first bytes. */
export interface WirePacket {
  length: number;
  operation: number;
  reqid: number;
  /** REPLY_CONTROL: status, datalen, errorlen as declared. */
  status?: number;
  datalen?: number;
  errorlen?: number;
  /** The first min(length, keepBytes) bytes. */
  head: Buffer;
}

export interface WireControlOptions {
  destnode?: number;
  data?: Buffer;
  srvid?: bigint;
  flags?: number;
  timeoutMs?: number;
  reqid?: number;
}

export class WireTimeoutError extends Error {
  override name = 'WireTimeoutError';
  constructor(opcode: number, ms: number) {
    super(`no reply to control ${opcode} within ${ms} ms`);
  }
}

export class WireClosedError extends Error {
  override name = 'WireClosedError';
  constructor() {
    super('connection closed before the reply');
  }
}

interface Waiter {
  resolve(p: WirePacket): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

const DEFAULT_KEEP = 64 * 1024;

export class LegacyWire {
  /** Packets nobody waited for (messages, unmatched replies), at most `backlog`. */
  readonly unsolicited: WirePacket[] = [];
  /** Bytes received in total. */
  bytesIn = 0;
  /** Occurrences of the needle in the received byte stream. */
  needleHits = 0;
  /** A length below the header size: the stream cannot be framed any further. */
  broken = false;
  closed = false;
  readonly closedPromise: Promise<void>;
  private readonly waiters = new Map<number, Waiter>();
  private nextReqid = 1;
  private cur: { length: number; got: number; head: Buffer[]; headLen: number } | undefined;
  private lenBytes: Buffer[] = [];
  private lenGot = 0;
  private tail = Buffer.alloc(0);

  private constructor(
    readonly socket: Socket,
    private readonly opts: { needle?: Buffer; keepBytes: number; backlog: number },
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined);
    this.closedPromise = new Promise((resolve) => socket.once('close', () => {
      this.closed = true;
      for (const w of this.waiters.values()) {
        clearTimeout(w.timer);
        w.reject(new WireClosedError());
      }
      this.waiters.clear();
      resolve();
    }));
  }

  static open(path: string, opts: { needle?: Buffer; keepBytes?: number; backlog?: number } = {}): Promise<LegacyWire> {
    return new Promise((resolve, reject) => {
      const s = connect(path);
      s.once('connect', () => {
        s.removeAllListeners('error');
        resolve(new LegacyWire(s, { needle: opts.needle, keepBytes: opts.keepBytes ?? DEFAULT_KEEP, backlog: opts.backlog ?? 1000 }));
      });
      s.once('error', reject);
    });
  }

  write(bytes: Buffer): boolean {
    if (this.closed) return false;
    return this.socket.write(bytes);
  }

  /** Resolves once the socket can take more (or is closed). */
  drained(): Promise<void> {
    if (this.closed || !this.socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  allocReqid(): number {
    const id = this.nextReqid;
    this.nextReqid = id >= 0x7fffffff ? 1 : id + 1;
    return id;
  }

  /** Sends a control and waits for the REPLY_CONTROL with its reqid. */
  control(opcode: number, opts: WireControlOptions = {}): Promise<WirePacket> {
    const reqid = opts.reqid ?? this.allocReqid();
    const ms = opts.timeoutMs ?? 5000;
    const reply = new Promise<WirePacket>((resolve, reject) => {
      if (this.closed) return reject(new WireClosedError());
      const timer = setTimeout(() => {
        this.waiters.delete(reqid);
        reject(new WireTimeoutError(opcode, ms));
      }, ms);
      this.waiters.set(reqid, { resolve, reject, timer });
    });
    this.write(controlPacket(opcode, { ...opts, reqid }));
    return reply;
  }

  /** A control without waiting (NOREPLY or not). */
  sendControl(opcode: number, opts: WireControlOptions = {}): number {
    const reqid = opts.reqid ?? this.allocReqid();
    this.write(controlPacket(opcode, { ...opts, reqid }));
    return reqid;
  }

  close(): Promise<void> {
    if (!this.closed) this.socket.destroy();
    return this.closedPromise;
  }

  private onData(chunk: Buffer): void {
    this.bytesIn += chunk.length;
    this.scanNeedle(chunk);
    let off = 0;
    while (off < chunk.length && !this.broken) {
      if (!this.cur) {
        const take = Math.min(4 - this.lenGot, chunk.length - off);
        this.lenBytes.push(chunk.subarray(off, off + take));
        this.lenGot += take;
        off += take;
        if (this.lenGot < 4) break;
        const length = Buffer.concat(this.lenBytes).readUInt32LE(0);
        this.lenBytes = [];
        this.lenGot = 0;
        if (length < HEADER_SIZE) {
          this.broken = true;
          break;
        }
        const first = Buffer.alloc(4);
        first.writeUInt32LE(length, 0);
        this.cur = { length, got: 4, head: [first], headLen: 4 };
        continue;
      }
      const c = this.cur;
      const take = Math.min(c.length - c.got, chunk.length - off);
      const keep = Math.min(take, Math.max(0, this.opts.keepBytes - c.headLen));
      if (keep > 0) {
        c.head.push(Buffer.from(chunk.subarray(off, off + keep)));
        c.headLen += keep;
      }
      c.got += take;
      off += take;
      if (c.got === c.length) {
        this.cur = undefined;
        this.dispatch(toPacket(c.length, Buffer.concat(c.head, c.headLen)));
      }
    }
  }

  private scanNeedle(chunk: Buffer): void {
    const needle = this.opts.needle;
    if (!needle) return;
    const hay = this.tail.length ? Buffer.concat([this.tail, chunk]) : chunk;
    for (let at = hay.indexOf(needle); at !== -1; at = hay.indexOf(needle, at + 1)) this.needleHits++;
    this.tail = Buffer.from(hay.subarray(Math.max(0, hay.length - (needle.length - 1))));
  }

  private dispatch(p: WirePacket): void {
    if (p.operation === Operation.REPLY_CONTROL) {
      const w = this.waiters.get(p.reqid);
      if (w) {
        this.waiters.delete(p.reqid);
        clearTimeout(w.timer);
        w.resolve(p);
        return;
      }
    }
    if (this.unsolicited.length < this.opts.backlog) this.unsolicited.push(p);
  }
}

function toPacket(length: number, head: Buffer): WirePacket {
  const u32 = (at: number) => (head.length >= at + 4 ? head.readUInt32LE(at) : undefined);
  const operation = u32(16) ?? -1;
  const p: WirePacket = { length, operation, reqid: u32(28) ?? 0, head };
  if (operation === Operation.REPLY_CONTROL && head.length >= 44) {
    p.status = head.readInt32LE(32);
    p.datalen = head.readUInt32LE(36);
    p.errorlen = head.readUInt32LE(40);
  }
  return p;
}

/** A REQ_CONTROL in the client library's layout (length rounded up to 8). */
export function controlPacket(opcode: number, opts: WireControlOptions & { reqid: number }): Buffer {
  const data = opts.data ?? Buffer.alloc(0);
  const b = Buffer.alloc((60 + data.length + 7) & ~7);
  writeLegacyHeader(b, Operation.REQ_CONTROL, opts.destnode ?? Node.CURRENT, opts.reqid);
  b.writeUInt32LE(opcode >>> 0, 32);
  b.writeBigUInt64LE(opts.srvid ?? 0n, 40);
  b.writeUInt32LE(0, 48);
  b.writeUInt32LE((opts.flags ?? 0) >>> 0, 52);
  b.writeUInt32LE(data.length, 56);
  data.copy(b, 60);
  return b;
}

/** A REQ_MESSAGE; `padded: false` sends smbd's exact length. */
export function messagePacket(destnode: number, srvid: bigint, data: Buffer, padded = true): Buffer {
  const exact = 44 + data.length;
  const b = Buffer.alloc(padded ? (exact + 7) & ~7 : exact);
  writeLegacyHeader(b, Operation.REQ_MESSAGE, destnode, 0);
  b.writeBigUInt64LE(srvid, 32);
  b.writeUInt32LE(data.length, 40);
  data.copy(b, 44);
  return b;
}

/** A REQ_TUNNEL as a client sends it. */
export function tunnelPacket(destnode: number, tunnelId: bigint, flags: number, data: Buffer): Buffer {
  const b = Buffer.alloc((48 + data.length + 7) & ~7);
  writeLegacyHeader(b, Operation.REQ_TUNNEL, destnode, 0);
  b.writeBigUInt64LE(tunnelId, 32);
  b.writeUInt32LE(flags >>> 0, 40);
  b.writeUInt32LE(data.length, 44);
  data.copy(b, 48);
  return b;
}

/** The 32-byte header, length = b.length. */
export function writeLegacyHeader(b: Buffer, operation: number, destnode: number, reqid: number, srcnode = 0, generation = 0): void {
  b.writeUInt32LE(b.length, 0);
  b.writeUInt32LE(CTDB_MAGIC, 4);
  b.writeUInt32LE(CTDB_PROTOCOL, 8);
  b.writeUInt32LE(generation >>> 0, 12);
  b.writeUInt32LE(operation, 16);
  b.writeUInt32LE(destnode >>> 0, 20);
  b.writeUInt32LE(srcnode >>> 0, 24);
  b.writeUInt32LE(reqid >>> 0, 28);
}

