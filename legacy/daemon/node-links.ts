import { createServer, Socket, type Server } from 'node:net';
import type { Logger } from '../common/log.ts';
import { PacketFramer } from '../protocol/framing.ts';
import { DaemonStartError } from './errors.ts';
import { MemoryBudget } from './memory-budget.ts';
import { batchWrite, beginDispatch, endDispatch, type BatchTarget } from './write-batch.ts';

/**
 * Node-to-node TCP links in ctdbd's format (behaviour.md §2):
 * - listen on <own address>:<port>;
 * - one outgoing connection per other node, bound to the own address so the
 *   peer can identify us by source IP; we only write on it, and any data or
 *   EOF arriving on it means the peer failed;
 * - accepted connections are identified by source IP only and only read;
 * - strict framing (length multiple of 8, magic, version): a violation kills
 *   the peer; so does a packet above the budget's largest node packet, one
 *   incomplete for longer than its time limit, or the largest incomplete one
 *   when the daemon-wide budget is exceeded (memory-budget.ts);
 * - connect attempts time out after 1 s and are retried every second, or at
 *   once when the peer connects to us (it is listening then);
 * A peer counts as connected once both directions exist.
 */

export interface LinkPeer {
  pnn: number;
  address: string;
}

export interface NodeLinksOptions {
  ownAddress: string;
  port: number;
  /** Every other non-deleted node. */
  peers: LinkPeer[];
  logger: Logger;
  onPacket(pnn: number, packet: Buffer): void;
  onConnected(pnn: number): void;
  /** A link failed; the daemon decides whether the node is dead. */
  onLinkFailure(pnn: number, reason: string): void;
  connectTimeoutMs?: number;
  reconnectIntervalMs?: number;
  /**
   * Memory budget for incomplete packets (memory-budget.ts): the largest node
   * packet, the time limit on an incomplete one, the daemon-wide total. A
   * private one with the defaults when unset.
   */
  budget?: MemoryBudget;
}

interface PeerState {
  peer: LinkPeer;
  out: Socket | undefined;
  /** Write target of the outgoing socket once it is up. */
  outTarget: BatchTarget | undefined;
  in: Socket | undefined;
  connected: boolean;
  retry: NodeJS.Timeout | undefined;
}

export class NodeLinks {
  private server: Server | undefined;
  private readonly peers = new Map<number, PeerState>();
  private readonly byAddress = new Map<string, PeerState>();
  private stopped = false;
  private log: Logger;
  private readonly connectTimeoutMs: number;
  private readonly reconnectMs: number;
  private readonly budget: MemoryBudget;

  constructor(private readonly opts: NodeLinksOptions) {
    this.log = opts.logger;
    this.budget = opts.budget ?? new MemoryBudget({}, opts.logger);
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 1000;
    this.reconnectMs = opts.reconnectIntervalMs ?? 1000;
    for (const peer of opts.peers) {
      const st: PeerState = { peer, out: undefined, outTarget: undefined, in: undefined, connected: false, retry: undefined };
      this.peers.set(peer.pnn, st);
      this.byAddress.set(peer.address, st);
    }
  }

  /** Once the daemon knows its PNN its log lines carry it. */
  setLogger(log: Logger): void {
    this.log = log;
  }

  async listen(): Promise<void> {
    const server = createServer({ noDelay: true }, (s) => this.accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new DaemonStartError(
        `cannot listen on ${this.opts.ownAddress}:${this.opts.port}: ${err.message}`, err)));
      server.listen({ host: this.opts.ownAddress, port: this.opts.port, exclusive: true }, () => resolve());
    });
    server.on('error', (err) => this.log.error({ err: err.message }, 'node listener error'));
    this.server = server;
  }

  /** Starts connecting to every peer. */
  connectAll(): void {
    for (const st of this.peers.values()) this.connect(st);
  }

  isConnected(pnn: number): boolean {
    return this.peers.get(pnn)?.connected ?? false;
  }

  /** Queues a packet on the outgoing link; silently dropped without one (as ctdbd). */
  send(pnn: number, packet: Buffer): boolean {
    const t = this.peers.get(pnn)?.outTarget;
    if (!t) return false;
    batchWrite(t, packet);
    return true;
  }

  /** Closes both connections of a peer and reconnects (node declared dead). */
  reset(pnn: number): void {
    const st = this.peers.get(pnn);
    if (!st) return;
    this.closeAll(st);
    this.scheduleConnect(st, 0);
  }

  private connect(st: PeerState): void {
    if (this.stopped || st.out) return;
    const s = new Socket();
    st.out = s;
    st.outTarget = undefined;
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      s.destroy();
    }, this.connectTimeoutMs);
    s.on('error', () => undefined);
    s.once('connect', () => {
      settled = true;
      clearTimeout(timer);
      s.setNoDelay(true);
      s.setKeepAlive(true);
      st.outTarget = { socket: s, batchEpoch: 0, batchCorked: false };
      this.log.info({ peer: st.peer.pnn, address: st.peer.address }, 'outgoing link connected');
      this.checkConnected(st);
    });
    // We never expect to read on our outgoing connection.
    s.on('data', () => {
      this.log.warn({ peer: st.peer.pnn }, 'data on outgoing link: peer failure');
      this.fail(st, 'data on outgoing connection');
    });
    s.once('close', () => {
      clearTimeout(timer);
      if (st.out !== s) return;
      const wasUp = st.outTarget !== undefined;
      st.out = undefined;
      st.outTarget = undefined;
      if (wasUp) this.fail(st, 'outgoing connection closed');
      else this.scheduleConnect(st, this.reconnectMs);
    });
    s.connect({ host: st.peer.address, port: this.opts.port, localAddress: this.opts.ownAddress });
  }

  private scheduleConnect(st: PeerState, delay: number): void {
    if (this.stopped || st.retry || st.out) return;
    st.retry = setTimeout(() => {
      st.retry = undefined;
      this.connect(st);
    }, delay);
  }

  private accept(s: Socket): void {
    const address = normaliseAddress(s.remoteAddress ?? '');
    const st = this.byAddress.get(address);
    if (!st) {
      this.log.warn({ address }, 'connection from unknown node address: closed');
      s.destroy();
      return;
    }
    if (st.in) {
      this.log.warn({ peer: st.peer.pnn }, 'incoming queue active: second connection closed');
      s.destroy();
      return;
    }
    st.in = s;
    s.setKeepAlive(true);
    // The peer is listening now: connect back at once instead of at the next retry.
    if (st.retry && !st.out) {
      clearTimeout(st.retry);
      st.retry = undefined;
      this.connect(st);
    }
    const framer = new PacketFramer({ strict: true, maxPacketSize: this.budget.limits.maxNodePacket });
    const pnn = st.peer.pnn;
    const account = this.budget.register({ peer: pnn }, (reason) => {
      framer.release();
      if (st.in === s) this.fail(st, reason);
      else s.destroy();
    });
    // A packet can fail the link (declared sizes that lie): the rest of the chunk is dropped with it.
    const onPacket = (p: Buffer) => {
      if (st.in === s) this.opts.onPacket(pnn, p);
    };
    s.on('data', (chunk: Buffer) => {
      beginDispatch();
      try {
        framer.push(chunk, onPacket);
        this.budget.update(account, framer.heldBytes, framer.midPacket, framer.packetsOut);
      } catch (err) {
        this.log.warn({ peer: pnn, err: (err as Error).message }, 'bad packet from node: peer failure');
        this.fail(st, (err as Error).message);
      } finally {
        endDispatch();
      }
    });
    s.on('error', () => undefined);
    s.once('close', () => {
      this.budget.unregister(account);
      framer.release();
      if (st.in !== s) return;
      st.in = undefined;
      if (st.connected) {
        st.connected = false;
        this.log.info({ peer: pnn }, 'incoming link closed');
      }
    });
    this.checkConnected(st);
  }

  private checkConnected(st: PeerState): void {
    if (!st.connected && st.outTarget && st.in) {
      st.connected = true;
      this.opts.onConnected(st.peer.pnn);
    }
  }

  private fail(st: PeerState, reason: string): void {
    const wasConnected = st.connected;
    this.closeAll(st);
    this.scheduleConnect(st, this.reconnectMs);
    if (wasConnected || reason) this.opts.onLinkFailure(st.peer.pnn, reason);
  }

  private closeAll(st: PeerState): void {
    st.connected = false;
    const { out, in: inc } = st;
    st.out = undefined;
    st.outTarget = undefined;
    st.in = undefined;
    out?.destroy();
    inc?.destroy();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const st of this.peers.values()) {
      if (st.retry) clearTimeout(st.retry);
      st.retry = undefined;
      this.closeAll(st);
    }
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export function normaliseAddress(a: string): string {
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}
