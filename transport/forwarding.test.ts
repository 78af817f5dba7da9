// transportd forwards by the header alone: a packet from a client on node 0
// to a client on node 1 crosses both transportds (local link, router, uplink,
// router, local link) with its payload bytes untouched and never parsed. The
// first to read them is the receiving component's dispatcher, which answers
// what is not a valid payload. Over the in-process uplink with in-process
// links, and over the WebSocket uplink with unix-socket links.

import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../legacy/common/log.ts';
import { TransportClient } from './api.ts';
import { CONTROL_SERVICE, LOCAL_NODE, type Endpoint } from './endpoint.ts';
import { Flag, PROTOCOL_VERSION } from './header.ts';
import { socketLink, type PacketLink } from './link.ts';
import { buildPacket, decodeEnvelope } from './message.ts';
import type { Packet } from './packet.ts';
import { createRegistry } from './schemas.ts';
import { waitFor } from './testing/inproc-cluster.ts';
import { Transportd } from './transportd.ts';
import { InProcessHub } from './uplinks/inproc.ts';
import { WebSocketUplink } from './uplinks/websocket.ts';
import type { Uplink } from './uplinks/uplink.ts';

const RAW_SERVICE = 60;
const COMPONENT_SERVICE = 61;
const registry = () => createRegistry([{ type: 'demo.echo', versions: { 1: { body: { type: 'object' }, reply: { type: 'object' } } } }]);

/** A link that records (copies of) the packets delivered to whoever started it. */
function recording(link: PacketLink, into: Packet[]): PacketLink {
  return {
    get description() {
      return link.description;
    },
    get closed() {
      return link.closed;
    },
    start: (h) => link.start({ ...h, packet: (p) => {
      into.push({ header: p.header, payload: Buffer.from(p.payload) });
      h.packet(p);
    } }),
    send: (p) => link.send(p),
    close: () => link.close(),
  };
}

/** A local client writing its own packets, payload bytes and all. */
class RawClient {
  readonly got: Packet[] = [];
  service = -1;
  constructor(readonly link: PacketLink) {
    link.start({ packet: (p) => this.got.push(p), close: () => undefined });
  }

  async attach(service?: number): Promise<this> {
    this.link.send(buildPacket({
      src: { node: LOCAL_NODE, service: 0 }, dest: { node: LOCAL_NODE, service: CONTROL_SERVICE }, type: 'transportd.attach',
      version: 1, body: { name: 'raw', ...(service !== undefined && { service }) }, requestId: 1, flags: Flag.REQUEST,
    }));
    await waitFor(() => this.got.length > 0, 2000, 'attach reply');
    this.service = (decodeEnvelope(this.got.shift()!.payload, createRegistry()).body as { service: number }).service;
    return this;
  }

  /** `payload` as it is, behind a header from this client's endpoint. */
  sendRaw(dest: Endpoint, payload: Buffer, requestId: number, flags: number): void {
    this.link.send({
      header: {
        protocolVersion: PROTOCOL_VERSION, payloadVersion: 1, flags, dest, src: { node: LOCAL_NODE, service: this.service },
        requestId, payloadLength: payload.length,
      },
      payload,
    });
  }
}

/** Made at run time: a literal would also be in this file's source map, which the stack traces below read. */
const newMarker = (): string => `marker-${randomBytes(6).toString('hex')}`;

/** JSON.parse calls whose text holds `marker`, with where they came from. */
function watchParse(marker: string): Array<{ text: string; stack: string }> {
  const calls: Array<{ text: string; stack: string }> = [];
  const parse = JSON.parse;
  vi.spyOn(JSON, 'parse').mockImplementation((text: string, reviver?: (this: unknown, key: string, value: unknown) => unknown) => {
    if (typeof text === 'string' && text.includes(marker)) calls.push({ text, stack: new Error().stack ?? '' });
    return parse(text, reviver);
  });
  return calls;
}

interface Layout {
  name: string;
  uplinks(): Uplink[];
  /** After the daemons started (ws: ports are known only now). */
  started?(uplinks: Uplink[]): void;
  link(d: Transportd): Promise<PacketLink>;
  socketDir?: boolean;
}

const layouts: Layout[] = [
  {
    name: 'in-process uplink, in-process links',
    uplinks: () => {
      const hub = new InProcessHub([0, 1]);
      return [hub.createUplink(0), hub.createUplink(1)];
    },
    link: async (d) => d.openLink(),
  },
  {
    name: 'WebSocket uplink on 127.0.0.51-52, unix-socket links',
    uplinks: () => [0, 1].map((node) => new WebSocketUplink({
      node, listen: { host: `127.0.0.${51 + node}`, port: 0 }, peers: [], secret: 'forwarding test cluster secret', logger: silentLogger('ws'),
    })),
    started: (uplinks) => {
      const ws = uplinks as WebSocketUplink[];
      const peers = ws.map((u) => ({ node: u.localNode, ...u.address }));
      for (const u of ws) u.setPeers(peers);
    },
    link: async (d) => {
      const socket = connect(d.socketPath!);
      await once(socket, 'connect');
      return socketLink(socket);
    },
    socketDir: true,
  },
];

describe.each(layouts)('forwarding by header alone: $name', (layout) => {
  let daemons: Transportd[];
  let dir: string | undefined;
  const closers: Array<() => unknown> = [];

  beforeAll(async () => {
    if (layout.socketDir) dir = await mkdtemp(join(tmpdir(), 'forwarding-'));
    const uplinks = layout.uplinks();
    daemons = uplinks.map((uplink) => new Transportd({
      node: uplink.localNode, uplink, logger: silentLogger('transportd'), livenessIntervalMs: 0,
      ...(dir && { socketPath: join(dir, `node${uplink.localNode}.sock`) }),
    }));
    for (const d of daemons) await d.start();
    layout.started?.(uplinks);
    await waitFor(() => daemons.every((d) => d.status().nodes.some((n) => n.node !== d.node && n.state === 'transport')), 5000, 'discovery');
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    for (const close of closers) await close();
    for (const d of daemons ?? []) await d.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const rawClient = async (d: Transportd, service?: number): Promise<RawClient> => {
    const c = await new RawClient(await layout.link(d)).attach(service);
    closers.push(() => c.link.close());
    return c;
  };

  it('carries payloads byte for byte, parsing none of them on the way', async () => {
    const [sender, receiver] = [await rawClient(daemons[0]), await rawClient(daemons[1], RAW_SERVICE)];
    const marker = newMarker();
    const payloads = [
      Buffer.concat([Buffer.from(`{"type":"demo.echo","body":"${marker}`), Buffer.from([0xff, 0xfe, 0x00, 0x80])]), // not UTF-8, not JSON
      Buffer.from(`["${marker}", 1, 2]`), // JSON, not an envelope
      Buffer.from(`{"type":"no.such-type","body":"${marker}"}`), // an envelope of a type nobody defined
      Buffer.from(`{"type":"demo.echo","body":{"m":"${marker}"}}`), // a valid canonical envelope: not parsed either
    ];
    const parsed = watchParse(marker);
    payloads.forEach((p, i) => {
      sender.sendRaw({ node: 1, service: RAW_SERVICE }, p, 100 + i, Flag.REQUEST);
      sender.sendRaw({ node: 1, service: RAW_SERVICE }, p, 0, Flag.NOREPLY);
    });
    await waitFor(() => receiver.got.length === payloads.length * 2, 3000, 'every packet on node 1');
    payloads.forEach((p, i) => {
      for (const [at, requestId, flags] of [[2 * i, 100 + i, Flag.REQUEST], [2 * i + 1, 0, Flag.NOREPLY]]) {
        const got = receiver.got[at];
        expect(got.payload.equals(p), `payload ${i}`).toBe(true);
        expect(got.header).toMatchObject({
          src: { node: 0, service: sender.service }, dest: { node: 1, service: RAW_SERVICE }, requestId, flags, payloadVersion: 1,
          payloadLength: p.length,
        });
      }
    });
    expect(parsed).toEqual([]);
    expect(sender.got).toEqual([]); // nobody on the way answered for the receiver
  });

  it('leaves answering bad payloads to the receiving component\'s dispatcher', async () => {
    const arrived: Packet[] = [];
    const component = new TransportClient({ link: recording(await layout.link(daemons[1]), arrived), service: COMPONENT_SERVICE, registry: registry() });
    component.handle('demo.echo', (body: object) => body);
    await component.connect();
    closers.push(() => component.close());
    const sender = await rawClient(daemons[0]);
    const marker = newMarker();
    const cases: Array<[Buffer, string]> = [
      [Buffer.from(`not JSON ${marker}`), 'invalid-payload'],
      [Buffer.from(`{"kind":"${marker}"}`), 'invalid-payload'],
      [Buffer.from(`{"type":"no.such-type","body":"${marker}"}`), 'unknown-type'],
    ];
    const parsed = watchParse(marker);
    cases.forEach(([p], i) => sender.sendRaw({ node: 1, service: COMPONENT_SERVICE }, p, 200 + i, Flag.REQUEST));
    await waitFor(() => sender.got.length === cases.length, 3000, 'error replies');
    vi.restoreAllMocks(); // the replies quote the bad text: reading them here is not the path's doing
    cases.forEach(([p, code], i) => {
      const request = arrived.find((a) => a.header.requestId === 200 + i && a.header.flags === Flag.REQUEST)!;
      expect(request.payload.equals(p)).toBe(true);
      const reply = sender.got.find((r) => r.header.requestId === 200 + i)!;
      expect(reply.header.flags).toBe(Flag.REPLY | Flag.ERROR);
      expect(reply.header.src).toEqual({ node: 1, service: COMPONENT_SERVICE });
      expect(decodeEnvelope(reply.payload, createRegistry()).body).toMatchObject({ code, node: 1 });
    });
    // Each bad payload was read once, and by the dispatcher of the component it was for.
    expect(parsed.length).toBe(cases.length);
    for (const call of parsed) expect(call.stack).toMatch(/dispatcher\.ts/);
  });
});
