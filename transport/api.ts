// TransportClient: what components use. One client = one endpoint (node,
// service) on its local transportd, reached over a unix socket or an
// in-process link. send / request (timeout, AbortSignal) / handle / subscribe.

import { connect as netConnect } from 'node:net';
import type { Logger } from 'pino';
import { silentLogger } from '../legacy/common/log.ts';
import { RequestMap } from '../legacy/common/request-map.ts';
import { BROADCAST_NODE, CONTROL_SERVICE, LOCAL_NODE, type Endpoint } from './endpoint.ts';
import { DEFAULT_MAX_PAYLOAD, Flag, isErrorReply, kindOf } from './header.ts';
import {
  BadRequestError, NotConnectedError, TransportCancelledError, TransportError, TransportTimeoutError,
  fromWireError, type WireErrorBody,
} from './errors.ts';
import { ServiceDispatcher, type MessageListener, type RequestHandler } from './dispatcher.ts';
import { socketLink, type PacketLink } from './link.ts';
import { ERROR_TYPE, buildPacket, decodeEnvelope } from './message.ts';
import type { Packet } from './packet.ts';
import { createRegistry, type MessageRegistry } from './schemas.ts';

export const DEFAULT_REQUEST_TIMEOUT_MS = 5000;

export interface TransportClientOptions {
  /** transportd's unix socket; or give `link` (in-process attachment). */
  socketPath?: string;
  link?: PacketLink;
  /** Well-known service id to claim; omitted: transportd assigns an ephemeral one. */
  service?: number;
  /** Shown in transportd status. */
  name?: string;
  /** Message types this client sends and handles; defaults to the core types. */
  registry?: MessageRegistry;
  defaultTimeoutMs?: number;
  maxPayload?: number;
  logger?: Logger;
}

export interface SendOptions {
  /** Payload version; defaults to the newest the registry knows. */
  version?: number;
}

export interface RequestOptions extends SendOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  type: string;
  version: number;
  dest: Endpoint;
  timeoutMs: number;
  /** performance.now() value after which the request times out. */
  deadline: number;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** Removes the request's abort listener (closures are kept off the hot path). */
function cleanup(p: Pending): void {
  if (p.onAbort) p.signal!.removeEventListener('abort', p.onAbort);
}

/** Longest delay setTimeout accepts; longer ones are re-armed when they fire. */
const MAX_TIMER_MS = 0x7fffffff;

export class TransportClient {
  readonly registry: MessageRegistry;
  private readonly dispatcher: ServiceDispatcher;
  private readonly pending = new RequestMap<number, Pending>();
  private readonly closeListeners = new Set<(err?: Error) => void>();
  private readonly logger: Logger;
  private readonly maxPayload: number;
  private link: PacketLink | undefined;
  /**
   * One timer for all request timeouts, armed for the earliest deadline and
   * left running when a reply comes: a setTimeout/clearTimeout pair per
   * request was a measurable share of a round trip. Referenced only while
   * requests are pending, as a per-request timer would be.
   */
  private timeoutTimer: NodeJS.Timeout | undefined;
  /** Earliest deadline the timer covers, and when it fires (sooner for deadlines past setTimeout's range). */
  private timerDeadline = Infinity;
  private timerFiresAt = Infinity;
  private nextId = 1;
  private attached: Endpoint | undefined;
  private isClosed = false;

  constructor(private readonly opts: TransportClientOptions) {
    this.registry = opts.registry ?? createRegistry();
    this.logger = opts.logger ?? silentLogger('transport-client');
    this.maxPayload = opts.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    this.dispatcher = new ServiceDispatcher({
      registry: this.registry, logger: this.logger, maxPayload: this.maxPayload, node: () => this.node,
    });
  }

  /** Node number of the local transportd (known after connect). */
  get node(): number {
    return this.attached?.node ?? LOCAL_NODE;
  }

  get service(): number {
    if (!this.attached) throw new NotConnectedError('not attached yet');
    return this.attached.service;
  }

  get endpoint(): Endpoint {
    if (!this.attached) throw new NotConnectedError('not attached yet');
    return { ...this.attached };
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Opens the link and claims the service. Register handlers before this so no request finds none. */
  async connect(opts: { timeoutMs?: number } = {}): Promise<this> {
    if (this.link) throw new Error('already connected');
    this.link = this.opts.link ?? (await openSocket(this.opts.socketPath, this.maxPayload));
    this.link.start({
      packet: (p) => this.onPacket(p),
      invalid: (error) => this.logger.warn({ err: error }, 'transportd sent an invalid frame'),
      close: (err) => this.onLinkClosed(err),
    });
    try {
      const reply = (await this.requestFrom({ node: LOCAL_NODE, service: 0 }, { node: LOCAL_NODE, service: CONTROL_SERVICE },
        'transportd.attach', { name: this.opts.name ?? 'client', ...(this.opts.service !== undefined && { service: this.opts.service }) },
        { timeoutMs: opts.timeoutMs ?? this.opts.defaultTimeoutMs })) as { node: number; service: number };
      this.attached = { node: reply.node, service: reply.service };
    } catch (err) {
      this.link.close();
      throw err;
    }
    return this;
  }

  /** One-way message (NOREPLY). Throws locally for unknown types, invalid bodies and oversize payloads. */
  send(dest: Endpoint, type: string, body: unknown, opts: SendOptions = {}): void {
    const version = opts.version ?? this.registry.latest(type);
    this.registry.validate(type, version, 'body', body);
    this.transmit(buildPacket({
      src: this.endpoint, dest, type, version, body, requestId: 0, flags: Flag.NOREPLY,
    }, this.maxPayload));
  }

  /** One-way message to `service` on every node with a transportd (this one included). */
  broadcast(service: number, type: string, body: unknown, opts: SendOptions = {}): void {
    this.send({ node: BROADCAST_NODE, service }, type, body, opts);
  }

  /**
   * Request/reply. Rejects with TransportTimeoutError, TransportCancelledError,
   * UnreachableNodeError, NoSuchServiceError, VersionMismatchError, ... (errors.ts).
   */
  request<T = any>(dest: Endpoint, type: string, body: unknown, opts: RequestOptions = {}): Promise<T> {
    if (!this.attached) return Promise.reject(new NotConnectedError('not attached yet'));
    return this.requestFrom(this.attached, dest, type, body, opts) as Promise<T>;
  }

  /** Handler for requests of `type` to this client's service; its return value is the reply. */
  handle(type: string, handler: RequestHandler): () => void {
    return this.dispatcher.handle(type, handler);
  }

  /** Listener for one-way messages of `type`. */
  subscribe(type: string, listener: MessageListener): () => void {
    return this.dispatcher.subscribe(type, listener);
  }

  onClose(listener: (err?: Error) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    if (!this.link || this.link.closed) {
      this.onLinkClosed();
      return;
    }
    const done = new Promise<void>((resolve) => this.onClose(() => resolve()));
    this.link.close();
    await done;
  }

  private requestFrom(src: Endpoint, dest: Endpoint, type: string, body: unknown, opts: RequestOptions): Promise<unknown> {
    let packet: Packet;
    let version: number;
    const requestId = this.allocateId();
    try {
      version = opts.version ?? this.registry.latest(type);
      if (!this.registry.expectsReply(type, version)) throw new BadRequestError(`${type} is a one-way message type`);
      this.registry.validate(type, version, 'body', body);
      packet = buildPacket({ src, dest, type, version, body, requestId, flags: Flag.REQUEST }, this.maxPayload);
    } catch (err) {
      return Promise.reject(err);
    }
    const timeoutMs = opts.timeoutMs ?? this.opts.defaultTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const signal = opts.signal;
    if (signal?.aborted) return Promise.reject(new TransportCancelledError(dest, type, signal.reason));
    return new Promise<unknown>((resolve, reject) => {
      const p: Pending = {
        resolve, reject, type, version, dest, timeoutMs, deadline: performance.now() + timeoutMs, signal, onAbort: undefined,
      };
      if (signal) {
        p.onAbort = () => this.fail(requestId, new TransportCancelledError(dest, type, signal.reason));
        signal.addEventListener('abort', p.onAbort, { once: true });
      }
      this.pending.set(requestId, p);
      if (this.pending.size === 1) this.timeoutTimer?.ref();
      if (p.deadline < this.timerDeadline) this.armTimeoutTimer(p.deadline);
      try {
        this.transmit(packet);
      } catch (err) {
        this.fail(requestId, err as Error);
      }
    });
  }

  private fail(requestId: number, err: Error): void {
    const p = this.pending.get(requestId);
    if (!p) return;
    this.forget(requestId, p);
    p.reject(err);
  }

  private forget(requestId: number, p: Pending): void {
    this.pending.delete(requestId);
    cleanup(p);
    // The timer stays armed (unreferenced) for the next request instead of being cleared.
    if (this.pending.size === 0) this.timeoutTimer?.unref();
  }

  private armTimeoutTimer(deadline: number): void {
    if (this.timeoutTimer) clearTimeout(this.timeoutTimer);
    const now = performance.now();
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, deadline - now));
    this.timerDeadline = deadline;
    this.timerFiresAt = now + delay;
    this.timeoutTimer = setTimeout(this.onTimeoutTimer, delay);
    if (this.pending.size === 0) this.timeoutTimer.unref();
  }

  /** Fails every request due by now (or by when the timer was meant to fire: it may run a little early), then re-arms. */
  private readonly onTimeoutTimer = (): void => {
    const due = Math.max(performance.now(), this.timerFiresAt);
    this.timeoutTimer = undefined;
    this.timerDeadline = Infinity;
    let next = Infinity;
    for (const [id, p] of this.pending) {
      if (p.deadline <= due) this.fail(id, new TransportTimeoutError(p.dest, p.type, p.timeoutMs));
      else if (p.deadline < next) next = p.deadline;
    }
    if (next !== Infinity) this.armTimeoutTimer(next);
  };

  private transmit(packet: Packet): void {
    if (!this.link || this.link.closed || this.isClosed) throw new NotConnectedError();
    this.link.send(packet);
  }

  private allocateId(): number {
    // u32, never 0, skipping ids still in flight.
    for (;;) {
      const id = this.nextId;
      this.nextId = id >= 0xffffffff ? 1 : id + 1;
      if (!this.pending.has(id)) return id;
    }
  }

  private onPacket(packet: Packet): void {
    const kind = kindOf(packet.header.flags);
    if (kind === 'reply') {
      this.onReply(packet);
      return;
    }
    this.dispatcher.dispatchTo(packet, this.sendReply);
  }

  private readonly sendReply = (reply: Packet): void => {
    try {
      this.transmit(reply);
    } catch (err) {
      this.logger.warn({ err }, 'could not send reply');
    }
  };

  private onReply(packet: Packet): void {
    const p = this.pending.get(packet.header.requestId);
    if (!p) {
      this.logger.debug({ requestId: packet.header.requestId }, 'reply for no pending request (late or cancelled)');
      return;
    }
    this.forget(packet.header.requestId, p);
    try {
      const envelope = decodeEnvelope(packet.payload, this.registry);
      if (isErrorReply(packet.header)) {
        if (envelope.type !== ERROR_TYPE) throw new BadRequestError(`error reply carries ${envelope.type}`);
        this.registry.validate(ERROR_TYPE, packet.header.payloadVersion, 'body', envelope.body);
        p.reject(fromWireError(envelope.body as WireErrorBody));
        return;
      }
      if (envelope.type !== p.type || packet.header.payloadVersion !== p.version) {
        throw new BadRequestError(`reply is ${envelope.type} v${packet.header.payloadVersion}, expected ${p.type} v${p.version}`);
      }
      this.registry.validate(p.type, p.version, 'reply', envelope.body);
      p.resolve(envelope.body);
    } catch (err) {
      p.reject(err instanceof TransportError ? err : new TransportError('invalid-payload', String(err)));
    }
  }

  private onLinkClosed(err?: Error): void {
    if (this.isClosed) return;
    this.isClosed = true;
    const failure = new NotConnectedError(`connection to transportd closed${err ? `: ${err.message}` : ''}`);
    clearTimeout(this.timeoutTimer);
    this.timeoutTimer = undefined;
    this.timerDeadline = Infinity;
    for (const p of this.pending.values()) {
      cleanup(p);
      p.reject(failure);
    }
    this.pending.clear();
    for (const listener of this.closeListeners) listener(err);
  }
}

/** Creates a client, lets `setup` register handlers, then connects. */
export async function connectTransport(
  opts: TransportClientOptions,
  setup?: (client: TransportClient) => void,
): Promise<TransportClient> {
  const client = new TransportClient(opts);
  setup?.(client);
  return client.connect();
}

function openSocket(path: string | undefined, maxPayload: number): Promise<PacketLink> {
  if (!path) return Promise.reject(new Error('TransportClient needs socketPath or link'));
  return new Promise((resolve, reject) => {
    const socket = netConnect(path);
    socket.once('error', (err) => reject(new NotConnectedError(`cannot connect to transportd at ${path}: ${err.message}`)));
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      resolve(socketLink(socket, { maxPayload }));
    });
  });
}
