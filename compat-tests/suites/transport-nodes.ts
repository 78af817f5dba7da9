import { LegacyClient, exponentialBackoff } from '../../legacy/client/index.ts';
import { silentLogger } from '../../legacy/common/log.ts';
import {
  Transportd, WebSocketUplink, createRegistry, createUplink, type MessageDefinition, type TransportClient,
  type TransportClientOptions, type Uplink,
} from '../../transport/index.ts';
import { DEFAULT_WS_PORT } from '../../transport/uplinks/ws-config.ts';
import type { ClientSuiteCluster } from './client-cluster.ts';

/**
 * In-process transportds, one per cluster node, for the transport suite.
 * tunnel: each with its own LegacyClient to its node's ctdbd socket.
 * ws: WebSocket links between the node addresses (port 4380), every cluster
 * node a peer whether or not it runs a transportd.
 */

export type SuiteUplinkKind = 'tunnel' | 'ws';

export const ECHO_SERVICE = 50;
export const EVENT_SERVICE = 60;

export const suiteMessages: MessageDefinition[] = [
  {
    type: 'suite.echo',
    versions: {
      1: {
        body: { type: 'object', properties: { text: { type: 'string' }, delayMs: { type: 'integer' } }, required: ['text'] },
        reply: { type: 'object', properties: { text: { type: 'string' }, node: { type: 'integer' } }, required: ['text', 'node'] },
      },
    },
  },
  { type: 'suite.event', versions: { 1: { body: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] } } } },
];

const WS_SECRET = Buffer.from('transport compat suite secret 0123456789');

interface RunningNode {
  daemon: Transportd;
  uplink?: Uplink;
  clients: TransportClient[];
  legacy?: LegacyClient;
  /** Events received by this node's event service. */
  events: number[];
}

export class TransportNodes {
  private readonly running = new Map<number, RunningNode>();

  constructor(
    private readonly cluster: ClientSuiteCluster,
    readonly kind: SuiteUplinkKind,
    private readonly opts: { helloTimeoutMs?: number; pollIntervalMs?: number; livenessIntervalMs?: number } = {},
  ) {}

  get nodes(): number[] {
    return [...this.running.keys()].sort((a, b) => a - b);
  }

  daemon(pnn: number): Transportd {
    const n = this.running.get(pnn);
    if (!n) throw new Error(`no transportd on node ${pnn}`);
    return n.daemon;
  }

  events(pnn: number): number[] {
    return this.running.get(pnn)?.events ?? [];
  }

  stateOf(on: number, node: number): string | undefined {
    return this.daemon(on).status().nodes.find((n) => n.node === node)?.state;
  }

  /** Starts a transportd on `pnn` with an echo service and an event service attached. */
  async start(pnn: number): Promise<Transportd> {
    const node: RunningNode = { daemon: undefined as unknown as Transportd, clients: [], events: [] };
    const uplink = await this.uplinkFor(pnn, node);
    node.uplink = uplink;
    node.daemon = new Transportd({
      node: pnn, uplink, helloTimeoutMs: this.opts.helloTimeoutMs ?? 1000, livenessIntervalMs: this.opts.livenessIntervalMs,
      logger: silentLogger('transportd'),
    });
    try {
      await node.daemon.start();
    } catch (err) {
      await uplink.stop().catch(() => undefined);
      await node.legacy?.close();
      throw err;
    }
    this.running.set(pnn, node);
    const registry = createRegistry(suiteMessages);
    node.clients.push(await node.daemon.connectClient({ service: ECHO_SERVICE, name: 'echo', registry }, (c) =>
      c.handle('suite.echo', async (b: { text: string; delayMs?: number }) => {
        if (b.delayMs) await new Promise((r) => setTimeout(r, b.delayMs));
        return { text: b.text, node: pnn };
      })));
    node.clients.push(await node.daemon.connectClient({ service: EVENT_SERVICE, name: 'events', registry }, (c) =>
      c.subscribe('suite.event', (b: { n: number }) => node.events.push(b.n))));
    return node.daemon;
  }

  /** A requester attached in-process to node `pnn`'s transportd (closed by stop). */
  async client(pnn: number, opts: Omit<TransportClientOptions, 'link' | 'socketPath'> = {}): Promise<TransportClient> {
    const node = this.running.get(pnn);
    if (!node) throw new Error(`no transportd on node ${pnn}`);
    const c = await node.daemon.connectClient({ name: 'suite', registry: createRegistry(suiteMessages), ...opts });
    node.clients.push(c);
    return c;
  }

  async stop(pnn: number): Promise<void> {
    const node = this.running.get(pnn);
    if (!node) return;
    this.running.delete(pnn);
    for (const c of node.clients) await c.close().catch(() => undefined);
    await node.daemon.stop();
    await node.legacy?.close();
  }

  /**
   * The SIGKILL equivalent: the uplink goes first (tunnel: the tunnel id is
   * deregistered from ctdbd, which stays up; ws: the links close), so the
   * transportd's bye cannot leave; then what is left is cleaned up.
   */
  async kill(pnn: number): Promise<void> {
    const node = this.running.get(pnn);
    if (!node) return;
    this.running.delete(pnn);
    await node.uplink?.stop();
    for (const c of node.clients) await c.close().catch(() => undefined);
    await node.daemon.stop();
    await node.legacy?.close();
  }

  async stopAll(): Promise<void> {
    for (const pnn of this.nodes) await this.stop(pnn);
  }

  private async uplinkFor(pnn: number, node: RunningNode): Promise<Uplink> {
    if (this.kind === 'tunnel') {
      node.legacy = await LegacyClient.connect({
        socketPath: this.cluster.nodes[pnn].socketPath, logger: silentLogger('legacy-client'), trackLeader: false,
        defaultTimeoutMs: 3000, reconnect: { backoff: exponentialBackoff({ initialMs: 100, maxMs: 500 }) },
      });
      return createUplink('tunnel', {
        node: pnn, logger: silentLogger('tunnel-uplink'),
        tunnel: { client: node.legacy, pollIntervalMs: this.opts.pollIntervalMs ?? 250 },
      });
    }
    return new WebSocketUplink({
      node: pnn,
      listen: { host: this.cluster.nodes[pnn].address, port: DEFAULT_WS_PORT },
      peers: this.cluster.nodes.map((n) => ({ node: n.pnn, host: n.address, port: DEFAULT_WS_PORT })),
      secret: WS_SECRET,
      reconnectMaxMs: 500,
      logger: silentLogger('ws-uplink'),
    });
  }
}
