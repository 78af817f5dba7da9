import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../../legacy/common/log.ts';
import { TunnelFlag } from '../../legacy/protocol/constants.ts';
import { Control } from '../../legacy/protocol/controls.ts';
import { EnvelopeKind, TunnelChannel, bridgeTunnelId, encodeEnvelope } from '../../tunnel/index.ts';
import {
  BROADCAST_NODE, BUILTIN_SERVICE, CONTROL_SERVICE, LOCAL_NODE, Flag, TransportClient, encodePacket, type Endpoint,
  type Packet, type TransportStatus,
} from '../../transport/index.ts';
import { buildPacket } from '../../transport/message.ts';
import { socketLink, type PacketLink } from '../../transport/link.ts';
import type { AttackDetail } from './attacks.ts';
import { LegacyWire, tunnelPacket } from './legacy-wire.ts';

/**
 * Attacks on transportd: forged discovery through the legacy tunnel (any
 * client of any node's ctdbd can put packets into the transport tunnel),
 * and a local client forging transportd's own control messages.
 */

export const TRANSPORT_TUNNEL_ID = bridgeTunnelId(TunnelChannel.TRANSPORT_V1);

export interface HelloSpec {
  node: number;
  bootId?: string;
  services?: number[];
  wantReply?: boolean;
}

/** A transport.hello as transportd `spec.node` would send it to `dest`. */
export function helloPacket(spec: HelloSpec, dest: number, src: Endpoint = { node: spec.node, service: CONTROL_SERVICE }): Packet {
  return buildPacket({
    src, dest: { node: dest, service: CONTROL_SERVICE }, type: 'transport.hello', version: 1, requestId: 0, flags: Flag.NOREPLY,
    body: {
      node: spec.node, bootId: spec.bootId ?? `forged-${spec.node}`, software: 'hostile', protocolVersions: [1],
      startedAt: '2024-01-01T00:00:00.000Z', services: spec.services ?? [0, 1], wantReply: spec.wantReply ?? true,
    },
  });
}

export function byePacket(node: number, bootId: string, src: Endpoint, dest: Endpoint): Packet {
  return buildPacket({ src, dest, type: 'transport.bye', version: 1, requestId: 0, flags: Flag.NOREPLY, body: { node, bootId } });
}

/** A transport packet inside the bridge envelope inside a client REQ_TUNNEL, claiming `claimedSrc` as sender. */
export function tunnelledTransport(packet: Packet, claimedSrc: number, dest: number): Buffer {
  const data = encodeEnvelope({ kind: EnvelopeKind.NOREPLY, srcPnn: claimedSrc, dstPnn: dest, requestId: 0, payload: encodePacket(packet) });
  return tunnelPacket(dest, TRANSPORT_TUNNEL_ID, TunnelFlag.NOREPLY, data);
}

/**
 * The discovery flood: through a ctdbd socket (of a node other than the
 * target), hellos from `madeUp` invented node numbers, then hellos listing
 * 4096 services, half claiming a real member node, half invented ones.
 */
export async function discoveryFlood(opts: {
  ctdbSocket: string;
  target: number;
  member: number;
  madeUp?: number;
  bigHellos?: number;
  firstMadeUp?: number;
  lingerMs?: number;
}): Promise<AttackDetail> {
  const wire = await LegacyWire.open(opts.ctdbSocket);
  try {
    const madeUp = opts.madeUp ?? 12_000;
    const first = opts.firstMadeUp ?? 1000;
    let bytes = 0;
    const send = async (b: Buffer) => {
      bytes += b.length;
      if (!wire.write(b)) await wire.drained();
    };
    for (let i = 0; i < madeUp; i++) {
      const node = first + i;
      await send(tunnelledTransport(helloPacket({ node }, opts.target), node, opts.target));
    }
    const services = Array.from({ length: 4096 }, (_, i) => 0x7fff0000 + i);
    const big = opts.bigHellos ?? 40;
    for (let i = 0; i < big; i++) {
      const node = i % 2 === 0 ? opts.member : first + madeUp + i;
      await send(tunnelledTransport(helloPacket({ node, services, wantReply: false }, opts.target), node, opts.target));
    }
    // ctdbd reads the socket in its own time: the flood is "sent" once it took the bytes.
    await wire.control(Control.GET_PNN, { timeoutMs: 30_000 });
    // transportd works through it after that: the well-behaved client keeps measuring meanwhile.
    await sleep(opts.lingerMs ?? 2000);
    return { madeUpHellos: madeUp, bigHellos: big, servicesEach: services.length, sentKiB: Math.round(bytes / 1024) };
  } finally {
    await wire.close();
  }
}

// ---------------------------------------------------------------- a raw local client

/**
 * A local transport client that attaches properly and then sends whatever
 * headers it likes (TransportClient always sends as its own endpoint).
 */
export class RawTransportClient {
  private constructor(private readonly link: PacketLink, readonly service: number) {}

  static async attach(socketPath: string): Promise<RawTransportClient> {
    const socket = await new Promise<ReturnType<typeof connect>>((resolve, reject) => {
      const s = connect(socketPath);
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
    const link = socketLink(socket);
    const attached = new Promise<number>((resolve, reject) => {
      link.start({
        packet: (p) => {
          if (p.header.requestId === 1) {
            const body = JSON.parse(p.payload.toString()).body as { service?: number };
            if (typeof body.service === 'number') resolve(body.service);
            else reject(new Error(`attach refused: ${p.payload.toString()}`));
          }
        },
        close: () => reject(new Error('transportd closed the connection during attach')),
      });
    });
    link.send(buildPacket({
      src: { node: LOCAL_NODE, service: CONTROL_SERVICE }, dest: { node: LOCAL_NODE, service: CONTROL_SERVICE },
      type: 'transportd.attach', version: 1, body: { name: 'hostile-forger' }, requestId: 1, flags: Flag.REQUEST,
    }));
    return new RawTransportClient(link, await attached);
  }

  /** Sends a packet; false when the local link refused to even encode it. */
  send(packet: Packet): boolean {
    try {
      this.link.send(packet);
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    this.link.close();
  }
}

// ---------------------------------------------------------------- watching the views

/** What node `on` says about node `of`: state and boot id. */
type ViewKey = `${number}->${number}`;

/**
 * Polls the status of several transportds and records every change, from
 * the first poll on, of any node's state or boot id as another one sees it.
 */
export class TransportViewWatch {
  private readonly baseline = new Map<ViewKey, string>();
  readonly changes: string[] = [];
  private running = true;
  private loop: Promise<void> = Promise.resolve();
  polls = 0;

  private constructor(private readonly clients: Array<{ node: number; client: TransportClient }>) {}

  static async start(sockets: Array<{ node: number; socketPath: string }>, everyMs = 100): Promise<TransportViewWatch> {
    const clients = await Promise.all(sockets.map(async (s) => ({
      node: s.node,
      client: await new TransportClient({ socketPath: s.socketPath, name: 'hostile-watch', defaultTimeoutMs: 3000, logger: silentLogger('watch') }).connect(),
    })));
    const w = new TransportViewWatch(clients);
    await w.poll();
    w.loop = (async () => {
      while (w.running) {
        await sleep(everyMs);
        await w.poll();
      }
    })();
    return w;
  }

  /** The last status each transportd gave. */
  readonly last = new Map<number, TransportStatus>();

  private async poll(): Promise<void> {
    await Promise.all(this.clients.map(async ({ node, client }) => {
      try {
        const st = await client.request<TransportStatus>({ node, service: BUILTIN_SERVICE }, 'transport.status', {});
        this.last.set(node, st);
        for (const n of st.nodes) {
          const key: ViewKey = `${node}->${n.node}`;
          const seen = `${n.state}/${n.bootId ?? '-'}`;
          const was = this.baseline.get(key);
          if (was === undefined) this.baseline.set(key, seen);
          else if (was !== seen) {
            this.changes.push(`node ${node} saw node ${n.node} change from ${was} to ${seen}`);
            this.baseline.set(key, seen);
          }
        }
      } catch (err) {
        this.changes.push(`node ${node}: status failed: ${(err as Error).message}`);
      }
    }));
    this.polls++;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await Promise.all(this.clients.map((c) => c.client.close()));
  }
}

/**
 * A local client forging transportd's control messages (service 0): byes
 * and hellos to peers as if from its transportd, byes and hellos to its own
 * transportd as if from a peer, each `repeat` times.
 */
export async function forgedControlAttack(opts: { socketPath: string; node: number; peers: number[]; repeat?: number }): Promise<AttackDetail> {
  const probe = await new TransportClient({ socketPath: opts.socketPath, name: 'hostile-status', logger: silentLogger('forger') }).connect();
  const status = await probe.request<TransportStatus>({ node: opts.node, service: BUILTIN_SERVICE }, 'transport.status', {});
  await probe.close();
  const boot = (n: number) => status.nodes.find((x) => x.node === n)?.bootId ?? 'unknown';
  const forger = await RawTransportClient.attach(opts.socketPath);
  const self = opts.node;
  const asTransportd: Endpoint = { node: LOCAL_NODE, service: CONTROL_SERVICE };
  const forged: Packet[] = [];
  for (const peer of opts.peers) {
    const peerCtl = { node: peer, service: CONTROL_SERVICE };
    forged.push(
      byePacket(self, boot(self), asTransportd, peerCtl),
      byePacket(self, boot(self), { node: self, service: CONTROL_SERVICE }, peerCtl),
      byePacket(self, boot(self), { node: self, service: forger.service }, peerCtl),
      helloPacket({ node: self, bootId: 'forged-boot', services: [0, 1, 4242], wantReply: false }, peer, asTransportd),
      // To its own transportd, as if the peer said it.
      byePacket(peer, boot(peer), { node: peer, service: CONTROL_SERVICE }, { node: LOCAL_NODE, service: CONTROL_SERVICE }),
      byePacket(peer, boot(peer), asTransportd, { node: self, service: CONTROL_SERVICE }),
      helloPacket({ node: peer, bootId: 'forged-boot', wantReply: false }, self, asTransportd),
    );
  }
  forged.push(byePacket(self, boot(self), asTransportd, { node: BROADCAST_NODE, service: CONTROL_SERVICE }));
  let sent = 0;
  let refusedLocally = 0;
  try {
    for (let r = 0; r < (opts.repeat ?? 20); r++) {
      for (const p of forged) {
        if (forger.send(p)) sent++;
        else refusedLocally++;
      }
      await sleep(20);
    }
    await sleep(500);
  } finally {
    forger.close();
  }
  return { forgeries: forged.length, sent, refusedLocally };
}
