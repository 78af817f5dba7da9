import { EventEmitter } from 'node:events';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, silentLogger } from '../legacy/common/log.ts';
import { TunnelFlag } from '../legacy/protocol/constants.ts';
import {
  EnvelopeKind, TunnelChannel, TunnelEndpoint, bridgeTunnelId, encodeEnvelope, type LegacyTunnelPort, type NodeEntry, type TunnelPacketIn,
} from '../tunnel/index.ts';
import { BROADCAST_NODE, BUILTIN_SERVICE, CONTROL_SERVICE, LOCAL_NODE, type Endpoint } from './endpoint.ts';
import { BadRequestError, ServiceInUseError, UnreachableNodeError } from './errors.ts';
import { Flag } from './header.ts';
import { buildPacket, decodeEnvelope } from './message.ts';
import { encodePacket, type Packet } from './packet.ts';
import { MAX_HELLO_SERVICES, createRegistry } from './schemas.ts';
import type { HelloBody } from './discovery.ts';
import type { PacketLink } from './link.ts';
import { TunnelUplink } from './uplinks/tunnel.ts';
import { InProcessHub } from './uplinks/inproc.ts';
import { Transportd, type TransportStatus } from './transportd.ts';
import { startInProcessCluster, waitFor, type InProcessCluster } from './testing/inproc-cluster.ts';
import type { TransportClient } from './api.ts';

/** Lines a logger wrote, parsed (level 40 = warn). */
type LogLine = { level: number; msg: string; [k: string]: unknown };
function capturingLogger(): { logger: ReturnType<typeof createLogger>; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const destination = { write: (s: string) => void lines.push(JSON.parse(s)) } as unknown as NodeJS.WritableStream;
  return { logger: createLogger({ component: 'transportd', level: 'info', destination }), lines };
}

/**
 * The local ctdbd as the tunnel uplink sees it, driven by hand. Packets come
 * in as a real ctdbd delivers them: srcnode is this daemon (ctdbd rewrites
 * it), the sender is only what the bridge envelope claims.
 */
class FakeCtdbPort extends EventEmitter implements LegacyTunnelPort {
  readonly frameRoom = 48;
  readonly sent: Array<{ destnode: number; data: Buffer }> = [];
  private deliver: ((p: TunnelPacketIn) => void) | undefined;
  constructor(readonly pnn: number, public nodes: NodeEntry[]) {
    super();
  }
  async getPnn(): Promise<number> {
    return this.pnn;
  }
  async registerTunnel(_id: bigint, onPacket: (p: TunnelPacketIn) => void): Promise<void> {
    this.deliver = onPacket;
  }
  async deregisterTunnel(): Promise<void> {}
  sendTunnel(destnode: number, _id: bigint, _flags: number, data: Buffer): void {
    this.sent.push({ destnode, data });
  }
  sendTunnelFrame(destnode: number, _id: bigint, _flags: number, frame: Buffer): void {
    this.sent.push({ destnode, data: frame.subarray(this.frameRoom) });
  }
  async getNodeMap(): Promise<NodeEntry[]> {
    return this.nodes;
  }
  /** One REQ_TUNNEL datagram whose envelope claims `claimedSrc` as the sending node. */
  inject(claimedSrc: number, packet: Buffer): void {
    const data = encodeEnvelope({ kind: EnvelopeKind.NOREPLY, srcPnn: claimedSrc, dstPnn: this.pnn, requestId: 0, payload: packet });
    this.deliver!({ srcnode: this.pnn, flags: TunnelFlag.NOREPLY, data });
  }
}

const helloBody = (node: number, over: Partial<HelloBody> = {}): HelloBody => ({
  node, bootId: `boot-${node}`, software: 'evil', protocolVersions: [1], startedAt: '2024-01-01T00:00:00.000Z',
  services: [0, 1], wantReply: false, ...over,
});
const helloFrom = (node: number, over: Partial<HelloBody> = {}, to = 0): Buffer => encodePacket(buildPacket({
  src: { node, service: CONTROL_SERVICE }, dest: { node: to, service: CONTROL_SERVICE }, type: 'transport.hello', version: 1,
  body: helloBody(node, over), requestId: 0, flags: Flag.NOREPLY,
}));

/** What `ctdb-bridge transport status` and `transport ping -n all` ask, as they ask it. */
async function statusAndPingAll(client: TransportClient): Promise<{ status: TransportStatus; pinged: number[] }> {
  const status = await client.request<TransportStatus>({ node: client.node, service: BUILTIN_SERVICE }, 'transport.status', {});
  const targets = status.nodes.filter((n) => n.state !== 'legacy-only' && n.state !== 'unreachable').map((n) => n.node);
  await Promise.all(targets.map((node) => client.request({ node, service: BUILTIN_SERVICE }, 'transport.ping', {}, { timeoutMs: 2000 })));
  return { status, pinged: targets };
}

describe('transportd on the tunnel uplink under a flood of forged hellos', () => {
  let port: FakeCtdbPort;
  let daemon: Transportd;
  let lines: LogLine[];
  let client: TransportClient;
  const members = (n: number): NodeEntry[] => Array.from({ length: n }, (_, pnn) => ({ pnn, flags: 0 }));

  async function start(nodeCount: number, opts: Partial<ConstructorParameters<typeof Transportd>[0]> = {}): Promise<void> {
    port = new FakeCtdbPort(0, members(nodeCount));
    const cap = capturingLogger();
    lines = cap.lines;
    const endpoint = new TunnelEndpoint({ port, tunnelId: bridgeTunnelId(TunnelChannel.TRANSPORT_V1), logger: silentLogger() });
    const uplink = new TunnelUplink({ endpoint, node: 0, pollIntervalMs: 60_000, logger: silentLogger() });
    daemon = new Transportd({ node: 0, uplink, helloTimeoutMs: 60_000, livenessIntervalMs: 0, logger: cap.logger, ...opts });
    await daemon.start();
    client = await daemon.connectClient({ name: 'ctdb-bridge-cli', defaultTimeoutMs: 2000 });
  }
  afterEach(async () => {
    await client?.close();
    await daemon?.stop();
  });

  it('records none of 12,000 made-up nodes; status and ping -n all still answer', async () => {
    await start(3, { helloTimeoutMs: 50 });
    await waitFor(() => daemon.status().nodes.filter((n) => n.state === 'legacy-only').length === 2, 2000, 'nodes 1, 2 legacy-only');
    for (let i = 0; i < 12_000; i++) port.inject(100 + i, helloFrom(100 + i, { wantReply: true }));
    // Also claiming to be this node, and a member with the envelope saying otherwise.
    port.inject(0, helloFrom(0));
    port.inject(2, helloFrom(1));
    await new Promise((r) => setImmediate(r));
    const { status, pinged } = await statusAndPingAll(client);
    expect(status.nodes.map((n) => `${n.node}:${n.state}`)).toEqual(['0:self', '1:legacy-only', '2:legacy-only']);
    expect(pinged).toEqual([0]);
    expect(daemon.tableSizes()).toMatchObject({ nodes: 2, pendingRequests: 0 });
    // No hello went back to a made-up node, and the log did not get a line per packet.
    expect(port.sent.filter((s) => s.destnode >= 100)).toEqual([]);
    const warns = lines.filter((l) => l.level >= 40);
    expect(warns.length).toBeLessThan(50);
    expect(warns.some((l) => /not a cluster member/.test(JSON.stringify(l)))).toBe(true);
  });

  it(`refuses member hellos listing more than ${MAX_HELLO_SERVICES} services: status stays well under 1 MiB`, async () => {
    await start(64);
    const many = Array.from({ length: 4096 }, (_, i) => 0xfffff000 + i);
    for (let node = 1; node < 64; node++) port.inject(node, helloFrom(node, { services: many }));
    await new Promise((r) => setImmediate(r));
    let { status } = await statusOnly(client);
    expect(status.nodes.filter((n) => n.state === 'transport')).toEqual([]);
    expect(lines.some((l) => l.level >= 40 && /services/.test(JSON.stringify(l)))).toBe(true);
    // At the bound they are accepted; the status of 64 such nodes is still small.
    for (let node = 1; node < 64; node++) port.inject(node, helloFrom(node, { services: many.slice(0, MAX_HELLO_SERVICES) }));
    await new Promise((r) => setImmediate(r));
    ({ status } = await statusOnly(client));
    expect(status.nodes.filter((n) => n.state === 'transport')).toHaveLength(63);
    const size = Buffer.byteLength(JSON.stringify(status));
    expect(size).toBeLessThan(256 * 1024); // measured: 100,472 bytes
  });

  it('keeps the pending-request table bounded and expiring for a node that never answers', async () => {
    let now = 1_000_000;
    await start(3, { maxPendingRequests: 500, pendingRequestTtlMs: 60_000, now: () => now });
    port.inject(1, helloFrom(1)); // node 1 says hello, then never answers anything
    await waitFor(() => daemon.status().nodes.some((n) => n.node === 1 && n.state === 'transport'));
    const asks = Array.from({ length: 5000 }, () => client.request({ node: 1, service: 50 }, 'transport.ping', {}, { timeoutMs: 50 }).catch(() => 'timeout'));
    expect(daemon.tableSizes().pendingRequests).toBeLessThanOrEqual(500);
    await Promise.all(asks);
    now += 61_000;
    await client.request({ node: 1, service: 50 }, 'transport.ping', {}, { timeoutMs: 10 }).catch(() => undefined);
    expect(daemon.tableSizes().pendingRequests).toBe(1);
  });
});

async function statusOnly(client: TransportClient): Promise<{ status: TransportStatus }> {
  return { status: await client.request<TransportStatus>({ node: client.node, service: BUILTIN_SERVICE }, 'transport.status', {}) };
}

/** A local client that writes its own packets on an in-process link (the TransportClient API would not forge them). */
class RawLocalClient {
  readonly got: Packet[] = [];
  service = -1;
  private nextId = 1;
  constructor(readonly link: PacketLink) {
    link.start({ packet: (p) => this.got.push(p), close: () => undefined });
  }
  static async attach(d: Transportd, service?: number): Promise<RawLocalClient> {
    const c = new RawLocalClient(d.openLink());
    const reply = await c.request({ node: LOCAL_NODE, service: 0 }, { node: LOCAL_NODE, service: CONTROL_SERVICE }, 'transportd.attach',
      { name: 'raw', ...(service !== undefined && { service }) });
    if (reply.flags & Flag.ERROR) throw new Error(`attach refused: ${JSON.stringify(reply.body)}`);
    c.service = (reply.body as { service: number }).service;
    return c;
  }
  send(src: Endpoint, dest: Endpoint, type: string, body: unknown): void {
    this.link.send(buildPacket({ src, dest, type, version: 1, body, requestId: 0, flags: Flag.NOREPLY }));
  }
  async request(src: Endpoint, dest: Endpoint, type: string, body: unknown): Promise<{ flags: number; dest: Endpoint; type: string; body: any }> {
    const requestId = this.nextId++;
    this.link.send(buildPacket({ src, dest, type, version: 1, body, requestId, flags: Flag.REQUEST }));
    await waitFor(() => this.got.some((p) => p.header.requestId === requestId), 2000, `reply to ${type}`);
    const p = this.got.find((x) => x.header.requestId === requestId)!;
    const env = decodeEnvelope(p.payload, createRegistry());
    return { flags: p.header.flags, dest: p.header.dest, type: env.type, body: env.body };
  }
}

describe('control messages forged by a local client or a peer', () => {
  let cluster: InProcessCluster;
  let tester: TransportClient;
  const view = (on: number, of: number) => cluster.daemons.get(on)!.status().nodes.find((n) => n.node === of);
  /** Everything sent before has been handled on node 1 (the in-process hub keeps order per pair). */
  const flushTo1 = () => tester.request({ node: 1, service: BUILTIN_SERVICE }, 'transport.ping', {});

  beforeAll(async () => {
    cluster = await startInProcessCluster({ transportNodes: [0, 1, 2], members: [0, 1, 2, 3], daemon: { helloTimeoutMs: 200, livenessIntervalMs: 0 } });
    await cluster.settled();
    tester = await cluster.daemons.get(0)!.connectClient({ name: 'tester', defaultTimeoutMs: 2000 });
  });
  afterAll(async () => {
    await tester?.close();
    await cluster?.stop();
  });

  let raw: RawLocalClient;
  beforeEach(async () => {
    raw = await RawLocalClient.attach(cluster.daemons.get(0)!);
  });
  afterEach(() => raw.link.close());

  it('a bye or hello a local client sends to a peer\'s service 0 changes nothing there', async () => {
    const d0 = cluster.daemons.get(0)!;
    const before = view(1, 0);
    expect(before).toMatchObject({ state: 'transport', bootId: d0.bootId });
    const own = { node: 0, service: raw.service };
    const peerControl = { node: 1, service: CONTROL_SERVICE };
    raw.send(own, peerControl, 'transport.bye', { node: 0, bootId: d0.bootId });
    raw.send({ node: LOCAL_NODE, service: raw.service }, peerControl, 'transport.bye', { node: 0, bootId: d0.bootId });
    raw.send(own, peerControl, 'transport.hello', helloBody(0, { bootId: 'forged', services: [666] }));
    raw.send(own, { node: BROADCAST_NODE, service: CONTROL_SERVICE }, 'transport.bye', { node: 0, bootId: d0.bootId });
    // Claiming transportd's own service 0, or another node.
    raw.send({ node: 0, service: CONTROL_SERVICE }, peerControl, 'transport.bye', { node: 0, bootId: d0.bootId });
    raw.send({ node: 2, service: CONTROL_SERVICE }, peerControl, 'transport.bye', { node: 2, bootId: cluster.daemons.get(2)!.bootId });
    await flushTo1();
    expect(view(1, 0)).toEqual(before);
    expect(view(1, 2)).toMatchObject({ state: 'transport', bootId: cluster.daemons.get(2)!.bootId });
    // The local transportd was not fooled either.
    raw.send(own, { node: LOCAL_NODE, service: CONTROL_SERVICE }, 'transport.hello', helloBody(0));
    raw.send(own, { node: LOCAL_NODE, service: CONTROL_SERVICE }, 'transport.bye', { node: 1, bootId: cluster.daemons.get(1)!.bootId });
    await flushTo1();
    expect(view(0, 1)).toMatchObject({ state: 'transport', bootId: cluster.daemons.get(1)!.bootId });
  });

  it('answers a forged request with bad-request, addressed to the client\'s real endpoint', async () => {
    const ping = { node: 1, service: BUILTIN_SERVICE };
    for (const src of [{ node: 2, service: raw.service }, { node: 0, service: BUILTIN_SERVICE }, { node: LOCAL_NODE, service: CONTROL_SERVICE }]) {
      const r = await raw.request(src, ping, 'transport.ping', {});
      expect(r).toMatchObject({ flags: Flag.REPLY | Flag.ERROR, type: 'transport.error', body: { code: 'bad-request', node: 0 } });
      expect(r.dest).toEqual({ node: 0, service: raw.service });
    }
    const toControl = await raw.request({ node: 0, service: raw.service }, { node: 1, service: CONTROL_SERVICE }, 'transport.ping', {});
    expect(toControl.body).toMatchObject({ code: 'bad-request', message: expect.stringMatching(/service 0/) });
    // Its own endpoint still works.
    const ok = await raw.request({ node: LOCAL_NODE, service: raw.service }, ping, 'transport.ping', {});
    expect(ok).toMatchObject({ flags: Flag.REPLY, body: { node: 1 } });
  });

  it('refuses a client claim of service 0 or 1, and a TransportClient cannot send to service 0', async () => {
    for (const service of [CONTROL_SERVICE, BUILTIN_SERVICE]) {
      const err = await cluster.daemons.get(0)!.connectClient({ name: 'usurper', service }).catch((e) => e);
      expect(err).toBeInstanceOf(ServiceInUseError);
    }
    expect(() => tester.send({ node: 1, service: CONTROL_SERVICE }, 'transport.bye', { node: 0, bootId: 'x' })).toThrow(BadRequestError);
  });

  it('accepts hello only from service 0 of the sending node over the uplink', async () => {
    // Node 3 is a member without transportd; a raw carrier endpoint there plays a peer.
    const fake = cluster.hub.createUplink(3);
    await fake.start();
    try {
      await waitFor(() => view(0, 3)?.state === 'legacy-only', 2000, 'node 3 legacy-only');
      const hello = (src: Endpoint, over: Partial<HelloBody> = {}) => encodePacket(buildPacket({
        src, dest: { node: 0, service: CONTROL_SERVICE }, type: 'transport.hello', version: 1, body: helloBody(3, over), requestId: 0, flags: Flag.NOREPLY,
      }));
      fake.send(0, hello({ node: 3, service: 50 }));
      fake.send(0, hello({ node: 3, service: CONTROL_SERVICE }, { node: 1 } as Partial<HelloBody>));
      await new Promise((r) => setTimeout(r, 20));
      expect(view(0, 3)?.state).not.toBe('transport');
      expect(view(0, 1)).toMatchObject({ state: 'transport', bootId: cluster.daemons.get(1)!.bootId });
      fake.send(0, hello({ node: 3, service: CONTROL_SERVICE }));
      await waitFor(() => view(0, 3)?.state === 'transport', 2000, 'genuine hello from node 3');
      // A forged bye with the wrong bootId fails nothing and changes nothing.
      fake.send(0, encodePacket(buildPacket({
        src: { node: 3, service: CONTROL_SERVICE }, dest: { node: 0, service: CONTROL_SERVICE }, type: 'transport.bye', version: 1,
        body: { node: 3, bootId: 'not-its-boot' }, requestId: 0, flags: Flag.NOREPLY,
      })));
      await new Promise((r) => setTimeout(r, 20));
      expect(view(0, 3)?.state).toBe('transport');
    } finally {
      await fake.stop();
    }
  });

  it('drops uplink packets from a node that is not a cluster member', async () => {
    const hub = new InProcessHub([0, 1]);
    const d = new Transportd({ node: 0, uplink: hub.createUplink(0), helloTimeoutMs: 100, livenessIntervalMs: 0, logger: silentLogger() });
    await d.start();
    // Joins the hub quietly (no reachability event), so node 0's view of the cluster stays [0, 1].
    const outsider = hub.createUplink(9);
    await outsider.start();
    try {
      outsider.send(0, helloFrom(9));
      await new Promise((r) => setTimeout(r, 20));
      expect(d.status().nodes.map((n) => n.node)).toEqual([0, 1]);
      const c = await d.connectClient({ name: 'c' });
      expect(await c.request({ node: 9, service: BUILTIN_SERVICE }, 'transport.ping', {}).catch((e) => e)).toBeInstanceOf(UnreachableNodeError);
      await c.close();
    } finally {
      await outsider.stop();
      await d.stop();
    }
  });
});
