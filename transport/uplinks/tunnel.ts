// Legacy tunnel uplink: transport packets ride inside ctdbd's REQ_TUNNEL
// packets (one packet per tunnel datagram) through the local ctdbd. The
// sender's node travels in the tunnel envelope, because ctdbd rewrites the
// tunnel header's source node (to the receiving daemon's own PNN, on both
// hops), so nothing ctdbd hands over names the sender: the envelope's node is
// the sender's claim, reported as fromNode and held to the transport header's
// source by transportd, which also drops sources outside the node map and this
// node itself (PROTOCOL.md, Trust and bounds). Which nodes exist and which are reachable
// comes from ctdbd's node map, polled, and re-read at once after the client
// reconnects; while the ctdbd connection is down no remote node is reachable.

import type { Logger } from 'pino';
import { createLogger } from '../../legacy/common/log.ts';
import { NodeFlag } from '../../legacy/protocol/constants.ts';
import type { NodeEntry, TunnelEndpoint } from '../../tunnel/index.ts';
import { DEFAULT_MAX_PAYLOAD, HEADER_SIZE } from '../header.ts';
import type { Uplink, UplinkNode, UplinkPacketHandler, UplinkReachabilityHandler } from './uplink.ts';

export const DEFAULT_NODE_MAP_POLL_MS = 1000;

export interface TunnelUplinkOptions {
  /** Endpoint on the transport tunnel id; not yet opened (start() opens it). */
  endpoint: TunnelEndpoint;
  /** This node's PNN, as the local ctdbd reported it (GET_PNN). */
  node: number;
  /** How often the node map is polled. */
  pollIntervalMs?: number;
  /** Largest packet handed to ctdbd (default: transport header + 1 MiB payload). */
  maxPacketSize?: number;
  logger?: Logger;
  /** Run by stop() after the endpoint is closed, e.g. to close a LegacyClient the uplink owns. */
  release?: () => Promise<void>;
}

const UNREACHABLE_FLAGS = NodeFlag.DISCONNECTED | NodeFlag.DELETED;

export class TunnelUplink implements Uplink {
  readonly kind = 'tunnel';
  readonly localNode: number;
  readonly maxPacketSize: number;
  /** transportd leaves room for the REQ_TUNNEL header and the envelope in front of each packet. */
  readonly frameRoom: number;
  private readonly endpoint: TunnelEndpoint;
  private readonly pollIntervalMs: number;
  private readonly logger: Logger;
  /** Node -> reachable, in node-map order. */
  private nodes = new Map<number, boolean>();
  private flagsByNode = new Map<number, number>();
  private linkUp = true;
  private running = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private packetHandler: UplinkPacketHandler | undefined;
  private reachHandler: UplinkReachabilityHandler | undefined;
  private release: (() => Promise<void>) | undefined;
  private readonly onDisconnected = (): void => this.connectionChanged(false);
  private readonly onReconnected = (): void => this.connectionChanged(true);

  constructor(private readonly opts: TunnelUplinkOptions) {
    this.endpoint = opts.endpoint;
    this.frameRoom = opts.endpoint.frameRoom;
    this.localNode = opts.node;
    this.pollIntervalMs = opts.pollIntervalMs ?? DEFAULT_NODE_MAP_POLL_MS;
    this.maxPacketSize = opts.maxPacketSize ?? HEADER_SIZE + DEFAULT_MAX_PAYLOAD;
    this.logger = opts.logger ?? createLogger({ component: 'tunnel-uplink', node: opts.node });
    this.release = opts.release;
  }

  async start(): Promise<void> {
    if (this.running) return;
    try {
      await this.endpoint.open();
    } catch (err) {
      // ctdbd lets one client per node hold a tunnel id: most likely another transportd runs here.
      throw new Error(`cannot register tunnel 0x${this.endpoint.tunnelId.toString(16)} with the local ctdbd ` +
        `(is another transportd running on this node?): ${(err as Error).message}`, { cause: err });
    }
    if (this.endpoint.pnn !== this.localNode) {
      await this.endpoint.close();
      throw new Error(`the local ctdbd is node ${this.endpoint.pnn}, not ${this.localNode}`);
    }
    this.endpoint.onDatagram((from, payload) => {
      if (this.running) this.packetHandler?.(payload, from);
    });
    this.endpoint.on('disconnected', this.onDisconnected);
    this.endpoint.on('reconnected', this.onReconnected);
    // Known before transportd starts discovery; no events for the first map.
    this.nodes = toReachability(await this.endpoint.nodeMap(), this.localNode, this.flagsByNode);
    this.running = true;
    this.schedulePoll();
    this.logger.info({ nodes: this.knownNodes() }, 'tunnel uplink started');
  }

  /** Also after a failed or missing start: what the uplink owns is released once. */
  async stop(): Promise<void> {
    if (this.running) {
      this.running = false;
      clearTimeout(this.pollTimer);
      this.endpoint.off('disconnected', this.onDisconnected);
      this.endpoint.off('reconnected', this.onReconnected);
      await this.polling;
      await this.endpoint.close();
    }
    const release = this.release;
    this.release = undefined;
    await release?.();
  }

  send(destNode: number, bytes: Buffer): boolean {
    return this.hand(destNode, bytes, 0);
  }

  sendFrame(destNode: number, frame: Buffer): boolean {
    return this.hand(destNode, frame, this.frameRoom);
  }

  /** `bytes` holds the packet after `room` bytes kept free for the tunnel's own headers. */
  private hand(destNode: number, bytes: Buffer, room: number): boolean {
    if (!this.running || !this.linkUp || this.nodes.get(destNode) !== true) return false;
    const size = bytes.length - room;
    if (size > this.maxPacketSize) {
      this.logger.warn({ peer: destNode, size, max: this.maxPacketSize }, 'packet too large for the tunnel; dropped');
      return false;
    }
    try {
      if (room) this.endpoint.sendFrame(destNode, bytes);
      else this.endpoint.send(destNode, bytes);
      return true;
    } catch (err) {
      // The ctdbd connection went away between our last event and now.
      this.logger.debug({ err, peer: destNode }, 'tunnel send failed');
      return false;
    }
  }

  onPacket(handler: UplinkPacketHandler): void {
    this.packetHandler = handler;
  }

  onNodeReachability(handler: UplinkReachabilityHandler): void {
    this.reachHandler = handler;
  }

  knownNodes(): UplinkNode[] {
    return [...this.nodes].map(([node, reachable]) => ({ node, reachable }));
  }

  /** Raw node flags from the last node map (for status and tests). */
  nodeFlags(node: number): number | undefined {
    return this.flagsByNode.get(node);
  }

  /** Re-reads the node map now (also done every pollIntervalMs). */
  refresh(): Promise<void> {
    this.polling ??= this.poll().finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  private schedulePoll(): void {
    clearTimeout(this.pollTimer);
    if (!this.running) return;
    this.pollTimer = setTimeout(() => void this.refresh().finally(() => this.schedulePoll()), this.pollIntervalMs);
    this.pollTimer.unref();
  }

  private async poll(): Promise<void> {
    if (!this.running || !this.linkUp) return;
    let entries: NodeEntry[];
    try {
      entries = await this.endpoint.nodeMap();
    } catch (err) {
      // Disconnected meanwhile (handled by the event) or ctdbd busy: keep the last view.
      this.logger.debug({ err }, 'node map poll failed');
      return;
    }
    if (!this.running || !this.linkUp) return;
    this.apply(toReachability(entries, this.localNode, this.flagsByNode));
  }

  private connectionChanged(up: boolean): void {
    if (!this.running || this.linkUp === up) return;
    this.linkUp = up;
    this.logger.info({ connected: up }, up ? 'ctdbd connection back; re-reading the node map' : 'ctdbd connection lost: every node unreachable');
    if (up) {
      void this.refresh();
      return;
    }
    const next = new Map<number, boolean>();
    for (const node of this.nodes.keys()) next.set(node, node === this.localNode);
    this.apply(next);
  }

  /** Replaces the view and reports each node whose reachability (or membership) changed. */
  private apply(next: Map<number, boolean>): void {
    const before = this.nodes;
    this.nodes = next;
    for (const [node, reachable] of before) {
      if (!next.has(node) && reachable) this.report(node, false);
    }
    for (const [node, reachable] of next) {
      if (before.get(node) !== reachable) this.report(node, reachable);
    }
  }

  private report(node: number, reachable: boolean): void {
    if (node === this.localNode || !this.running) return;
    this.logger.info({ peer: node, reachable }, 'node reachability changed');
    this.reachHandler?.(node, reachable);
  }
}

/** Node map -> reachability: DISCONNECTED and DELETED nodes are unreachable; this node always is reachable. */
function toReachability(entries: NodeEntry[], self: number, flags: Map<number, number>): Map<number, boolean> {
  flags.clear();
  const out = new Map<number, boolean>();
  for (const e of entries) {
    flags.set(e.pnn, e.flags);
    out.set(e.pnn, e.pnn === self || (e.flags & UNREACHABLE_FLAGS) === 0);
  }
  if (!out.has(self)) out.set(self, true);
  return out;
}
