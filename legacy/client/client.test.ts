import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PacketFramer } from '../protocol/framing.ts';
import { TUNNEL_DATA_OFFSET, decodePacket, encodePacket, type Packet, type ReqControl, type ReqTunnel } from '../protocol/packets.ts';
import { Node, Operation } from '../protocol/constants.ts';
import { Control } from '../protocol/controls.ts';
import { Srvid } from '../protocol/srvid.ts';
import { silentLogger } from '../common/log.ts';
import { LegacyClient, type LegacyClientOptions } from './client.ts';
import { ManualTimers } from './manual-timers.ts';
import {
  LegacyConnectError, LegacyControlTimeoutError, LegacyDisconnectedError, LegacyInvalidArgumentError, LegacyNotConnectedError,
} from './errors.ts';

/**
 * A scripted ctdbd stand-in on a unix socket: answers GET_PNN, (de)registrations
 * and PING, never answers STATISTICS (to exercise timeouts), and lets the
 * test push packets or drop the connection. Behaviour against the real
 * daemon is covered by compat-tests/client.real.test.ts.
 */
class ScriptedDaemon {
  readonly seen: ReqControl[] = [];
  readonly tunnelPackets: ReqTunnel[] = [];
  readonly rawLengths: number[] = [];
  readonly sockets = new Set<Socket>();
  private server: Server | undefined;

  constructor(readonly path: string, readonly pnn = 3) {}

  async listen(): Promise<void> {
    this.server = createServer((s) => this.onConnection(s));
    await new Promise<void>((resolve) => this.server!.listen(this.path, resolve));
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }

  dropConnections(): void {
    for (const s of this.sockets) s.destroy();
  }

  send(packet: Packet): void {
    for (const s of this.sockets) s.write(encodePacket(packet));
  }

  sendRaw(bytes: Buffer): void {
    for (const s of this.sockets) s.write(bytes);
  }

  private onConnection(s: Socket): void {
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
    s.on('error', () => undefined);
    const framer = new PacketFramer();
    s.on('data', (chunk: Buffer) => framer.push(chunk, (bytes) => {
      this.rawLengths.push(bytes.length);
      const p = decodePacket(bytes);
      if (p.operation === Operation.REQ_TUNNEL) this.tunnelPackets.push(p);
      if (p.operation !== Operation.REQ_CONTROL) return;
      this.seen.push(p);
      const status = this.answer(p);
      if (status === undefined) return;
      s.write(encodePacket({
        operation: Operation.REPLY_CONTROL, generation: 7, destnode: 0, srcnode: this.pnn, reqid: p.reqid,
        status, data: Buffer.alloc(0), errorMessage: Buffer.alloc(0),
      }));
    }));
  }

  private answer(p: ReqControl): number | undefined {
    switch (p.opcode) {
      case Control.GET_PNN: return this.pnn;
      case Control.PING: return this.sockets.size;
      case Control.STATISTICS: return undefined;
      default: return 0;
    }
  }
}

const dirs: string[] = [];
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function setup(opts: Partial<LegacyClientOptions> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'legacy-client-test-'));
  dirs.push(dir);
  const daemon = new ScriptedDaemon(join(dir, 'ctdbd.socket'));
  await daemon.listen();
  const timers = new ManualTimers();
  const client = new LegacyClient({
    socketPath: daemon.path, logger: silentLogger(), timers, reconnect: { backoff: (n) => n * 100 }, ...opts,
  });
  cleanups.push(async () => {
    await client.close();
    await daemon.stop();
  });
  return { daemon, client, timers };
}

/** Let socket I/O and promise chains run. */
const settle = () => sleep(30);

describe('LegacyClient against a scripted daemon', () => {
  it('connects like ctdb: GET_PNN from an unknown srcnode with reqid 2147483448, then REGISTER_SRVID LEADER', async () => {
    const { daemon, client } = await setup();
    await client.connect();
    expect(client.pnn).toBe(3);
    expect(client.state).toBe('connected');
    const [getPnn, register] = daemon.seen;
    expect(getPnn).toMatchObject({ opcode: Control.GET_PNN, reqid: 2147483448, srcnode: 0xffffffff, destnode: Node.CURRENT });
    expect(register).toMatchObject({ opcode: Control.REGISTER_SRVID, srvid: Srvid.LEADER, reqid: 2147483449, srcnode: 3 });
    expect(daemon.rawLengths.every((l) => l % 8 === 0)).toBe(true);
  });

  it('times out a control with a typed error and ignores the late reply', async () => {
    const { client, timers } = await setup();
    await client.connect();
    const pending = client.statistics({ timeoutMs: 250 }).catch((e: unknown) => e);
    await settle();
    timers.advance(249);
    expect(client.pendingRequests).toBe(1);
    timers.advance(1);
    const err = await pending;
    expect(err).toBeInstanceOf(LegacyControlTimeoutError);
    expect(err).toMatchObject({ opcode: Control.STATISTICS, timeoutMs: 250 });
    expect(client.pendingRequests).toBe(0);
    expect(await client.ping()).toBe(1);
  });

  it('fails in-flight requests on disconnect, reconnects with backoff and re-registers SRVIDs and tunnels', async () => {
    const { daemon, client, timers } = await setup();
    await client.connect();
    await client.registerSrvid(0xae01n, () => undefined);
    await client.registerTunnel(0xae02n, () => undefined);
    const events: string[] = [];
    client.on('disconnect', (e) => events.push(`disconnect ${e.failedRequests} ${e.willReconnect}`));
    client.on('reconnectFailed', (e) => events.push(`failed ${e.attempt} next ${e.nextDelayMs}`));
    client.on('reconnect', (e) => events.push(`reconnect ${e.attempts} srvids ${e.srvids} tunnels ${e.tunnels}`));
    const inFlight = client.statistics({ timeoutMs: 0 }).catch((e: unknown) => e);
    await settle();
    await daemon.stop();
    expect(await inFlight).toBeInstanceOf(LegacyDisconnectedError);
    await settle();
    expect(client.state).toBe('reconnecting');
    await expect(client.ping()).rejects.toBeInstanceOf(LegacyNotConnectedError);
    timers.advance(100); // attempt 1: nobody listening
    await settle();
    await daemon.listen();
    daemon.seen.length = 0;
    timers.advance(200); // attempt 2 succeeds
    await settle();
    expect(client.state).toBe('connected');
    expect(events).toEqual(['disconnect 1 true', 'failed 1 next 200', 'reconnect 2 srvids 2 tunnels 1']);
    const opcodes = daemon.seen.map((c) => `${c.opcode}:${c.srvid.toString(16)}`);
    expect(opcodes[0]).toBe(`${Control.GET_PNN}:0`);
    expect(opcodes.slice(1).sort()).toEqual([
      `${Control.REGISTER_SRVID}:ae01`, `${Control.REGISTER_SRVID}:${Srvid.LEADER.toString(16)}`, `${Control.TUNNEL_REGISTER}:ae02`,
    ].sort());
    expect(await client.ping()).toBe(1);
  });

  it('sends a tunnel frame built in place: exact length, the same packet as sendTunnel', async () => {
    const { daemon, client } = await setup();
    await client.connect();
    const data = Buffer.from('payload of 21 bytes..');
    const frame = Buffer.alloc(TUNNEL_DATA_OFFSET + data.length, 0xff);
    data.copy(frame, TUNNEL_DATA_OFFSET);
    const tunnelId = 0xcb1d0000000000ffn;
    client.sendTunnelFrame({ destnode: 1, tunnelId, flags: 16, frame });
    client.sendTunnelFrame({ destnode: 2, tunnelId, frame: Buffer.concat([Buffer.alloc(TUNNEL_DATA_OFFSET), data]) });
    client.sendTunnel({ destnode: 1, tunnelId, flags: 16, data });
    for (let i = 0; i < 100 && daemon.tunnelPackets.length < 3; i++) await sleep(5);
    const [first, second, copied] = daemon.tunnelPackets;
    expect(first).toMatchObject({ destnode: 1, srcnode: 3, reqid: 0, tunnelId, flags: 16, length: TUNNEL_DATA_OFFSET + data.length });
    expect(first.data).toEqual(data);
    expect(second).toMatchObject({ destnode: 2, tunnelId, flags: 0 });
    expect({ ...first, length: 0 }).toEqual({ ...copied, length: 0 });
    expect(() => client.sendTunnelFrame({ destnode: Node.CURRENT, tunnelId, frame })).toThrow(LegacyInvalidArgumentError);
    expect(() => client.sendTunnelFrame({ destnode: 1, tunnelId: -1n, frame })).toThrow(LegacyInvalidArgumentError);
  });

  it('dispatches messages, tunnel packets and leader broadcasts; a throwing handler breaks nothing', async () => {
    const { daemon, client } = await setup();
    await client.connect();
    const got: string[] = [];
    await client.registerSrvid(0xae10n, () => { throw new Error('handler bug'); });
    await client.registerSrvid(0xae10n, (m) => got.push(`msg ${m.data.toString()}`));
    await client.registerTunnel(0xae11n, (t) => got.push(`tunnel ${t.data.toString()} flags ${t.flags}`));
    const unhandled: bigint[] = [];
    client.on('unhandledMessage', (m) => unhandled.push(m.srvid));
    const leaders: number[] = [];
    client.on('leader', (e) => leaders.push(e.pnn));
    const leaderWait = client.waitForLeader(10_000);
    const common = { generation: 7, destnode: 0, srcnode: 3, reqid: 0 };
    daemon.send({ operation: Operation.REQ_MESSAGE, ...common, srvid: 0xae10n, data: Buffer.from('one') });
    daemon.send({ operation: Operation.REQ_MESSAGE, ...common, srvid: 0xae99n, data: Buffer.alloc(0) });
    daemon.send({ operation: Operation.REQ_TUNNEL, ...common, tunnelId: 0xae11n, flags: 16, data: Buffer.from('t') });
    const leaderMsg = Buffer.alloc(4);
    leaderMsg.writeUInt32LE(1);
    daemon.send({ operation: Operation.REQ_MESSAGE, ...common, srvid: Srvid.LEADER, data: leaderMsg });
    expect(await leaderWait).toBe(1);
    expect(got).toEqual(['msg one', 'tunnel t flags 16']);
    expect(unhandled).toEqual([0xae99n]);
    expect(leaders).toEqual([1]);
    expect(client.leader).toBe(1);
  });

  it('drops an undecodable packet but keeps the connection; a framing error drops it', async () => {
    const { daemon, client } = await setup({ reconnect: false });
    await client.connect();
    const bad = encodePacket({
      operation: Operation.REQ_MESSAGE, generation: 0, destnode: 0, srcnode: 3, reqid: 0, srvid: 1n, data: Buffer.alloc(0),
    });
    bad.writeUInt32LE(0xdeadbeef, 4); // wrong magic
    daemon.sendRaw(bad);
    expect(await client.ping()).toBe(1);
    const disconnected = new Promise((resolve) => client.once('disconnect', resolve));
    const tooShort = Buffer.alloc(8);
    tooShort.writeUInt32LE(8, 0);
    daemon.sendRaw(tooShort);
    expect(await disconnected).toMatchObject({ willReconnect: false });
    expect(client.state).toBe('idle');
  });

  it('gives up after maxAttempts and closes', async () => {
    const { daemon, client, timers } = await setup({ reconnect: { backoff: () => 10, maxAttempts: 2 } });
    await client.connect();
    const gaveUp = new Promise((resolve) => client.once('giveUp', resolve));
    await daemon.stop();
    await settle();
    for (let i = 0; i < 2; i++) { timers.advance(10); await settle(); }
    expect(await gaveUp).toMatchObject({ attempts: 2 });
    expect(client.state).toBe('closed');
  });

  it('reports a missing socket as LegacyConnectError', async () => {
    const client = new LegacyClient({ socketPath: '/nonexistent/ctdbd.socket', logger: silentLogger() });
    const err = await client.connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LegacyConnectError);
    expect(err).toMatchObject({ errno: 'ENOENT' });
    expect(client.state).toBe('idle');
  });
});
