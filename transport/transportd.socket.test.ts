import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { spawn } from 'node:child_process';
import { Transportd } from './transportd.ts';
import { InProcessHub } from './uplinks/inproc.ts';
import { TransportClient, connectTransport } from './api.ts';
import { createRegistry } from './schemas.ts';
import { FrameReader } from './framing.ts';
import { Flag, HEADER_SIZE, Offset } from './header.ts';
import { buildPacket, decodeEnvelope } from './message.ts';
import { encodePacket, type Packet } from './packet.ts';
import { BUILTIN_SERVICE, CONTROL_SERVICE, LOCAL_NODE } from './endpoint.ts';
import { NotConnectedError } from './errors.ts';
import { silentLogger } from '../legacy/common/log.ts';
import { waitFor } from './testing/inproc-cluster.ts';

/** A hand-driven connection to the socket, for frames the client library never sends. */
class RawConnection {
  readonly packets: Packet[] = [];
  closed = false;
  private readonly reader = new FrameReader();
  private constructor(readonly socket: Socket) {
    socket.on('data', (c: Buffer) => this.packets.push(...this.reader.push(c).flatMap((e) => (e.kind === 'packet' ? [e.packet] : []))));
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }
  static open(path: string): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const s = connect(path, () => resolve(new RawConnection(s)));
      s.once('error', reject);
    });
  }
  async reply(requestId: number): Promise<{ flags: number; type: string; body: any }> {
    await waitFor(() => this.packets.some((p) => p.header.requestId === requestId), 2000, `reply ${requestId}`);
    const p = this.packets.find((x) => x.header.requestId === requestId)!;
    const env = decodeEnvelope(p.payload, createRegistry());
    return { flags: p.header.flags, type: env.type, body: env.body };
  }
}

const request = (requestId: number, type: string, body: unknown, dest = { node: LOCAL_NODE, service: BUILTIN_SERVICE }, src = { node: LOCAL_NODE, service: 0 }) =>
  encodePacket(buildPacket({ src, dest, type, version: 1, body, requestId, flags: Flag.REQUEST }));

describe('transportd local unix socket', () => {
  let dir: string;
  let socketPath: string;
  let daemon: Transportd;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'transportd-'));
    socketPath = join(dir, 'transportd.sock');
    daemon = new Transportd({ node: 4, uplink: new InProcessHub([4]).createUplink(4), socketPath, maxPayload: 4096, logger: silentLogger() });
    await daemon.start();
  });
  afterAll(async () => {
    await daemon?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates the socket with mode 0700', async () => {
    const st = await stat(socketPath);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o700);
  });

  it('carries requests between two socket clients', async () => {
    const registry = createRegistry([{ type: 'demo.add', versions: { 1: { body: { type: 'array', items: { type: 'number' } }, reply: { type: 'number' } } } }]);
    const server = await connectTransport({ socketPath, service: 50, name: 'adder', registry }, (c) =>
      c.handle('demo.add', (xs: number[]) => xs.reduce((a, b) => a + b, 0)));
    const user = await connectTransport({ socketPath, name: 'user', registry });
    try {
      expect(user.node).toBe(4);
      expect(user.service).toBeGreaterThanOrEqual(0x80000000);
      expect(await user.request({ node: 4, service: 50 }, 'demo.add', [1, 2, 3.5])).toBe(6.5);
      const st = daemon.status();
      expect(st.services.map((s) => s.name)).toEqual(expect.arrayContaining(['adder', 'user']));
    } finally {
      await user.close();
      await server.close();
    }
    await waitFor(() => daemon.status().services.length === 2);
  });

  it('refuses a second transportd on a live socket and a path that is not a socket', async () => {
    const second = new Transportd({ node: 4, uplink: new InProcessHub([4]).createUplink(4), socketPath, logger: silentLogger() });
    await expect(second.start()).rejects.toThrow(/another transportd/);
    const file = join(dir, 'plain-file');
    await writeFile(file, 'x');
    const third = new Transportd({ node: 4, uplink: new InProcessHub([4]).createUplink(4), socketPath: file, logger: silentLogger() });
    await expect(third.start()).rejects.toThrow(/not a socket/);
  });

  it('replaces a stale socket left by a killed process', async () => {
    const stale = join(dir, 'stale.sock');
    const child = spawn(process.execPath, ['-e',
      `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    await new Promise((r) => child.once('exit', r));
    expect((await stat(stale)).isSocket()).toBe(true);
    const d = new Transportd({ node: 5, uplink: new InProcessHub([5]).createUplink(5), socketPath: stale, logger: silentLogger() });
    await d.start();
    const c = await connectTransport({ socketPath: stale });
    expect(c.node).toBe(5);
    await c.close();
    await d.stop();
    await expect(stat(stale)).rejects.toThrow();
  });

  it('answers a request sent before attaching with bad-request', async () => {
    const raw = await RawConnection.open(socketPath);
    raw.socket.write(request(11, 'transport.ping', {}));
    expect(await raw.reply(11)).toMatchObject({ flags: Flag.REPLY | Flag.ERROR, body: { code: 'bad-request' } });
    raw.socket.destroy();
  });

  it('answers bad frames with error replies and keeps the connection', async () => {
    const raw = await RawConnection.open(socketPath);
    raw.socket.write(request(1, 'transportd.attach', { name: 'raw' }, { node: LOCAL_NODE, service: CONTROL_SERVICE }));
    const attached = await raw.reply(1);
    expect(attached.body).toMatchObject({ node: 4 });
    const src = { node: LOCAL_NODE, service: attached.body.service as number };

    const future = request(2, 'transport.ping', {}, undefined, src);
    future.writeUInt8(2, Offset.protocolVersion);
    raw.socket.write(future);
    expect(await raw.reply(2)).toMatchObject({ body: { code: 'version-mismatch', what: 'protocol', supported: [1] } });

    const oversize = Buffer.alloc(HEADER_SIZE + 5000, 0x20);
    request(3, 'transport.ping', {}, undefined, src).copy(oversize, 0, 0, HEADER_SIZE);
    oversize.writeUInt32BE(5000, Offset.payloadLength);
    raw.socket.write(oversize);
    expect(await raw.reply(3)).toMatchObject({ body: { code: 'too-large' } });

    const notJson = request(4, 'transport.ping', {}, undefined, src);
    notJson.write('X', HEADER_SIZE);
    raw.socket.write(notJson);
    expect(await raw.reply(4)).toMatchObject({ body: { code: 'invalid-payload' } });

    const badBody = request(5, 'transport.ping', { unexpected: true }, undefined, src);
    raw.socket.write(badBody);
    expect(await raw.reply(5)).toMatchObject({ body: { code: 'invalid-payload' } });

    const badVersion = request(6, 'transport.ping', {}, undefined, src);
    badVersion.writeUInt8(9, Offset.payloadVersion);
    raw.socket.write(badVersion);
    expect(await raw.reply(6)).toMatchObject({ body: { code: 'version-mismatch', what: 'payload', supported: [1] } });

    raw.socket.write(request(7, 'transport.ping', {}, undefined, src));
    expect(await raw.reply(7)).toMatchObject({ flags: Flag.REPLY, type: 'transport.ping', body: { node: 4 } });

    // A bad magic cannot be resynchronised: transportd hangs up.
    const garbage = request(8, 'transport.ping', {}, undefined, src);
    garbage.write('JUNK', 0);
    raw.socket.write(garbage);
    await waitFor(() => raw.closed, 2000, 'disconnect');
    expect(daemon.status().services.some((s) => s.name === 'raw')).toBe(false);
  });

  it('fails clients cleanly when the socket is missing or transportd stops', async () => {
    await expect(connectTransport({ socketPath: join(dir, 'nope.sock') })).rejects.toBeInstanceOf(NotConnectedError);
    const path = join(dir, 'short-lived.sock');
    const d = new Transportd({ node: 6, uplink: new InProcessHub([6]).createUplink(6), socketPath: path, logger: silentLogger() });
    await d.start();
    const c = new TransportClient({ socketPath: path });
    await c.connect();
    const closed = new Promise<void>((r) => c.onClose(() => r()));
    await d.stop();
    await closed;
    expect(c.closed).toBe(true);
    expect(await c.request({ node: 6, service: 1 }, 'transport.ping', {}).catch((e) => e)).toBeInstanceOf(NotConnectedError);
    await expect(stat(path)).rejects.toThrow();
  });
});

describe('transportd local socket under a flood of connections', () => {
  it('takes at most maxLocalConnections at a time; a freed place is taken again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'transportd-'));
    const socketPath = join(dir, 'transportd.sock');
    const daemon = new Transportd({ node: 4, uplink: new InProcessHub([4]).createUplink(4), socketPath, maxLocalConnections: 3, logger: silentLogger() });
    await daemon.start();
    const clients: TransportClient[] = [];
    try {
      for (let i = 0; i < 3; i++) clients.push(await connectTransport({ socketPath, name: `c${i}`, defaultTimeoutMs: 500 }));
      const extra = await RawConnection.open(socketPath);
      await waitFor(() => extra.closed, 2000, 'the fourth connection closed');
      expect(daemon.tableSizes()).toMatchObject({ connections: 3 });
      await clients.pop()!.close();
      await waitFor(() => daemon.tableSizes().connections === 2);
      clients.push(await connectTransport({ socketPath, name: 'again', defaultTimeoutMs: 500 }));
      expect(await clients[0].request({ node: 4, service: BUILTIN_SERVICE }, 'transport.ping', {})).toMatchObject({ node: 4 });
    } finally {
      for (const c of clients) await c.close();
      await daemon.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('transportd local socket with big payloads', () => {
  it('carries big and small payloads interleaved, many in flight, intact and each to its request', async () => {
    // Payloads past one socket read (gathered with room, written as header + payload) beside small ones (copied, corked together).
    const bigDir = await mkdtemp(join(tmpdir(), 'transportd-big-'));
    const big = new Transportd({ node: 5, uplink: new InProcessHub([5]).createUplink(5), socketPath: join(bigDir, 's'), logger: silentLogger() });
    await big.start();
    const registry = createRegistry([{ type: 'demo.echo', versions: { 1: { body: { type: 'string' }, reply: { type: 'string' } } } }]);
    const server = await connectTransport({ socketPath: join(bigDir, 's'), service: 51, registry }, (c) => c.handle('demo.echo', (x: string) => x));
    const user = await connectTransport({ socketPath: join(bigDir, 's'), registry });
    try {
      const bodies = Array.from({ length: 24 }, (_, i) => String.fromCharCode(97 + i).repeat(i % 3 === 0 ? 10 : 70_000 + i * 4099));
      const replies = await Promise.all(bodies.map((b) => user.request({ node: 5, service: 51 }, 'demo.echo', b)));
      expect(replies).toEqual(bodies);
      // Each request and each reply came in once from a socket client (plus the two attaches).
      expect(big.packetsReceived).toBe(2 * bodies.length + 2);
    } finally {
      await user.close();
      await server.close();
      await big.stop();
      await rm(bigDir, { recursive: true, force: true });
    }
  });
});

