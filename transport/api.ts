// TransportClient: what components use. One client = one endpoint (node,
// service) on its local transportd, reached over a unix socket or an
// in-process link. send / request (timeout, AbortSignal) / handle / subscribe.
// Socket clients may reconnect (re-attach) after transportd restarts.

import { EventEmitter } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { silentLogger } from '../legacy/common/log.ts';
import { RequestMap } from '../legacy/common/request-map.ts';
import { ReconnectLoop, exponentialBackoff, type BackoffPolicy } from '../legacy/client/reconnect.ts';
import type { ClientTimers } from '../legacy/client/timers.ts';
import { BROADCAST_NODE, CONTROL_SERVICE, LOCAL_NODE, type Endpoint } from './endpoint.ts';
import { DEFAULT_MAX_PAYLOAD, Flag, isErrorReply, kindOf } from './header.ts';
import {
  BadRequestError, NotConnectedError, ServiceInUseError, TransportCancelledError, TransportError, TransportTimeoutError,
  fromWireError, type WireErrorBody,
} from './errors.ts';
import { ServiceDispatcher, type MessageListener, type RequestHandler } from './dispatcher.ts';
import { socketLink, type PacketLink } from './link.ts';
import { ERROR_TYPE, buildPacket, decodeEnvelope } from './message.ts';
import type { Packet } from './packet.ts';
import { createRegistry, type MessageRegistry } from './schemas.ts';

export const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
/** Longest wait between reconnect attempts unless `maxDelayMs` says otherwise. */
export const DEFAULT_RECONNECT_MAX_DELAY_MS = 5000;

export interface TransportReconnectOptions {
  /** Delay before attempt n (1-based); default 100 ms doubling, +-20 % jitter, capped at maxDelayMs. */
  backoff?: BackoffPolicy;
  /** Cap on any backoff delay (default 5000 ms). */
  maxDelayMs?: number;
  /** Give up (close for good, close listeners get the last error) after this many failed attempts; default never. */
  maxAttempts?: number;
  /** Timers for the backoff waits (tests). The default ones keep the process alive while reconnecting, as the socket did. */
  timers?: ClientTimers;
}

/** Events a TransportClient emits (`client.on(name, listener)`); onClose() is separate and means "closed for good". */
export interface TransportClientEvents {
  /** The connection to transportd dropped; `failedRequests` in-flight requests were rejected with NotConnectedError. */
  disconnect: [info: { reason: string; failedRequests: number; willReconnect: boolean; service: number }];
  /** A reconnect attempt failed; `nextDelayMs` is undefined when giving up. */
  reconnectFailed: [info: { attempt: number; error: Error; nextDelayMs: number | undefined }];
  /** Attached again. `service` differs from `previousService` only for an ephemeral id taken meanwhile. */
  reconnect: [info: { attempts: number; node: number; service: number; previousService: number; downMs: number }];
}

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
  /**
   * Socket clients only (an in-process link cannot come back): after the
   * connection to transportd drops, reconnect with backoff and claim the same
   * service again; handlers and subscriptions stay. Default off (one-shot
   * clients such as the CLI must not wait on a dead transportd); long-lived
   * components pass `true` or options. The first connect() never retries.
   */
  reconnect?: boolean | TransportReconnectOptions;
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

/** Referenced timers: a component waiting to reconnect must not exit because nothing else is pending. */
const keepAliveTimers: ClientTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

interface ReconnectPolicy {
  backoff: BackoffPolicy;
  timers: ClientTimers;
  maxAttempts: number | undefined;
}

function reconnectPolicy(opts: TransportClientOptions): ReconnectPolicy | undefined {
  const rc = opts.reconnect ?? false;
  if (rc === false) return undefined;
  if (opts.link) {
    throw new TypeError('TransportClient: reconnect needs socketPath; an in-process link cannot be re-opened (pass reconnect: false)');
  }
  const o = rc === true ? {} : rc;
  const maxDelay = o.maxDelayMs ?? DEFAULT_RECONNECT_MAX_DELAY_MS;
  const backoff = o.backoff ? (n: number) => Math.min(maxDelay, o.backoff!(n)) : exponentialBackoff({ maxMs: maxDelay });
  return { backoff, timers: o.timers ?? keepAliveTimers, maxAttempts: o.maxAttempts };
}

export class TransportClient extends EventEmitter<TransportClientEvents> {
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
  /** The endpoint held now; undefined before attach and while reconnecting (requests fail fast then). */
  private attached: Endpoint | undefined;
  /** The endpoint last held: claimed again on reconnect. */
  private lastAttached: Endpoint | undefined;
  private isClosed = false;
  /** close() was called: a link closing now is not a loss to recover from. */
  private closing = false;
  private readonly reconnectPolicy: ReconnectPolicy | undefined;
  private reconnectLoop: ReconnectLoop | undefined;
  private downSince = 0;

  constructor(private readonly opts: TransportClientOptions) {
    super();
    this.reconnectPolicy = reconnectPolicy(opts);
    this.registry = opts.registry ?? createRegistry();
    this.logger = opts.logger ?? silentLogger('transport-client');
    this.maxPayload = opts.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    this.dispatcher = new ServiceDispatcher({
      registry: this.registry, logger: this.logger, maxPayload: this.maxPayload, node: () => this.node,
    });
  }

  /** Node number of the local transportd (known after connect; the last known one while reconnecting). */
  get node(): number {
    return (this.attached ?? this.lastAttached)?.node ?? LOCAL_NODE;
  }

  /** Throws NotConnectedError before attach and while reconnecting. */
  get service(): number {
    if (!this.attached) throw this.notAttachedError();
    return this.attached.service;
  }

  get endpoint(): Endpoint {
    if (!this.attached) throw this.notAttachedError();
    return { ...this.attached };
  }

  /** Closed for good (close(), or the connection lost without reconnect / reconnecting gave up). */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Attached now (false before connect, while reconnecting and once closed). */
  get connected(): boolean {
    return this.attached !== undefined;
  }

  /** Opens the link and claims the service. Register handlers before this so no request finds none. */
  async connect(opts: { timeoutMs?: number } = {}): Promise<this> {
    if (this.link) throw new Error('already connected');
    const link = this.opts.link ?? socketLink(await connectSocket(this.opts.socketPath), { maxPayload: this.maxPayload });
    this.useLink(link);
    try {
      this.attached = await this.attach(this.opts.service, opts.timeoutMs);
      this.lastAttached = this.attached;
    } catch (err) {
      link.close();
      throw err;
    }
    return this;
  }

  /** One-way message (NOREPLY). Throws locally for unknown types, invalid bodies, oversize payloads and service 0. */
  send(dest: Endpoint, type: string, body: unknown, opts: SendOptions = {}): void {
    // transportd drops these (a one-way message has no error reply): say so here, typed.
    if (dest.service === CONTROL_SERVICE) throw new BadRequestError('service 0 belongs to transportd; a client may only attach to it');
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
    if (!this.attached) return Promise.reject(this.notAttachedError());
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

  /**
   * Called once when the client is closed for good: by close(), when the
   * connection drops and reconnect is off, or when reconnecting gives up.
   * A drop the client recovers from emits 'disconnect' / 'reconnect' instead.
   */
  onClose(listener: (err?: Error) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** Closes for good; stops a reconnect loop (and its timer) if one is running. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.closing = true;
    this.stopReconnecting();
    if (!this.link || this.link.closed) {
      this.closeForGood();
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
    if (!this.link || this.link.closed || this.isClosed) throw this.notAttachedError();
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

  // ---- connection lifecycle (not on the per-packet path) ----

  /** Makes `link` the current one; a link replaced meanwhile reports its close to nobody. */
  private useLink(link: PacketLink): void {
    this.link = link;
    link.start({
      packet: (p) => this.onPacket(p),
      invalid: (error) => this.logger.warn({ err: error }, 'transportd sent an invalid frame'),
      close: (err) => {
        if (this.link === link) this.onLinkClosed(err);
      },
    });
  }

  /** transportd.attach over the current link: `service` undefined asks for an ephemeral one. */
  private async attach(service: number | undefined, timeoutMs?: number): Promise<Endpoint> {
    const reply = (await this.requestFrom({ node: LOCAL_NODE, service: 0 }, { node: LOCAL_NODE, service: CONTROL_SERVICE },
      'transportd.attach', { name: this.opts.name ?? 'client', ...(service !== undefined && { service }) },
      { timeoutMs: timeoutMs ?? this.opts.defaultTimeoutMs })) as { node: number; service: number };
    return { node: reply.node, service: reply.service };
  }

  private onLinkClosed(err?: Error): void {
    if (this.isClosed) return;
    const reason = `connection to transportd closed${err ? `: ${err.message}` : ''}`;
    const failed = this.failAllPending(new NotConnectedError(reason));
    // A reconnect attempt's link: that attempt fails (its attach was just failed) and the loop goes on.
    if (this.reconnectLoop) return;
    const lost = this.attached;
    this.attached = undefined;
    if (!lost || this.closing) {
      this.closeForGood(err);
      return;
    }
    const willReconnect = this.reconnectPolicy !== undefined;
    this.downSince = performance.now();
    this.logger.warn({ reason, service: lost.service, failedRequests: failed, willReconnect }, 'lost the connection to transportd');
    if (willReconnect) this.startReconnect();
    this.notify('disconnect', { reason, failedRequests: failed, willReconnect, service: lost.service });
    if (!willReconnect) this.closeForGood(err);
  }

  /** Rejects every request in flight; returns how many there were. */
  private failAllPending(failure: Error): number {
    clearTimeout(this.timeoutTimer);
    this.timeoutTimer = undefined;
    this.timerDeadline = Infinity;
    const count = this.pending.size;
    for (const p of this.pending.values()) {
      cleanup(p);
      p.reject(failure);
    }
    this.pending.clear();
    return count;
  }

  private closeForGood(err?: Error): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.attached = undefined;
    this.stopReconnecting();
    this.failAllPending(new NotConnectedError(`connection to transportd closed${err ? `: ${err.message}` : ''}`));
    for (const listener of this.closeListeners) listener(err);
  }

  private stopReconnecting(): void {
    this.reconnectLoop?.cancel();
    this.reconnectLoop = undefined;
  }

  private startReconnect(): void {
    const policy = this.reconnectPolicy!;
    const loop: ReconnectLoop = new ReconnectLoop({
      backoff: policy.backoff,
      timers: policy.timers,
      maxAttempts: policy.maxAttempts,
      attempt: (n) => this.reattach(loop, n),
      onAttemptFailed: (n, err, nextDelayMs) => {
        // transportd down (no socket yet) is expected during a restart; anything else (service taken, ...) is worth a warning.
        const level = err instanceof NotConnectedError ? 'info' : 'warn';
        this.logger[level]({ attempt: n, err: (err as Error).message, nextDelayMs }, 'reconnect to transportd failed');
        this.notify('reconnectFailed', { attempt: n, error: err as Error, nextDelayMs });
      },
      onGiveUp: (attempts, err) => {
        this.logger.error({ attempts, err: (err as Error).message }, 'giving up reconnecting to transportd');
        this.reconnectLoop = undefined;
        this.closeForGood(err as Error);
      },
    });
    this.reconnectLoop = loop;
    loop.start();
  }

  /**
   * One attempt: open the socket and claim the service held before. An
   * ephemeral id taken meanwhile is replaced by a new one; a well-known one
   * taken is a failed attempt (retried: its holder may go away).
   */
  private async reattach(loop: ReconnectLoop, attempt: number): Promise<void> {
    const socket = await connectSocket(this.opts.socketPath);
    if (loop.isCancelled) {
      socket.destroy();
      return;
    }
    const link = socketLink(socket, { maxPayload: this.maxPayload });
    this.useLink(link);
    const previous = this.lastAttached!;
    let endpoint: Endpoint;
    try {
      try {
        endpoint = await this.attach(previous.service);
      } catch (err) {
        if (!(err instanceof ServiceInUseError) || this.opts.service !== undefined || loop.isCancelled) throw err;
        this.logger.warn({ service: previous.service }, 'ephemeral service taken while disconnected; claiming a new one');
        endpoint = await this.attach(undefined);
      }
    } catch (err) {
      if (this.link === link) link.close();
      throw err;
    }
    if (loop.isCancelled) return; // close() ran meanwhile and closed this link
    this.reconnectLoop = undefined;
    this.attached = endpoint;
    this.lastAttached = endpoint;
    const downMs = Math.round(performance.now() - this.downSince);
    this.logger.info({ attempts: attempt, node: endpoint.node, service: endpoint.service, previousService: previous.service, downMs },
      'reattached to transportd');
    this.notify('reconnect', { attempts: attempt, node: endpoint.node, service: endpoint.service, previousService: previous.service, downMs });
  }

  /** Emits an event; a listener that throws is logged, not allowed to break the reconnect loop or the socket's close. */
  private notify<K extends keyof TransportClientEvents>(event: K, ...args: TransportClientEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: TransportClientEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.logger.error({ err, event }, 'TransportClient event listener threw');
    }
  }

  /** Why there is no endpoint right now (failure paths only). */
  private notAttachedError(): NotConnectedError {
    if (this.isClosed) return new NotConnectedError('client is closed');
    if (this.reconnectLoop) return new NotConnectedError('connection to transportd lost; reconnecting');
    if (!this.link) return new NotConnectedError('not connected to transportd');
    return new NotConnectedError(this.link.closed ? 'connection to transportd closed' : 'not attached yet');
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

/** A connected unix socket to transportd; NotConnectedError when there is none (yet). */
function connectSocket(path: string | undefined): Promise<Socket> {
  if (!path) return Promise.reject(new Error('TransportClient needs socketPath or link'));
  return new Promise((resolve, reject) => {
    const socket = netConnect(path);
    socket.once('error', (err) => reject(new NotConnectedError(`cannot connect to transportd at ${path}: ${err.message}`)));
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}
