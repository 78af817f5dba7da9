import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInProcessCluster, waitFor, type InProcessCluster } from './testing/inproc-cluster.ts';
import { createRegistry, type MessageDefinition } from './schemas.ts';
import {
  InvalidPayloadError, NoSuchServiceError, NotConnectedError, PayloadTooLargeError, RemoteHandlerError,
  ServiceInUseError, TransportCancelledError, TransportTimeoutError, UnknownMessageTypeError, UnreachableNodeError,
  VersionMismatchError, BadRequestError,
} from './errors.ts';
import { BUILTIN_SERVICE } from './endpoint.ts';
import type { TransportClient } from './api.ts';
import { buildPacket, decodeEnvelope } from './message.ts';
import { decodePacket, encodePacket, type Packet } from './packet.ts';
import { Flag, Offset } from './header.ts';
import type { TransportStatus } from './builtin-service.ts';
import { InProcessHub, type InProcessUplink } from './uplinks/inproc.ts';
import { Transportd } from './transportd.ts';
import { silentLogger } from '../legacy/common/log.ts';

const ECHO = 100;
const EVENTS = 200;
const echoV1: MessageDefinition = {
  type: 'demo.echo',
  versions: {
    1: {
      body: { type: 'object', properties: { text: { type: 'string', maxLength: 100 }, delayMs: { type: 'integer' }, fail: { type: 'string' } }, required: ['text'], additionalProperties: false },
      reply: { type: 'object', properties: { text: { type: 'string' }, node: { type: 'integer' } }, required: ['text', 'node'], additionalProperties: false },
    },
  },
};
const event: MessageDefinition = { type: 'demo.event', versions: { 1: { body: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] } } } };

describe('three transportds over the in-process uplink (node 3 is legacy-only)', () => {
  let cluster: InProcessCluster;
  let client: TransportClient;
  const events = new Map<number, number[]>();
  const lateReplies: string[] = [];

  beforeAll(async () => {
    cluster = await startInProcessCluster({ transportNodes: [0, 1, 2], members: [0, 1, 2, 3], daemon: { helloTimeoutMs: 200 } });
    for (const [node, d] of cluster.daemons) {
      await d.connectClient({ service: ECHO, name: 'echo', registry: createRegistry([echoV1, event]) }, (c) => {
        c.handle('demo.echo', async (body: { text: string; delayMs?: number; fail?: string }) => {
          if (body.delayMs) await new Promise((r) => setTimeout(r, body.delayMs));
          if (body.fail === 'plain') throw new Error('echo handler broke');
          if (body.fail === 'typed') throw new BadRequestError('echo refuses this');
          if (body.fail === 'bad-reply') return { text: 42 };
          if (body.delayMs) lateReplies.push(body.text);
          return { text: body.text, node };
        });
      });
      events.set(node, []);
      await d.connectClient({ service: EVENTS, name: 'events', registry: createRegistry([event]) }, (c) => {
        c.subscribe('demo.event', (body: { n: number }) => events.get(node)!.push(body.n));
      });
    }
    client = await cluster.daemons.get(0)!.connectClient({ name: 'tester', registry: createRegistry([echoV1, event]), defaultTimeoutMs: 2000 });
    await cluster.settled();
    // Every transportd, not only node 0's: the tests ask any of them.
    await waitFor(() => [...cluster.daemons.values()].every((d) => d.status().nodes.some((n) => n.node === 3 && n.state === 'legacy-only')));
  });
  afterAll(async () => {
    await client?.close();
    await cluster?.stop();
  });

  it('discovers transport nodes and reports node 3 as legacy-only', async () => {
    const status = await client.request<TransportStatus>({ node: 1, service: BUILTIN_SERVICE }, 'transport.status', {});
    expect(status.nodes.map((n) => [n.node, n.state])).toEqual([[1, 'self'], [0, 'transport'], [2, 'transport'], [3, 'legacy-only']]);
    expect(status.services.map((s) => s.name)).toEqual(['transportd', 'builtin', 'echo', 'events']);
  });

  it('answers ping, uptime and version on every node', async () => {
    for (const node of [0, 1, 2]) {
      expect(await client.request({ node, service: BUILTIN_SERVICE }, 'transport.ping', {})).toMatchObject({ node });
      const up = await client.request<{ uptimeSeconds: number }>({ node, service: BUILTIN_SERVICE }, 'transport.uptime', {});
      expect(up.uptimeSeconds).toBeGreaterThanOrEqual(0);
      const v = await client.request<{ protocolVersions: number[]; messageTypes: Record<string, number[]> }>({ node, service: BUILTIN_SERVICE }, 'transport.version', {});
      expect(v.protocolVersions).toEqual([1]);
      expect(v.messageTypes['transport.ping']).toEqual([1]);
    }
  });

  it('carries request and reply between components on different nodes and on the same node', async () => {
    expect(await client.request({ node: 2, service: ECHO }, 'demo.echo', { text: 'hi' })).toEqual({ text: 'hi', node: 2 });
    expect(await client.request({ node: 0, service: ECHO }, 'demo.echo', { text: 'local' })).toEqual({ text: 'local', node: 0 });
    const many = await Promise.all(Array.from({ length: 50 }, (_, i) => client.request({ node: 1 + (i % 2), service: ECHO }, 'demo.echo', { text: `m${i}` })));
    expect(many.map((r) => (r as { text: string }).text)).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
  });

  it('times out', async () => {
    const started = Date.now();
    const err = await client.request({ node: 1, service: ECHO }, 'demo.echo', { text: 'slow', delayMs: 400 }, { timeoutMs: 100 }).catch((e) => e);
    expect(err).toBeInstanceOf(TransportTimeoutError);
    expect(Date.now() - started).toBeLessThan(350);
    // The late reply arrives and is ignored.
    await waitFor(() => lateReplies.includes('slow'));
    expect(await client.request({ node: 1, service: ECHO }, 'demo.echo', { text: 'after' })).toMatchObject({ text: 'after' });
  });

  it('times out requests in deadline order, whatever order they were sent in (one shared timer)', async () => {
    const started = Date.now();
    const settled: string[] = [];
    const ask = (text: string, timeoutMs: number) => client.request({ node: 1, service: ECHO }, 'demo.echo', { text, delayMs: 600 }, { timeoutMs })
      .then(() => settled.push(`${text}:answered`), (e: unknown) => settled.push(`${text}:${e instanceof TransportTimeoutError ? 'timeout' : String(e)}`));
    const long = ask('long', 300);
    const short = ask('short', 60);
    await short;
    expect(settled).toEqual(['short:timeout']);
    expect(Date.now() - started).toBeLessThan(250);
    await long;
    expect(settled).toEqual(['short:timeout', 'long:timeout']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    // The timer outlives the requests and still serves the next one.
    expect(await client.request({ node: 1, service: ECHO }, 'demo.echo', { text: 'quick' }, { timeoutMs: 1000 })).toMatchObject({ text: 'quick' });
    await waitFor(() => lateReplies.includes('long'));
  });

  it('is cancelled by an AbortSignal, before or during the request', async () => {
    const ac = new AbortController();
    const p = client.request({ node: 2, service: ECHO }, 'demo.echo', { text: 'cancel-me', delayMs: 200 }, { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('operator gave up')), 20);
    const err = await p.catch((e) => e);
    expect(err).toBeInstanceOf(TransportCancelledError);
    expect((err as Error).cause).toMatchObject({ message: 'operator gave up' });
    const pre = await client.request({ node: 2, service: ECHO }, 'demo.echo', { text: 'x' }, { signal: AbortSignal.abort() }).catch((e) => e);
    expect(pre).toBeInstanceOf(TransportCancelledError);
  });

  it('reports a missing service', async () => {
    const err = await client.request({ node: 2, service: 4242 }, 'demo.echo', { text: 'x' }).catch((e) => e);
    expect(err).toBeInstanceOf(NoSuchServiceError);
    expect(err).toMatchObject({ endpoint: { node: 2, service: 4242 }, origin: 2 });
  });

  it('reports legacy-only, unknown and cut-off nodes as unreachable', async () => {
    for (const node of [3, 9]) {
      const err = await client.request({ node, service: ECHO }, 'demo.echo', { text: 'x' }).catch((e) => e);
      expect(err).toBeInstanceOf(UnreachableNodeError);
      expect(err).toMatchObject({ node });
    }
    cluster.hub.setReachable(2, false);
    try {
      const err = await client.request({ node: 2, service: ECHO }, 'demo.echo', { text: 'x' }).catch((e) => e);
      expect(err).toBeInstanceOf(UnreachableNodeError);
      expect((err as Error).message).toMatch(/cannot reach/);
      expect(cluster.daemons.get(0)!.status().nodes.find((n) => n.node === 2)?.state).toBe('unreachable');
    } finally {
      cluster.hub.setReachable(2, true);
    }
    await cluster.settled();
    expect(await client.request({ node: 2, service: ECHO }, 'demo.echo', { text: 'back' })).toMatchObject({ node: 2 });
  });

  it('fails requests in flight to a node at once when the uplink loses it', async () => {
    const started = Date.now();
    const inFlight = client.request({ node: 2, service: ECHO }, 'demo.echo', { text: 'cut', delayMs: 300 }, { timeoutMs: 5000 })
      .catch((e) => e);
    setTimeout(() => cluster.hub.setReachable(2, false), 50);
    try {
      const err = await inFlight;
      expect(err).toBeInstanceOf(UnreachableNodeError);
      expect(err).toMatchObject({ node: 2, origin: 0 });
      expect((err as Error).message).toMatch(/lost it/);
      expect(Date.now() - started).toBeLessThan(1000);
    } finally {
      cluster.hub.setReachable(2, true);
    }
    await cluster.settled();
    expect(await client.request({ node: 2, service: ECHO }, 'demo.echo', { text: 'back again' })).toMatchObject({ node: 2 });
  });

  it('answers unknown payload versions with version-mismatch', async () => {
    const v2 = createRegistry([{ type: 'demo.echo', versions: { ...echoV1.versions, 2: { body: { type: 'object' }, reply: { type: 'object' } } } }]);
    const newer = await cluster.daemons.get(0)!.connectClient({ name: 'newer', registry: v2 });
    try {
      const err = await newer.request({ node: 1, service: ECHO }, 'demo.echo', { text: 'v2' }).catch((e) => e);
      expect(err).toBeInstanceOf(VersionMismatchError);
      expect(err).toMatchObject({ what: 'payload', version: 2, supported: [1] });
      expect(await newer.request({ node: 1, service: ECHO }, 'demo.echo', { text: 'v1' }, { version: 1 })).toMatchObject({ text: 'v1' });
    } finally {
      await newer.close();
    }
  });

  it('answers invalid payloads and unknown types with typed errors', async () => {
    const lax = createRegistry([
      { type: 'demo.echo', versions: { 1: { body: { type: 'object' }, reply: { type: 'object' } } } },
      { type: 'demo.unknown', versions: { 1: { body: { type: 'object' }, reply: { type: 'object' } } } },
    ]);
    const sloppy = await cluster.daemons.get(0)!.connectClient({ name: 'sloppy', registry: lax });
    try {
      expect(await sloppy.request({ node: 2, service: ECHO }, 'demo.echo', { text: 7 }).catch((e) => e)).toBeInstanceOf(InvalidPayloadError);
      expect(await sloppy.request({ node: 2, service: ECHO }, 'demo.unknown', {}).catch((e) => e)).toBeInstanceOf(UnknownMessageTypeError);
    } finally {
      await sloppy.close();
    }
    // The sender validates too: an invalid body never leaves.
    expect(() => client.send({ node: 2, service: EVENTS }, 'demo.event', { n: 'x' })).toThrow(InvalidPayloadError);
    expect(await client.request({ node: 2, service: ECHO }, 'demo.echo', { nope: 1 }).catch((e) => e)).toBeInstanceOf(InvalidPayloadError);
  });

  it('turns handler failures into error replies', async () => {
    expect(await client.request({ node: 1, service: ECHO }, 'demo.echo', { text: 'x', fail: 'plain' }).catch((e) => e))
      .toMatchObject({ name: 'RemoteHandlerError', message: 'echo handler broke' });
    expect(await client.request({ node: 1, service: ECHO }, 'demo.echo', { text: 'x', fail: 'typed' }).catch((e) => e))
      .toBeInstanceOf(BadRequestError);
    expect(await client.request({ node: 1, service: ECHO }, 'demo.echo', { text: 'x', fail: 'bad-reply' }).catch((e) => e))
      .toBeInstanceOf(RemoteHandlerError);
  });

  it('broadcasts one-way messages to the service on every transport node', async () => {
    client.broadcast(EVENTS, 'demo.event', { n: 1 });
    client.send({ node: 1, service: EVENTS }, 'demo.event', { n: 2 });
    await waitFor(() => [0, 1, 2].every((n) => events.get(n)!.includes(1)) && events.get(1)!.includes(2));
    expect(events.get(0)).toEqual([1]);
    expect(events.get(1)).toEqual([1, 2]);
    expect(events.get(2)).toEqual([1]);
  });

  it('keeps services exclusive per node and frees them when a client goes', async () => {
    const err = await cluster.daemons.get(2)!.connectClient({ service: ECHO, name: 'dup' }).catch((e) => e);
    expect(err).toBeInstanceOf(ServiceInUseError);
    let received = false;
    const temp = await cluster.daemons.get(1)!.connectClient({ service: 300, name: 'temp', registry: createRegistry([echoV1]) }, (c) =>
      c.handle('demo.echo', () => {
        received = true;
        return new Promise(() => undefined);
      }));
    const pending = client.request({ node: 1, service: 300 }, 'demo.echo', { text: 'never' }, { timeoutMs: 300 }).catch((e) => e);
    await waitFor(() => received);
    await temp.close();
    expect(await pending).toBeInstanceOf(TransportTimeoutError);
    const again = await cluster.daemons.get(1)!.connectClient({ service: 300, name: 'again' });
    await again.close();
  });

  it('answers bad packets from the uplink and ignores spoofed or foreign ones', async () => {
    // A raw carrier endpoint on node 3 (the legacy-only member) plays a misbehaving peer.
    const fake = cluster.hub.createUplink(3);
    const got: Packet[] = [];
    fake.onPacket((bytes) => got.push(decodePacket(bytes)));
    await fake.start();
    try {
      const ping = (requestId: number, src = { node: 3, service: 9 }) => encodePacket(buildPacket({
        src, dest: { node: 0, service: BUILTIN_SERVICE }, type: 'transport.ping', version: 1, body: {}, requestId, flags: Flag.REQUEST,
      }));
      const future = ping(1);
      future.writeUInt8(7, Offset.protocolVersion);
      fake.send(0, future);
      fake.send(0, ping(2, { node: 1, service: 9 })); // claims to be node 1: dropped
      fake.send(0, Buffer.from('not a transport packet at all, but long enough'));
      fake.send(0, ping(3));
      await waitFor(() => got.some((p) => p.header.requestId === 3));
      const byId = new Map(got.map((p) => [p.header.requestId, p]));
      expect(decodeEnvelope(byId.get(1)!.payload, createRegistry()).body).toMatchObject({ code: 'version-mismatch', what: 'protocol', supported: [1] });
      expect(byId.has(2)).toBe(false);
      expect(byId.get(3)!.header.flags).toBe(Flag.REPLY);
    } finally {
      await fake.stop();
    }
  });

  it('refuses oversize payloads before sending and fails pending requests when the client closes', async () => {
    const small = await cluster.daemons.get(0)!.connectClient({ name: 'small', maxPayload: 256, registry: createRegistry([echoV1]) });
    expect(() => small.send({ node: 1, service: ECHO }, 'demo.echo', { text: 'y'.repeat(100) })).not.toThrow();
    const big = { text: 'z'.repeat(100), fail: 'q'.repeat(300) };
    expect(await small.request({ node: 1, service: ECHO }, 'demo.echo', big).catch((e) => e)).toBeInstanceOf(PayloadTooLargeError);
    const pending = small.request({ node: 1, service: ECHO }, 'demo.echo', { text: 'bye', delayMs: 300 });
    await small.close();
    expect(await pending.catch((e) => e)).toBeInstanceOf(NotConnectedError);
    expect(await small.request({ node: 1, service: ECHO }, 'demo.echo', { text: 'x' }).catch((e) => e)).toBeInstanceOf(NotConnectedError);
  });
});

describe('a transportd that dies without bye while its node stays in the cluster', () => {
  const HELLO_TIMEOUT = 200;
  const LIVENESS = 300;
  /** Worst case from the dead transportd's last packet to legacy-only, plus scheduling slack. */
  const BOUND = 2 * LIVENESS + HELLO_TIMEOUT + 500;
  const hub = new InProcessHub([0, 1, 2]);
  const running = new Map<number, { daemon: Transportd; uplink: InProcessUplink; clients: TransportClient[] }>();
  const start = async (node: number): Promise<Transportd> => {
    const uplink = hub.createUplink(node);
    const daemon = new Transportd({
      node, uplink, helloTimeoutMs: HELLO_TIMEOUT, livenessIntervalMs: LIVENESS, logger: silentLogger('transportd'),
    });
    await daemon.start();
    const echo = await daemon.connectClient({ service: ECHO, name: 'echo', registry: createRegistry([echoV1]) }, (c) =>
      c.handle('demo.echo', async (body: { text: string; delayMs?: number }) => {
        if (body.delayMs) await new Promise((r) => setTimeout(r, body.delayMs));
        return { text: body.text, node };
      }));
    running.set(node, { daemon, uplink, clients: [echo] });
    return daemon;
  };
  /** Like SIGKILL: the carrier drops the node's packets (ctdbd: no tunnel registered) and no bye is sent. */
  const kill = async (node: number): Promise<void> => {
    const n = running.get(node)!;
    running.delete(node);
    await n.uplink.stop();
    for (const c of n.clients) await c.close();
    await n.daemon.stop(); // its bye cannot leave: the uplink is gone
  };
  const stateOf = (on: number, node: number) => running.get(on)!.daemon.status().nodes.find((n) => n.node === node)?.state;
  const allTransport = () => [...running.keys()].every((on) => [...running.keys()].every((n) => n === on || stateOf(on, n) === 'transport'));
  let client: TransportClient;

  beforeAll(async () => {
    for (const node of [0, 1, 2]) await start(node);
    client = await running.get(0)!.daemon.connectClient({ name: 'tester', registry: createRegistry([echoV1]) });
    running.get(0)!.clients.push(client);
    await waitFor(allTransport, 5000, 'discovery');
  });
  afterAll(async () => {
    for (const n of running.values()) {
      for (const c of n.clients) await c.close();
      await n.daemon.stop();
    }
  });

  it('keeps idle, live transportds in transport state (probes are answered)', async () => {
    const until = Date.now() + 4 * LIVENESS + HELLO_TIMEOUT;
    while (Date.now() < until) {
      expect(allTransport()).toBe(true);
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  it('is taken for legacy-only within the bound, failing requests in flight to it and later ones at once', async () => {
    const bootBefore = running.get(2)!.daemon.bootId;
    const inFlight = client.request({ node: 2, service: ECHO }, 'demo.echo', { text: 'never', delayMs: 2000 }, { timeoutMs: 30_000 })
      .then(() => 'answered', (e: unknown) => e);
    await new Promise((r) => setTimeout(r, 20)); // the request is on node 2 when it dies
    const killedAt = Date.now();
    await kill(2);
    const err = await inFlight;
    const failedAfter = Date.now() - killedAt;
    expect(err).toBeInstanceOf(UnreachableNodeError);
    expect(err).toMatchObject({ node: 2, origin: 0 });
    expect((err as Error).message).toMatch(/stopped answering/);
    expect(failedAfter).toBeLessThan(BOUND);
    await waitFor(() => stateOf(0, 2) === 'legacy-only' && stateOf(1, 2) === 'legacy-only', BOUND, 'node 2 legacy-only everywhere');
    expect(running.get(0)!.daemon.status().nodes.find((n) => n.node === 2)).toMatchObject({ state: 'legacy-only', bootId: bootBefore });
    const started = Date.now();
    const next = await client.request({ node: 2, service: ECHO }, 'demo.echo', { text: 'x' }, { timeoutMs: 5000 }).catch((e) => e);
    expect(next).toBeInstanceOf(UnreachableNodeError);
    expect(Date.now() - started).toBeLessThan(100);
    // The survivors still see each other.
    expect(stateOf(0, 1)).toBe('transport');
    expect(await client.request({ node: 1, service: ECHO }, 'demo.echo', { text: 'still' })).toEqual({ text: 'still', node: 1 });
  });

  it('takes a transportd started there again (new bootId) for transport', async () => {
    const again = await start(2);
    await waitFor(allTransport, 5000, 'node 2 back in transport state');
    expect(running.get(0)!.daemon.status().nodes.find((n) => n.node === 2)).toMatchObject({ state: 'transport', bootId: again.bootId });
    expect(await client.request({ node: 2, service: ECHO }, 'demo.echo', { text: 'back' })).toEqual({ text: 'back', node: 2 });
  });
});
