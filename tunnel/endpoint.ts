import { EventEmitter } from 'node:events';
import { NodeFlag, TunnelFlag } from '../legacy/protocol/constants.ts';
import { createLogger, type Logger } from '../legacy/common/log.ts';
import { RequestMap } from '../legacy/common/request-map.ts';
import {
  checkEnvelopeHeader, decodeEnvelope, encodeEnvelope, writeEnvelopeHeader, ENVELOPE_SIZE, EnvelopeKind, type Envelope, type EnvelopeKindCode,
} from './envelope.ts';
import {
  TunnelAbortedError, TunnelClosedError, TunnelDisconnectedError, TunnelTimeoutError, TunnelUnreachableError,
} from './errors.ts';
import type { LegacyTunnelPort, NodeEntry, TunnelPacketIn } from './legacy-port.ts';

/**
 * A tunnel endpoint on one legacy client connection: datagrams, requests
 * with replies, fan-out broadcast and discovery of nodes that have no
 * endpoint. It works around the real daemon's quirks (behaviour.md §3):
 * - ctdbd drops tunnel packets to broadcast or CURRENT_NODE: broadcast is a
 *   fan-out over the node map, and packets to our own node never leave the
 *   process;
 * - ctdbd zeroes reqid and rewrites srcnode: the sender and the request id
 *   travel in the envelope.
 */

export type RequestHandler = (from: number, payload: Buffer) => Promise<Buffer> | Buffer;
export type DatagramHandler = (from: number, payload: Buffer) => void;

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface TunnelEndpointOptions {
  port: LegacyTunnelPort;
  tunnelId: bigint;
  /** Answer given to probes, so peers learn what runs here (e.g. versions). */
  probeInfo?: () => Buffer;
  defaultTimeoutMs?: number;
  timers?: Timers;
  logger?: Logger;
}

export interface RequestOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

export type NodeReach =
  | { pnn: number; state: 'bridge'; info: Buffer }
  | { pnn: number; state: 'legacy-only' }
  | { pnn: number; state: 'disconnected' | 'deleted' };

interface Pending {
  pnn: number;
  resolve: (b: Buffer) => void;
  reject: (e: Error) => void;
  timer: unknown;
  onAbort?: () => void;
  signal?: AbortSignal;
}

/**
 * Events: 'disconnected' (the ctdbd connection dropped; in-flight requests
 * were failed), 'reconnected' (connected again, tunnel re-registered),
 * 'bad-packet' (an undecodable envelope was dropped).
 */
export class TunnelEndpoint extends EventEmitter {
  private readonly port: LegacyTunnelPort;
  readonly tunnelId: bigint;
  private readonly timers: Timers;
  private readonly defaultTimeoutMs: number;
  private readonly probeInfo: () => Buffer;
  private log: Logger;
  private pnnValue: number | undefined;
  private nextRequestId = 1;
  private readonly pending = new RequestMap<number, Pending>();
  private requestHandler: RequestHandler | undefined;
  private datagramHandler: DatagramHandler | undefined;
  private closed = false;
  private readonly onDisconnected = () => {
    this.failAll(() => new TunnelDisconnectedError());
    this.emit('disconnected');
  };
  private readonly onConnected = () => this.emit('reconnected');

  constructor(opts: TunnelEndpointOptions) {
    super();
    this.port = opts.port;
    this.tunnelId = opts.tunnelId;
    this.timers = opts.timers ?? realTimers;
    this.defaultTimeoutMs = opts.defaultTimeoutMs ?? 5000;
    this.probeInfo = opts.probeInfo ?? (() => Buffer.alloc(0));
    this.log = opts.logger ?? createLogger({ component: 'tunnel' });
  }

  /** Local PNN; known after open(). */
  get pnn(): number {
    if (this.pnnValue === undefined) throw new TunnelClosedError();
    return this.pnnValue;
  }

  async open(): Promise<void> {
    this.pnnValue = await this.port.getPnn();
    this.log = this.log.child({ node: this.pnnValue, tunnelId: `0x${this.tunnelId.toString(16)}` });
    await this.port.registerTunnel(this.tunnelId, (p) => this.onPacket(p));
    this.port.on('disconnected', this.onDisconnected);
    this.port.on('connected', this.onConnected);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.port.off('disconnected', this.onDisconnected);
    this.port.off('connected', this.onConnected);
    this.failAll(() => new TunnelClosedError());
    await this.port.deregisterTunnel(this.tunnelId).catch((err: unknown) => {
      this.log.debug({ err }, 'deregister on close failed (connection already gone?)');
    });
  }

  onRequest(handler: RequestHandler): void {
    this.requestHandler = handler;
  }

  onDatagram(handler: DatagramHandler): void {
    this.datagramHandler = handler;
  }

  /** The local ctdbd's node map (PNN + flags), e.g. to tell which nodes are reachable. */
  nodeMap(): Promise<NodeEntry[]> {
    return this.port.getNodeMap();
  }

  /** Fire-and-forget datagram to one node (no reply, no delivery guarantee). */
  send(pnn: number, payload: Buffer): void {
    this.transmit(pnn, EnvelopeKind.NOREPLY, 0, payload);
  }

  /** Free bytes sendFrame() needs in front of a payload: the legacy port's REQ_TUNNEL header, then the envelope. */
  get frameRoom(): number {
    return this.port.frameRoom + ENVELOPE_SIZE;
  }

  /**
   * Like send(), for a caller that built its payload frameRoom bytes into
   * `frame`: envelope and REQ_TUNNEL header are written in place, so the
   * payload goes to ctdbd without another copy. `frame` is ours afterwards.
   */
  sendFrame(pnn: number, frame: Buffer): void {
    this.checkDestination(pnn);
    const room = this.port.frameRoom;
    if (pnn === this.pnn) {
      this.deliverLocally({ kind: EnvelopeKind.NOREPLY, srcPnn: pnn, dstPnn: pnn, requestId: 0, payload: frame.subarray(room + ENVELOPE_SIZE) });
      return;
    }
    writeEnvelopeHeader(frame, room, EnvelopeKind.NOREPLY, this.pnn, pnn, 0);
    this.port.sendTunnelFrame(pnn, this.tunnelId, TunnelFlag.NOREPLY, frame);
  }

  /** Fan-out to every connected node with an endpoint (including this one). */
  async broadcast(payload: Buffer): Promise<number[]> {
    const targets = (await this.port.getNodeMap()).filter((n) => isReachable(n)).map((n) => n.pnn);
    for (const pnn of targets) this.send(pnn, payload);
    return targets;
  }

  request(pnn: number, payload: Buffer, opts: RequestOptions = {}): Promise<Buffer> {
    return this.exchange(pnn, EnvelopeKind.REQUEST, payload, opts);
  }

  /**
   * Which nodes run an endpoint on this tunnel id. Connected nodes that do
   * not answer within the timeout are legacy-only (ctdbd discards tunnel
   * packets for ids nobody registered), never failed.
   */
  async discover(timeoutMs = 1000): Promise<NodeReach[]> {
    const nodes = await this.port.getNodeMap();
    return Promise.all(nodes.map(async (n): Promise<NodeReach> => {
      if (n.flags & NodeFlag.DELETED) return { pnn: n.pnn, state: 'deleted' };
      if (n.flags & NodeFlag.DISCONNECTED) return { pnn: n.pnn, state: 'disconnected' };
      try {
        const info = await this.exchange(n.pnn, EnvelopeKind.PROBE, Buffer.alloc(0), { timeoutMs });
        return { pnn: n.pnn, state: 'bridge', info };
      } catch (err) {
        if (err instanceof TunnelTimeoutError) return { pnn: n.pnn, state: 'legacy-only' };
        throw err;
      }
    }));
  }

  private exchange(pnn: number, kind: EnvelopeKindCode, payload: Buffer, opts: RequestOptions): Promise<Buffer> {
    if (this.closed) return Promise.reject(new TunnelClosedError());
    if (opts.signal?.aborted) return Promise.reject(new TunnelAbortedError(pnn));
    const requestId = this.allocateRequestId();
    const timeoutMs = opts.timeoutMs ?? this.defaultTimeoutMs;
    return new Promise<Buffer>((resolve, reject) => {
      const entry: Pending = {
        pnn, resolve, reject, signal: opts.signal,
        timer: this.timers.setTimeout(() => this.settle(requestId, new TunnelTimeoutError(pnn, timeoutMs)), timeoutMs),
      };
      if (opts.signal) {
        entry.onAbort = () => this.settle(requestId, new TunnelAbortedError(pnn));
        opts.signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      this.pending.set(requestId, entry);
      try {
        this.transmit(pnn, kind, requestId, payload);
      } catch (err) {
        this.settle(requestId, err as Error);
      }
    });
  }

  private allocateRequestId(): number {
    // Skip 0 (means "no reply") and ids still in flight after a wrap.
    do {
      this.nextRequestId = this.nextRequestId >= 0xffffffff ? 1 : this.nextRequestId + 1;
    } while (this.pending.has(this.nextRequestId));
    return this.nextRequestId;
  }

  private settle(requestId: number, result: Buffer | Error): void {
    const p = this.pending.get(requestId);
    if (!p) return;
    this.pending.delete(requestId);
    this.timers.clearTimeout(p.timer);
    if (p.onAbort) p.signal?.removeEventListener('abort', p.onAbort);
    if (result instanceof Error) p.reject(result);
    else p.resolve(result);
  }

  private failAll(makeError: () => Error): void {
    for (const id of [...this.pending.keys()]) this.settle(id, makeError());
  }

  private transmit(pnn: number, kind: EnvelopeKindCode, requestId: number, payload: Buffer): void {
    this.checkDestination(pnn);
    const envelope: Envelope = { kind, srcPnn: this.pnn, dstPnn: pnn, requestId, payload };
    if (pnn === this.pnn) {
      this.deliverLocally(envelope);
      return;
    }
    const flags = kind === EnvelopeKind.REQUEST || kind === EnvelopeKind.PROBE ? TunnelFlag.REQUEST
      : kind === EnvelopeKind.NOREPLY ? TunnelFlag.NOREPLY : TunnelFlag.REPLY;
    this.port.sendTunnel(pnn, this.tunnelId, flags, encodeEnvelope(envelope));
  }

  private checkDestination(pnn: number): void {
    if (this.closed) throw new TunnelClosedError();
    if (!Number.isInteger(pnn) || pnn < 0 || pnn >= 0xf0000000) {
      throw new TunnelUnreachableError(pnn, 'not a concrete node number (ctdbd drops tunnel broadcasts)');
    }
  }

  /** ctdbd would not route a packet to its own node back to us reliably: delivered in-process. */
  private deliverLocally(envelope: Envelope): void {
    setImmediate(() => this.handleEnvelope(envelope));
  }

  private onPacket(p: TunnelPacketIn): void {
    const data = p.data;
    let kind: EnvelopeKindCode;
    try {
      kind = checkEnvelopeHeader(data);
    } catch (err) {
      this.log.warn({ err, delivering: p.srcnode, bytes: data.length }, 'dropping tunnel packet with a bad envelope');
      this.emit('bad-packet', err);
      return;
    }
    const dstPnn = data.readUInt32BE(8);
    if (dstPnn !== this.pnnValue) {
      this.log.warn({ dst: dstPnn }, 'dropping tunnel packet addressed to another node');
      return;
    }
    // Datagrams carry the transport: handed on without building an envelope object.
    if (kind === EnvelopeKind.NOREPLY && !this.closed) this.deliverDatagram(data.readUInt32BE(4), data.subarray(ENVELOPE_SIZE));
    else this.handleEnvelope(decodeEnvelope(data));
  }

  private deliverDatagram(from: number, payload: Buffer): void {
    if (this.datagramHandler) this.datagramHandler(from, payload);
    else this.log.debug({ from }, 'datagram without a handler');
  }

  private handleEnvelope(e: Envelope): void {
    if (this.closed) return;
    switch (e.kind) {
      case EnvelopeKind.REPLY:
      case EnvelopeKind.PROBE_REPLY: {
        const p = this.pending.get(e.requestId);
        if (p && p.pnn === e.srcPnn) this.settle(e.requestId, Buffer.from(e.payload));
        else this.log.debug({ from: e.srcPnn, requestId: e.requestId }, 'late or unknown tunnel reply');
        return;
      }
      case EnvelopeKind.PROBE:
        this.transmit(e.srcPnn, EnvelopeKind.PROBE_REPLY, e.requestId, this.probeInfo());
        return;
      case EnvelopeKind.NOREPLY:
        this.deliverDatagram(e.srcPnn, e.payload);
        return;
      case EnvelopeKind.REQUEST:
        void this.answer(e);
    }
  }

  private async answer(e: Envelope): Promise<void> {
    if (!this.requestHandler) {
      this.log.warn({ from: e.srcPnn }, 'tunnel request without a handler; the sender will time out');
      return;
    }
    try {
      const reply = await this.requestHandler(e.srcPnn, e.payload);
      if (!this.closed) this.transmit(e.srcPnn, EnvelopeKind.REPLY, e.requestId, reply);
    } catch (err) {
      this.log.warn({ err, from: e.srcPnn }, 'tunnel request handler failed; no reply sent');
    }
  }
}

function isReachable(n: NodeEntry): boolean {
  return (n.flags & (NodeFlag.DELETED | NodeFlag.DISCONNECTED)) === 0;
}

export type { TunnelPacketIn };
