import { createServer, Socket, type Server } from 'node:net';
import { KEEPALIVE_VERSION_4_17, Operation } from '../../protocol/constants.ts';
import { PacketFramer } from '../../protocol/framing.ts';
import { decodePacket, encodePacket, type Packet } from '../../protocol/packets.ts';
import type { Daemon } from '../daemon.ts';
import type { TestCluster } from './test-cluster.ts';

/**
 * A scripted peer that plays one node over raw TCP (as the reference
 * experiments did against real ctdbd): it listens on the node's address,
 * connects to the daemon from it, decodes what the daemon sends and writes
 * whatever bytes a test wants, lies included.
 */
export class FakePeer {
  readonly received: Packet[] = [];
  server!: Server;
  out: Socket | undefined;
  inbound: Socket | undefined;
  private keepaliveTimer: NodeJS.Timeout | undefined;

  constructor(readonly address: string, readonly port: number, readonly pnn: number) {}

  async listen(): Promise<void> {
    this.server = createServer((s) => {
      this.inbound = s;
      const framer = new PacketFramer({ strict: true });
      s.on('data', (chunk: Buffer) => framer.push(chunk, (b) => this.received.push(decodePacket(b))));
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => this.server.listen({ host: this.address, port: this.port }, () => r()));
  }

  connect(to: string, localAddress = this.address): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s = new Socket();
      s.on('error', reject);
      s.connect({ host: to, port: this.port, localAddress }, () => resolve(s));
      this.out = s;
    });
  }

  send(p: Packet): void {
    this.out!.write(encodePacket(p, { padding: 'daemon' }));
  }

  /** Raw bytes on the outgoing connection (malformed packets). */
  sendRaw(bytes: Buffer): void {
    this.out!.write(bytes);
  }

  keepalives(destnode: number, everyMs: number, version = KEEPALIVE_VERSION_4_17, uptime = 0): void {
    this.keepaliveTimer = setInterval(() => {
      if (this.out && !this.out.destroyed) {
        this.send({ operation: Operation.REQ_KEEPALIVE, generation: 1, destnode, srcnode: this.pnn, reqid: 0, version, uptime });
      }
    }, everyMs);
  }

  stopKeepalives(): void {
    if (this.keepaliveTimer) clearInterval(this.keepaliveTimer);
  }

  async until<T extends Packet>(match: (p: Packet) => boolean, timeoutMs = 3000): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const p = this.received.find(match);
      if (p) return p as T;
      if (Date.now() > end) throw new Error('fake peer: no matching packet');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async close(): Promise<void> {
    this.stopKeepalives();
    this.out?.destroy();
    this.inbound?.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/**
 * Starts node 0 of a two-node test cluster with a FakePeer playing node 1,
 * linked in both directions. The peer is closed again if the link fails.
 */
export async function linkFakePeer(cluster: TestCluster): Promise<{ d: Daemon; peer: FakePeer }> {
  const peer = new FakePeer(cluster.addresses[1], cluster.port, 1);
  try {
    await peer.listen();
    const d = await cluster.startNode(0);
    await peer.connect(cluster.addresses[0]);
    await cluster.until(() => d.state.isConnected(1), 3000, 'node 1 connected');
    return { d, peer };
  } catch (err) {
    await peer.close();
    throw err;
  }
}
