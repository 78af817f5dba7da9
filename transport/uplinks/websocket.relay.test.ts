// An on-path relay without the cluster secret, on 127.0.0.x, between a
// dialing and an accepting transportd: it passes the HMAC handshake through
// and then forges, replays and reorders frames, and replays a recorded
// session into a new connection. None of it may reach transportd; each
// attempt closes the link with a log line, and the link comes back.

import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, silentLogger } from '../../legacy/common/log.ts';
import { BUILTIN_SERVICE, CONTROL_SERVICE } from '../endpoint.ts';
import { Flag, HEADER_SIZE, decodeHeader, type TransportHeader } from '../header.ts';
import { buildPacket } from '../message.ts';
import { createRegistry } from '../schemas.ts';
import { encodePacket } from '../packet.ts';
import { Transportd } from '../transportd.ts';
import { waitFor } from '../testing/inproc-cluster.ts';
import type { TransportClient } from '../api.ts';
import { WebSocketUplink } from './websocket.ts';

const SECRET = Buffer.from('relay test cluster secret 0123456789');
const DIALER_HOST = '127.0.0.41';
const ACCEPTOR_HOST = '127.0.0.42';
const RELAY_HOST = '127.0.0.43';
const INTEGRITY_CLOSE = 4006;
const fast = { reconnectMinMs: 50, reconnectMaxMs: 200, handshakeTimeoutMs: 2000, pingIntervalMs: 60_000 };

// ---- a WebSocket-aware TCP relay ----

type Dir = 'c2s' | 's2c';
interface WsFrame {
  opcode: number;
  payload: Buffer;
  /** The frame as it crossed the relay (masked if it came from the dialer). */
  raw: Buffer;
}

/** Whole frames at the front of `buf`, and what is left. */
function splitFrames(buf: Buffer): { frames: WsFrame[]; rest: Buffer } {
  const frames: WsFrame[] = [];
  let at = 0;
  for (;;) {
    if (buf.length - at < 2) break;
    const masked = (buf[at + 1] & 0x80) !== 0;
    let len = buf[at + 1] & 0x7f;
    let head = 2;
    if (len === 126) {
      if (buf.length - at < 4) break;
      len = buf.readUInt16BE(at + 2);
      head = 4;
    } else if (len === 127) {
      if (buf.length - at < 10) break;
      len = Number(buf.readBigUInt64BE(at + 2));
      head = 10;
    }
    const maskAt = at + head;
    if (masked) head += 4;
    if (buf.length - at < head + len) break;
    const payload = Buffer.from(buf.subarray(at + head, at + head + len));
    if (masked) for (let i = 0; i < len; i++) payload[i] ^= buf[maskAt + (i & 3)];
    frames.push({ opcode: buf[at] & 0x0f, payload, raw: Buffer.from(buf.subarray(at, at + head + len)) });
    at += head + len;
  }
  return { frames, rest: buf.subarray(at) };
}

/** One final frame; masked as a dialer (client) must send it. */
function encodeFrame(opcode: number, payload: Buffer, mask: boolean): Buffer {
  const len = payload.length;
  const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = Buffer.alloc(head + (mask ? 4 : 0) + len);
  out[0] = 0x80 | opcode;
  if (len < 126) out[1] = len;
  else if (len < 65536) (out[1] = 126), out.writeUInt16BE(len, 2);
  else (out[1] = 127), out.writeBigUInt64BE(BigInt(len), 2);
  if (!mask) {
    payload.copy(out, head);
    return out;
  }
  out[1] |= 0x80;
  const key = randomBytes(4);
  key.copy(out, head);
  for (let i = 0; i < len; i++) out[head + 4 + i] = payload[i] ^ key[i & 3];
  return out;
}

/** One relayed TCP connection: dialer (client) <-> relay <-> acceptor (server). */
class RelayConn {
  readonly frames: Record<Dir, WsFrame[]> = { c2s: [], s2c: [] };
  /** Every byte the dialer sent, in order (HTTP upgrade, handshake, frames). */
  readonly clientBytes: Buffer[] = [];
  /** Decides per frame whether the relay passes it on (it may write frames itself). */
  filter: ((dir: Dir, frame: WsFrame) => boolean) | undefined;
  closed = false;
  readonly done: Promise<void>;

  constructor(readonly client: Socket, readonly server: Socket) {
    let finish!: () => void;
    this.done = new Promise((r) => (finish = r));
    const end = (): void => {
      if (this.closed) return;
      this.closed = true;
      client.destroy();
      server.destroy();
      finish();
    };
    this.pump('c2s', client, end);
    this.pump('s2c', server, end);
  }

  /** The acceptor's "ok" went through: every binary frame from here on is a sealed packet. */
  get authenticated(): boolean {
    return this.frames.s2c.some((f) => f.opcode === 1 && f.payload.toString().includes('"ok"'));
  }

  binary(dir: Dir): WsFrame[] {
    return this.frames[dir].filter((f) => f.opcode === 2);
  }

  /** Close codes sent in `dir`. */
  closeCodes(dir: Dir): number[] {
    return this.frames[dir].filter((f) => f.opcode === 8 && f.payload.length >= 2).map((f) => f.payload.readUInt16BE(0));
  }

  write(dir: Dir, bytes: Buffer): void {
    (dir === 'c2s' ? this.server : this.client).write(bytes);
  }

  /** A frame the relay made up. */
  inject(dir: Dir, payload: Buffer, opcode = 2): void {
    this.write(dir, encodeFrame(opcode, payload, dir === 'c2s'));
  }

  destroy(): void {
    this.client.destroy();
    this.server.destroy();
  }

  private pump(dir: Dir, from: Socket, end: () => void): void {
    let http = true;
    let buf = Buffer.alloc(0);
    from.on('data', (chunk: Buffer) => {
      if (dir === 'c2s') this.clientBytes.push(Buffer.from(chunk));
      buf = Buffer.concat([buf, chunk]);
      if (http) {
        const at = buf.indexOf('\r\n\r\n');
        if (at < 0) return;
        this.write(dir, buf.subarray(0, at + 4));
        buf = buf.subarray(at + 4);
        http = false;
      }
      const { frames, rest } = splitFrames(buf);
      buf = Buffer.from(rest);
      for (const f of frames) {
        this.frames[dir].push(f);
        if (!this.filter || this.filter(dir, f)) this.write(dir, f.raw);
      }
    });
    from.on('close', end);
    from.on('error', end);
  }
}

class Relay {
  readonly conns: RelayConn[] = [];
  private constructor(private readonly server: Server, readonly port: number) {}

  static async start(host: string, upstream: { host: string; port: number }): Promise<Relay> {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, host, r));
    const relay = new Relay(server, (server.address() as { port: number }).port);
    server.on('connection', (client) => {
      const up = connect({ host: upstream.host, port: upstream.port });
      relay.conns.push(new RelayConn(client, up));
    });
    return relay;
  }

  /** The newest connection, once authenticated and still open. */
  async live(after?: RelayConn): Promise<RelayConn> {
    let found: RelayConn | undefined;
    await waitFor(() => {
      const c = this.conns.at(-1);
      found = c && c !== after && !c.closed && c.authenticated ? c : undefined;
      return found !== undefined;
    }, 5000, 'an authenticated relayed link');
    return found!;
  }

  async stop(): Promise<void> {
    for (const c of this.conns) c.destroy();
    await new Promise((r) => this.server.close(r));
  }
}

// ---- what the relay sends and what reached transportd ----

type LogLine = { level: number; msg: string; [k: string]: unknown };
function capturingLogger(component: string): { logger: ReturnType<typeof createLogger>; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const destination = { write: (s: string) => void lines.push(JSON.parse(s)) } as unknown as NodeJS.WritableStream;
  return { logger: createLogger({ component, level: 'info', destination }), lines };
}

/** Every packet the uplink hands to transportd, copied. */
function recordDeliveries(uplink: WebSocketUplink, into: Buffer[]): void {
  const setHandler = uplink.onPacket.bind(uplink);
  uplink.onPacket = (handler) => setHandler((bytes, from) => {
    into.push(Buffer.from(bytes));
    handler(bytes, from);
  });
}

/** The transport packet in a frame payload, sealed (after the 16-byte tag) or not. */
function packetOf(payload: Buffer): Buffer {
  return payload.toString('latin1', 16, 20) === 'CTBT' ? payload.subarray(16) : payload;
}

function headerIn(payload: Buffer): TransportHeader | undefined {
  const packet = packetOf(payload);
  if (packet.length < HEADER_SIZE || packet.toString('latin1', 0, 4) !== 'CTBT') return undefined;
  try {
    return decodeHeader(packet, 0, 1 << 20);
  } catch {
    return undefined;
  }
}

const INJECTED_ID = 0x7777_0000;
const forgedPing = (i: number, from: number, to: number): Buffer => encodePacket(buildPacket({
  src: { node: from, service: 0x8000_0001 }, dest: { node: to, service: BUILTIN_SERVICE }, type: 'transport.ping', version: 1,
  body: {}, requestId: INJECTED_ID + i, flags: Flag.REQUEST,
}));
const forgedBye = (from: number, to: number, bootId: string): Buffer => encodePacket(buildPacket({
  src: { node: from, service: CONTROL_SERVICE }, dest: { node: to, service: CONTROL_SERVICE }, type: 'transport.bye', version: 1,
  body: { node: from, bootId }, requestId: 0, flags: Flag.NOREPLY,
}));
const isInjected = (p: Buffer): boolean => {
  const h = headerIn(p);
  return h !== undefined && (h.requestId & 0xffff_0000) === INJECTED_ID;
};
const isBye = (p: Buffer): boolean => p.includes('"transport.bye"');

describe('WebSocket uplink behind an on-path relay without the secret', () => {
  let relay: Relay;
  let dialer: { uplink: WebSocketUplink; daemon: Transportd; delivered: Buffer[]; lines: LogLine[] };
  let acceptor: typeof dialer;
  let client: TransportClient;

  async function makeNode(node: number, host: string): Promise<typeof dialer> {
    const { logger, lines } = capturingLogger('ws');
    const uplink = new WebSocketUplink({ node, listen: { host, port: 0 }, peers: [], secret: SECRET, logger, ...fast });
    const delivered: Buffer[] = [];
    recordDeliveries(uplink, delivered);
    const daemon = new Transportd({ node, uplink, logger: silentLogger('transportd'), helloTimeoutMs: 1000, livenessIntervalMs: 0 });
    await daemon.start();
    return { uplink, daemon, delivered, lines };
  }
  const integrityLines = (n: typeof dialer): LogLine[] => n.lines.filter((l) => l.level === 40 && /integrity/.test(l.msg));
  const stateOf = (on: Transportd, node: number): string | undefined => on.status().nodes.find((n) => n.node === node)?.state;
  const ping = (): Promise<unknown> => client.request({ node: 1, service: BUILTIN_SERVICE }, 'transport.ping', {});

  /** The relay saw `code` go back, the relayed connection ended, and the side that refused logged it once. */
  async function expectClosedForIntegrity(conn: RelayConn, refusing: typeof dialer, refusalDir: Dir, linesBefore: number): Promise<void> {
    await Promise.race([conn.done, new Promise((r) => setTimeout(r, 3000))]);
    expect(conn.closed).toBe(true);
    expect(conn.closeCodes(refusalDir)).toContain(INTEGRITY_CLOSE);
    expect(integrityLines(refusing).length).toBe(linesBefore + 1);
    expect(integrityLines(refusing).at(-1)).toMatchObject({ peer: refusing === acceptor ? 0 : 1 });
  }

  beforeAll(async () => {
    acceptor = await makeNode(1, ACCEPTOR_HOST);
    dialer = await makeNode(0, DIALER_HOST);
    relay = await Relay.start(RELAY_HOST, acceptor.uplink.address);
    acceptor.uplink.setPeers([{ node: 0, ...dialer.uplink.address }]);
    dialer.uplink.setPeers([{ node: 1, host: RELAY_HOST, port: relay.port }]);
    client = await dialer.daemon.connectClient({ name: 'tester', defaultTimeoutMs: 2000 });
    await waitFor(() => stateOf(dialer.daemon, 1) === 'transport' && stateOf(acceptor.daemon, 0) === 'transport', 8000, 'discovery');
  });
  afterAll(async () => {
    await client?.close();
    await dialer?.daemon.stop();
    await acceptor?.daemon.stop();
    await relay?.stop();
  });
  afterEach(async () => {
    // Whatever was tried, the link comes back and carries legitimate traffic.
    await relay.live();
    await waitFor(() => stateOf(dialer.daemon, 1) === 'transport', 5000, 'node 1 back');
    await expect(ping()).resolves.toBeDefined();
  });

  it('carries legitimate traffic untouched, through the relay', async () => {
    const conn = await relay.live();
    const before = acceptor.delivered.length;
    for (let i = 0; i < 20; i++) await ping();
    expect(acceptor.delivered.length - before).toBeGreaterThanOrEqual(20);
    // Requests sent in one tick travel in one frame, and arrive as separate packets.
    const frames = conn.binary('c2s').length;
    const delivered = acceptor.delivered.length;
    await Promise.all(Array.from({ length: 10 }, () => ping()));
    expect(conn.binary('c2s').length - frames).toBeLessThanOrEqual(2); // 1 unless a hello slipped in
    expect(acceptor.delivered.length - delivered).toBe(10);
    expect(conn.closed).toBe(false);
    expect(integrityLines(acceptor)).toEqual([]);
    expect(integrityLines(dialer)).toEqual([]);
    // The relay sees packets with a 16-byte tag in front.
    expect(conn.binary('c2s').every((f) => f.payload.toString('latin1', 16, 20) === 'CTBT')).toBe(true);
    // The dialer's masking key is zero: its frames cross the wire as they are (the tag authenticates them).
    expect(conn.binary('c2s').every((f) => f.raw.subarray(f.raw.length - f.payload.length).equals(f.payload))).toBe(true);
  });

  it('refuses a 64 KiB frame with one bit flipped in its last byte: nothing of it reaches transportd', async () => {
    const conn = await relay.live();
    const lines = integrityLines(acceptor).length;
    const registry = createRegistry([{ type: 'demo.big', versions: { 1: { body: { type: 'string' }, reply: { type: 'integer' } } } }]);
    const big = await dialer.daemon.connectClient({ name: 'big', registry, defaultTimeoutMs: 2000 });
    const marker = `tampered-${randomBytes(4).toString('hex')}`;
    let flipped = 0;
    conn.filter = (dir, f) => {
      if (dir !== 'c2s' || f.opcode !== 2 || f.payload.length < 64 * 1024 || flipped > 0) return true;
      const altered = Buffer.from(f.payload);
      altered[altered.length - 1] ^= 0x01; // the closing quote of the body: still a valid-looking packet
      flipped++;
      conn.inject('c2s', altered);
      return false;
    };
    try {
      // To a service nobody holds: untampered, node 1's transportd would answer no-such-service.
      const outcome = await big.request({ node: 1, service: 99 }, 'demo.big', marker + 'x'.repeat(64 * 1024)).catch((e: Error) => e);
      expect(outcome).toBeInstanceOf(Error);
      await expectClosedForIntegrity(conn, acceptor, 's2c', lines);
      expect(flipped).toBe(1);
      expect(acceptor.delivered.filter((p) => p.includes(marker))).toEqual([]);
    } finally {
      await big.close();
    }
  });

  it('refuses forged requests and bye injected towards the acceptor: none reach transportd, none answered', async () => {
    const conn = await relay.live();
    const lines = integrityLines(acceptor).length;
    // The attack as reported: plain packets; then with a guessed tag in front.
    for (let i = 0; i < 10; i++) conn.inject('c2s', forgedPing(i, 0, 1));
    for (let i = 10; i < 20; i++) conn.inject('c2s', Buffer.concat([randomBytes(16), forgedPing(i, 0, 1)]));
    conn.inject('c2s', forgedBye(0, 1, dialer.daemon.bootId));
    await expectClosedForIntegrity(conn, acceptor, 's2c', lines);
    expect(acceptor.delivered.filter(isInjected)).toEqual([]);
    expect(acceptor.delivered.filter(isBye)).toEqual([]);
    expect(conn.binary('s2c').filter((f) => isInjected(f.payload))).toEqual([]);
    expect(stateOf(acceptor.daemon, 0)).not.toBe('legacy-only');
  });

  it('refuses a forged bye and requests injected towards the dialer', async () => {
    const conn = await relay.live();
    const lines = integrityLines(dialer).length;
    conn.inject('s2c', forgedBye(1, 0, acceptor.daemon.bootId));
    for (let i = 0; i < 10; i++) conn.inject('s2c', forgedPing(i, 1, 0));
    await expectClosedForIntegrity(conn, dialer, 'c2s', lines);
    expect(dialer.delivered.filter(isBye)).toEqual([]);
    expect(dialer.delivered.filter(isInjected)).toEqual([]);
    expect(stateOf(dialer.daemon, 1)).not.toBe('legacy-only');
  });

  it('refuses a recorded frame sent again on the same link', async () => {
    const conn = await relay.live();
    const lines = integrityLines(acceptor).length;
    await ping();
    const recorded = conn.binary('c2s').at(-1)!;
    const packet = packetOf(recorded.payload);
    conn.write('c2s', recorded.raw);
    await expectClosedForIntegrity(conn, acceptor, 's2c', lines);
    expect(acceptor.delivered.filter((p) => p.equals(packet))).toHaveLength(1);
  });

  it('refuses frames delivered out of order', async () => {
    const conn = await relay.live();
    const lines = integrityLines(acceptor).length;
    const swapped: WsFrame[] = [];
    conn.filter = (dir, f) => {
      if (dir !== 'c2s' || f.opcode !== 2 || swapped.length >= 2) return true;
      swapped.push(f);
      if (swapped.length === 1) return false; // held back
      conn.write('c2s', f.raw);
      conn.write('c2s', swapped[0].raw);
      return false;
    };
    // Two ticks, two frames (packets of one tick share a frame).
    const first = ping();
    await new Promise((r) => setImmediate(r));
    await Promise.allSettled([first, ping()]);
    await expectClosedForIntegrity(conn, acceptor, 's2c', lines);
    expect(swapped).toHaveLength(2);
    for (const f of swapped) expect(acceptor.delivered.filter((p) => p.equals(packetOf(f.payload)))).toEqual([]);
  });

  it('refuses frames recorded on an earlier connection, replayed after a fresh handshake', async () => {
    const first = await relay.live();
    await ping();
    const recorded = first.binary('c2s').at(-1)!;
    const packet = packetOf(recorded.payload);
    expect(acceptor.delivered.filter((p) => p.equals(packet))).toHaveLength(1);
    first.destroy(); // the relay can always cut a link (a DoS); the dialer comes back through it
    const second = await relay.live(first);
    const lines = integrityLines(acceptor).length;
    second.write('c2s', recorded.raw);
    await expectClosedForIntegrity(second, acceptor, 's2c', lines);
    expect(acceptor.delivered.filter((p) => p.equals(packet))).toHaveLength(1);
  });

  it('refuses a whole recorded session (upgrade, handshake, frames) replayed into a new connection', async () => {
    const conn = await relay.live();
    await ping();
    const session = Buffer.concat(conn.clientBytes);
    const deliveredBefore = acceptor.delivered.length;
    const replay = connect({ host: ACCEPTOR_HOST, port: acceptor.uplink.address.port });
    const answer: Buffer[] = [];
    replay.on('data', (d: Buffer) => answer.push(d));
    replay.on('error', () => undefined);
    replay.write(session);
    await new Promise<void>((resolve) => {
      replay.on('close', () => resolve());
      setTimeout(() => (replay.destroy(), resolve()), 3000);
    });
    const bytes = Buffer.concat(answer);
    const { frames } = splitFrames(bytes.subarray(bytes.indexOf('\r\n\r\n') + 4));
    // A fresh challenge nonce: the recorded answer does not fit it.
    expect(frames.filter((f) => f.opcode === 8).map((f) => f.payload.readUInt16BE(0))).toEqual([4001]);
    expect(frames.filter((f) => f.opcode === 2)).toEqual([]);
    expect(acceptor.delivered.length).toBe(deliveredBefore);
    expect(conn.closed).toBe(false); // the real link is not disturbed
  });
});
