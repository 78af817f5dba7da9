import { createServer, Socket, type Server } from 'node:net';
import { randomBytes } from 'node:crypto';

/**
 * An on-path TCP relay between two transportds' WebSocket uplink, without
 * the cluster secret. It passes the HTTP upgrade and the HMAC handshake
 * through untouched, parses the WebSocket frames that follow (forwarding
 * each whole, so something can be slipped in between two of them), records
 * them, and can inject new frames or replay recorded ones in either
 * direction. 'up' is dialer -> acceptor (masked frames), 'down' the reverse.
 */

export type Direction = 'up' | 'down';

export interface WsFrame {
  fin: boolean;
  opcode: number;
  /** Unmasked payload. */
  payload: Buffer;
  /** The frame's bytes exactly as they crossed the relay. */
  raw: Buffer;
}

/** Parses one frame at the start of `buf`; undefined until it is complete. */
export function parseFrame(buf: Buffer): { frame: WsFrame; size: number } | undefined {
  if (buf.length < 2) return undefined;
  const masked = (buf[1] & 0x80) !== 0;
  let len = buf[1] & 0x7f;
  let off = 2;
  if (len === 126) {
    if (buf.length < 4) return undefined;
    len = buf.readUInt16BE(2);
    off = 4;
  } else if (len === 127) {
    if (buf.length < 10) return undefined;
    len = Number(buf.readBigUInt64BE(2));
    off = 10;
  }
  const maskAt = off;
  if (masked) off += 4;
  if (buf.length < off + len) return undefined;
  const payload = Buffer.from(buf.subarray(off, off + len));
  if (masked) for (let i = 0; i < payload.length; i++) payload[i] ^= buf[maskAt + (i & 3)];
  const size = off + len;
  return { frame: { fin: (buf[0] & 0x80) !== 0, opcode: buf[0] & 0x0f, payload, raw: Buffer.from(buf.subarray(0, size)) }, size };
}

/** A single final frame; masked (as a client must send) for 'up'. */
export function buildFrame(opcode: number, payload: Buffer, masked: boolean): Buffer {
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + ext + (masked ? 4 : 0));
  head[0] = 0x80 | opcode;
  head[1] = (masked ? 0x80 : 0) | (ext === 0 ? len : ext === 2 ? 126 : 127);
  if (ext === 2) head.writeUInt16BE(len, 2);
  if (ext === 8) head.writeBigUInt64BE(BigInt(len), 2);
  const body = Buffer.from(payload);
  if (masked) {
    const key = randomBytes(4);
    key.copy(head, 2 + ext);
    for (let i = 0; i < body.length; i++) body[i] ^= key[i & 3];
  }
  return Buffer.concat([head, body]);
}

export const OPCODE_TEXT = 1;
export const OPCODE_BINARY = 2;

/** One relayed connection (dialer <-> acceptor). */
export class RelayedConnection {
  readonly frames: Record<Direction, WsFrame[]> = { up: [], down: [] };
  private readonly buf: Record<Direction, Buffer> = { up: Buffer.alloc(0), down: Buffer.alloc(0) };
  private readonly upgraded: Record<Direction, boolean> = { up: false, down: false };

  constructor(readonly client: Socket, readonly server: Socket) {
    client.on('data', (c: Buffer) => this.onData('up', c));
    server.on('data', (c: Buffer) => this.onData('down', c));
    const closeBoth = () => {
      client.destroy();
      server.destroy();
    };
    for (const s of [client, server]) {
      s.on('error', () => undefined);
      s.once('close', closeBoth);
    }
  }

  get open(): boolean {
    return !this.client.destroyed && !this.server.destroyed;
  }

  /** The handshake's last text frame ("ok") went down: the link is authenticated. */
  get authenticated(): boolean {
    return this.frames.down.some((f) => f.opcode === OPCODE_TEXT && f.payload.toString().includes('"t":"ok"'));
  }

  private target(dir: Direction): Socket {
    return dir === 'up' ? this.server : this.client;
  }

  private onData(dir: Direction, chunk: Buffer): void {
    let buf = Buffer.concat([this.buf[dir], chunk]);
    if (!this.upgraded[dir]) {
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) {
        this.buf[dir] = buf;
        return;
      }
      this.target(dir).write(buf.subarray(0, end + 4));
      this.upgraded[dir] = true;
      buf = buf.subarray(end + 4);
    }
    for (let parsed = parseFrame(buf); parsed; parsed = parseFrame(buf)) {
      this.frames[dir].push(parsed.frame);
      this.target(dir).write(parsed.frame.raw);
      buf = buf.subarray(parsed.size);
    }
    this.buf[dir] = Buffer.from(buf);
  }

  /** Slips a new frame in between two frames. */
  inject(dir: Direction, opcode: number, payload: Buffer): void {
    this.target(dir).write(buildFrame(opcode, payload, dir === 'up'));
  }

  /** Sends a recorded frame again, byte for byte. */
  replay(dir: Direction, frame: WsFrame): void {
    this.target(dir).write(frame.raw);
  }

  close(): void {
    this.client.destroy();
    this.server.destroy();
  }
}

export class WsRelay {
  readonly connections: RelayedConnection[] = [];
  private server: Server | undefined;

  constructor(
    readonly listen: { host: string; port: number },
    /** Where the acceptor listens; `localAddress`: the address the relay dials from. */
    readonly upstream: { host: string; port: number; localAddress?: string },
  ) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      client.pause();
      const server = new Socket();
      server.on('error', () => client.destroy());
      server.connect({ host: this.upstream.host, port: this.upstream.port, localAddress: this.upstream.localAddress }, () => {
        this.connections.push(new RelayedConnection(client, server));
        client.resume();
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen({ host: this.listen.host, port: this.listen.port, exclusive: true }, () => resolve());
    });
  }

  /** The newest connection that finished the handshake. */
  current(): RelayedConnection | undefined {
    return [...this.connections].reverse().find((c) => c.open && c.authenticated);
  }

  async stop(): Promise<void> {
    for (const c of this.connections) c.close();
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()));
  }
}
