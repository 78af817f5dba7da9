// TransportClient reconnect against a real Transportd on a unix socket that is
// stopped and started again on the same path (a systemd restart / upgrade step).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { Transportd } from './transportd.ts';
import { InProcessHub } from './uplinks/inproc.ts';
import { TransportClient, connectTransport, type TransportClientEvents, type TransportClientOptions } from './api.ts';
import { createRegistry } from './schemas.ts';
import { BUILTIN_SERVICE, EPHEMERAL_SERVICE_BASE } from './endpoint.ts';
import { NotConnectedError, ServiceInUseError } from './errors.ts';
import { createLogger, silentLogger } from '../legacy/common/log.ts';
import { ManualTimers } from '../legacy/client/manual-timers.ts';
import { waitFor } from './testing/inproc-cluster.ts';

const NODE = 4;
const registry = () => createRegistry([
  { type: 'demo.add', versions: { 1: { body: { type: 'array', items: { type: 'number' } }, reply: { type: 'number' } } } },
  { type: 'demo.hang', versions: { 1: { body: { type: 'object' }, reply: { type: 'object' } } } },
]);

/** Every event a client emits, and how often its close listeners ran. */
class Recorder {
  readonly disconnect: TransportClientEvents['disconnect'][0][] = [];
  readonly failed: TransportClientEvents['reconnectFailed'][0][] = [];
  readonly reconnect: TransportClientEvents['reconnect'][0][] = [];
  readonly closes: (Error | undefined)[] = [];
  constructor(client: TransportClient) {
    client.on('disconnect', (i) => this.disconnect.push(i));
    client.on('reconnectFailed', (i) => this.failed.push(i));
    client.on('reconnect', (i) => this.reconnect.push(i));
    client.onClose((err) => this.closes.push(err));
  }
}

function logCapture(): { lines: any[]; logger: ReturnType<typeof createLogger> } {
  const lines: any[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(JSON.parse(chunk.toString()));
      cb();
    },
  });
  return { lines, logger: createLogger({ component: 'test-client', level: 'info', destination }) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ping = (c: TransportClient) => c.request({ node: NODE, service: BUILTIN_SERVICE }, 'transport.ping', {});

describe('TransportClient reconnect over the unix socket', () => {
  let dir: string;
  let socketPath: string;
  let hub: InProcessHub;
  let daemon: Transportd | undefined;
  let clients: TransportClient[];

  const startDaemon = async (): Promise<Transportd> => {
    const d = new Transportd({ node: NODE, uplink: hub.createUplink(NODE), socketPath, logger: silentLogger() });
    await d.start();
    daemon = d;
    return d;
  };
  const client = async (opts: Omit<TransportClientOptions, 'socketPath'>, setup?: (c: TransportClient) => void) => {
    const c = await connectTransport({ socketPath, logger: silentLogger(), ...opts }, setup);
    clients.push(c);
    return c;
  };
  const names = () => daemon!.status().services.map((s) => s.name);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'transport-reconnect-'));
    socketPath = join(dir, 'transportd.sock');
    hub = new InProcessHub([NODE]);
    clients = [];
    await startDaemon();
  });
  afterEach(async () => {
    for (const c of clients) await c.close();
    await daemon?.stop();
    daemon = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('re-attaches after a restart with the same services; in-flight and outage requests fail at once', async () => {
    const timers = new ManualTimers();
    const reconnect = { backoff: (n: number) => n * 10, timers };
    const serverLog = logCapture();
    let hanging = 0;
    let releaseHang!: () => void;
    const hang = new Promise<object>((r) => (releaseHang = () => r({})));
    const server = await client({ service: 50, name: 'adder', registry: registry(), reconnect, logger: serverLog.logger }, (c) => {
      c.handle('demo.add', (xs: number[]) => xs.reduce((a, b) => a + b, 0));
      c.handle('demo.hang', () => (hanging++, hang));
    });
    const user = await client({ name: 'user', registry: registry(), reconnect });
    const userService = user.service;
    const [serverEvents, userEvents] = [new Recorder(server), new Recorder(user)];
    expect(await user.request({ node: NODE, service: 50 }, 'demo.add', [1, 2])).toBe(3);

    const inFlight = user.request({ node: NODE, service: 50 }, 'demo.hang', {}, { timeoutMs: 60_000 }).catch((e: unknown) => e);
    await waitFor(() => hanging === 1, 2000, 'handler running');
    const lostAt = performance.now();
    await daemon!.stop();
    const err = await inFlight;
    expect(err).toBeInstanceOf(NotConnectedError);
    expect(performance.now() - lostAt).toBeLessThan(2000); // not its 60 s timeout
    await waitFor(() => serverEvents.disconnect.length === 1 && userEvents.disconnect.length === 1, 2000, 'disconnect events');
    expect(userEvents.disconnect[0]).toMatchObject({ willReconnect: true, failedRequests: 1, service: userService });
    expect(serverEvents.disconnect[0]).toMatchObject({ willReconnect: true, failedRequests: 0, service: 50 });

    // Outage: nothing is queued, everything fails at once.
    expect(user.connected).toBe(false);
    expect(user.closed).toBe(false);
    expect(user.node).toBe(NODE);
    const during = await ping(user).catch((e: unknown) => e);
    expect(during).toBeInstanceOf(NotConnectedError);
    expect((during as Error).message).toMatch(/reconnecting/);
    expect(() => user.send({ node: NODE, service: 50 }, 'demo.add', [1])).toThrow(NotConnectedError);
    expect(() => server.service).toThrow(NotConnectedError);

    // Attempt 1 (after 10 ms) finds no socket.
    expect(timers.size).toBe(2);
    timers.advance(10);
    await waitFor(() => serverEvents.failed.length === 1 && userEvents.failed.length === 1, 2000, 'failed attempts');
    expect(serverEvents.failed[0]).toMatchObject({ attempt: 1, nextDelayMs: 20 });
    expect(serverEvents.failed[0].error).toBeInstanceOf(NotConnectedError);

    // transportd is back; attempt 2 (after 20 ms more) re-attaches.
    await startDaemon();
    expect(names()).not.toContain('adder');
    timers.advance(20);
    await waitFor(() => serverEvents.reconnect.length === 1 && userEvents.reconnect.length === 1, 2000, 'reconnect events');
    expect(serverEvents.reconnect[0]).toMatchObject({ attempts: 2, node: NODE, service: 50, previousService: 50 });
    expect(userEvents.reconnect[0]).toMatchObject({ attempts: 2, service: userService, previousService: userService });
    expect(timers.requested).toEqual([10, 10, 20, 20]);
    expect(timers.size).toBe(0);
    expect(user.service).toBe(userService);
    expect(server.service).toBe(50);
    expect(names()).toEqual(expect.arrayContaining(['adder', 'user']));

    // Handlers survived: a request from another client reaches the service again.
    expect(await user.request({ node: NODE, service: 50 }, 'demo.add', [2, 3, 4])).toBe(9);
    expect((await ping(server)).node).toBe(NODE);
    expect(serverEvents.closes).toEqual([]);
    expect(userEvents.closes).toEqual([]);

    expect(serverLog.lines.find((l) => l.msg === 'lost the connection to transportd')).toMatchObject({ level: 40, service: 50 });
    expect(serverLog.lines.find((l) => l.msg === 'reattached to transportd')).toMatchObject({ level: 30, attempts: 2, service: 50 });
    releaseHang();
  });

  it('takes a new ephemeral id when its old one was handed out meanwhile, and reports it', async () => {
    const timers = new ManualTimers();
    const a = await client({ name: 'a', reconnect: { backoff: () => 10, timers } });
    expect(a.service).toBe(EPHEMERAL_SERVICE_BASE);
    const events = new Recorder(a);
    await daemon!.stop();
    await waitFor(() => events.disconnect.length === 1, 2000, 'disconnect');
    await startDaemon();
    const b = await client({ name: 'b' });
    expect(b.service).toBe(EPHEMERAL_SERVICE_BASE);
    timers.advance(10);
    await waitFor(() => events.reconnect.length === 1, 2000, 'reconnect');
    const { service, previousService } = events.reconnect[0];
    expect(previousService).toBe(EPHEMERAL_SERVICE_BASE);
    expect(service).not.toBe(EPHEMERAL_SERVICE_BASE);
    expect(service).toBeGreaterThan(EPHEMERAL_SERVICE_BASE);
    expect(a.service).toBe(service);
    expect((await ping(a)).node).toBe(NODE);
    expect(daemon!.status().services).toEqual(expect.arrayContaining([{ service, name: 'a' }, { service: EPHEMERAL_SERVICE_BASE, name: 'b' }]));
  });

  it('keeps retrying while its well-known service is held by someone else, then takes it back', async () => {
    const timers = new ManualTimers();
    const server = await client({ service: 50, name: 'adder', registry: registry(), reconnect: { backoff: () => 10, timers } },
      (c) => c.handle('demo.add', (xs: number[]) => xs.reduce((x, y) => x + y, 0)));
    const events = new Recorder(server);
    await daemon!.stop();
    await waitFor(() => events.disconnect.length === 1, 2000, 'disconnect');
    await startDaemon();
    const impostor = await client({ service: 50, name: 'impostor' });
    timers.advance(10);
    await waitFor(() => events.failed.length === 1, 2000, 'refused attempt');
    expect(events.failed[0].error).toBeInstanceOf(ServiceInUseError);
    expect(events.failed[0].nextDelayMs).toBe(10);
    expect(server.connected).toBe(false);
    await impostor.close();
    await waitFor(() => !names().includes('impostor'), 2000, 'impostor gone');
    timers.advance(10);
    await waitFor(() => events.reconnect.length === 1, 2000, 'reconnect');
    expect(events.reconnect[0]).toMatchObject({ attempts: 2, service: 50 });
    const user = await client({ name: 'user', registry: registry() });
    expect(await user.request({ node: NODE, service: 50 }, 'demo.add', [5, 6])).toBe(11);
  });

  it('close() during the backoff wait stops the loop, clears its timer and fires close listeners once', async () => {
    const timers = new ManualTimers();
    const c = await client({ name: 'waiter', reconnect: { backoff: () => 1000, timers } });
    const events = new Recorder(c);
    await daemon!.stop();
    await waitFor(() => events.disconnect.length === 1, 2000, 'disconnect');
    expect(timers.size).toBe(1);
    await c.close();
    expect(timers.size).toBe(0);
    expect(c.closed).toBe(true);
    await c.close();
    expect(events.closes).toEqual([undefined]);
    // transportd comes back and time passes: nothing reconnects.
    await startDaemon();
    timers.advance(60_000);
    await sleep(50);
    expect(names()).not.toContain('waiter');
    expect(events.reconnect).toEqual([]);
    expect(await ping(c).catch((e: unknown) => e)).toBeInstanceOf(NotConnectedError);
  });

  it('close() while an attempt waits for its attach answer ends at once and hangs up', async () => {
    const timers = new ManualTimers();
    const c = await client({ name: 'patient', defaultTimeoutMs: 60_000, reconnect: { backoff: () => 10, timers } });
    const events = new Recorder(c);
    await daemon!.stop();
    await waitFor(() => events.disconnect.length === 1, 2000, 'disconnect');
    // Something that accepts the connection but never answers the attach.
    const received: Buffer[] = [];
    let peer: Socket | undefined;
    let peerClosed = false;
    const silent: Server = createServer((s) => {
      peer = s;
      s.on('data', (d) => received.push(d));
      s.on('close', () => (peerClosed = true));
    });
    silent.listen(socketPath);
    await once(silent, 'listening');
    try {
      timers.advance(10);
      await waitFor(() => received.length > 0, 2000, 'attach request');
      const started = performance.now();
      await c.close();
      expect(performance.now() - started).toBeLessThan(1500);
      expect(events.closes).toEqual([undefined]);
      expect(events.reconnect).toEqual([]);
      expect(timers.size).toBe(0);
      peer!.end();
      await waitFor(() => peerClosed, 2000, 'connection closed');
    } finally {
      silent.close();
    }
  });

  it('gives up after maxAttempts: closed for good, close listeners get the last error', async () => {
    const timers = new ManualTimers();
    const c = await client({ reconnect: { backoff: () => 10, timers, maxAttempts: 2 } });
    const events = new Recorder(c);
    await daemon!.stop();
    await waitFor(() => events.disconnect.length === 1, 2000, 'disconnect');
    timers.advance(10);
    await waitFor(() => events.failed.length === 1, 2000, 'attempt 1');
    timers.advance(10);
    await waitFor(() => c.closed, 2000, 'give up');
    expect(events.failed.map((f) => f.nextDelayMs)).toEqual([10, undefined]);
    expect(events.closes).toHaveLength(1);
    expect(events.closes[0]).toBeInstanceOf(NotConnectedError);
    expect(timers.size).toBe(0);
  });

  it('reconnects with the default backoff and real timers; close() in the wait leaves no timer keeping the process up', async () => {
    const c = await client({ name: 'real', reconnect: { maxDelayMs: 200 } });
    const events = new Recorder(c);
    await daemon!.stop();
    await startDaemon();
    await waitFor(() => events.reconnect.length === 1, 5000, 'reconnect');
    expect((await ping(c)).node).toBe(NODE);

    const slow = await client({ name: 'slow', reconnect: { backoff: () => 60_000 } });
    const slowEvents = new Recorder(slow);
    await daemon!.stop();
    daemon = undefined;
    await waitFor(() => slowEvents.disconnect.length === 1, 2000, 'disconnect');
    await c.close(); // its attempts would create timers meanwhile
    const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const waiting = timeouts();
    await slow.close();
    expect(timeouts()).toBe(waiting - 1);
    expect(slowEvents.closes).toEqual([undefined]);
  });

  it('with reconnect off (the default) a lost connection closes the client for good', async () => {
    const c = await client({ name: 'plain' });
    const events = new Recorder(c);
    await daemon!.stop();
    await waitFor(() => c.closed, 2000, 'closed');
    expect(events.closes).toHaveLength(1);
    expect(events.disconnect).toEqual([expect.objectContaining({ willReconnect: false })]);
    await startDaemon();
    await sleep(200);
    expect(names()).not.toContain('plain');
    expect(events.reconnect).toEqual([]);
    expect(await ping(c).catch((e: unknown) => e)).toBeInstanceOf(NotConnectedError);
  });

  it('refuses reconnect for an in-process link with a clear error', async () => {
    const link = daemon!.openLink();
    expect(() => new TransportClient({ link, reconnect: true })).toThrow(/needs socketPath.*in-process link/);
    link.close();
    await expect(daemon!.connectClient({ reconnect: { maxDelayMs: 100 } })).rejects.toThrow(TypeError);
    const plain = await daemon!.connectClient({ reconnect: false, name: 'inproc' });
    clients.push(plain);
    expect((await ping(plain)).node).toBe(NODE);
  });
});
