// The receiving side of a service: validates an incoming request or message
// against the registry, runs the handler and builds the reply (or error
// reply). Used by TransportClient and by transportd's own services.

import type { Logger } from 'pino';
import { kindOf } from './header.ts';
import type { Endpoint } from './endpoint.ts';
import { BadRequestError, RemoteHandlerError, UnknownMessageTypeError, toWireError } from './errors.ts';
import { buildErrorReply, buildReply, decodeEnvelope } from './message.ts';
import type { Packet } from './packet.ts';
import type { MessageRegistry } from './schemas.ts';

export interface IncomingContext {
  src: Endpoint;
  dest: Endpoint;
  type: string;
  version: number;
  /** 0 for one-way messages. */
  requestId: number;
  kind: 'request' | 'message';
}

/** Returns (or resolves to) the reply body; throw a TransportError to send a typed error reply. */
export type RequestHandler = (body: any, ctx: IncomingContext) => unknown;
export type MessageListener = (body: any, ctx: IncomingContext) => void;

export interface DispatcherOptions {
  registry: MessageRegistry;
  logger: Logger;
  /** Node number written into error replies (resolved lazily: a client learns it on attach). */
  node: () => number;
  maxPayload?: number;
}

export class ServiceDispatcher {
  private readonly handlers = new Map<string, RequestHandler>();
  private readonly listeners = new Map<string, Set<MessageListener>>();

  constructor(private readonly opts: DispatcherOptions) {}

  /** One handler per type; returns a function that removes it. */
  handle(type: string, handler: RequestHandler): () => void {
    if (!this.opts.registry.has(type)) throw new UnknownMessageTypeError(type);
    if (this.handlers.has(type)) throw new Error(`a handler for ${type} is already registered`);
    this.handlers.set(type, handler);
    return () => {
      if (this.handlers.get(type) === handler) this.handlers.delete(type);
    };
  }

  /** Any number of listeners per one-way message type. */
  subscribe(type: string, listener: MessageListener): () => void {
    if (!this.opts.registry.has(type)) throw new UnknownMessageTypeError(type);
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  /**
   * Handles a request or one-way message addressed to this service. Resolves
   * to the reply packet for requests (an error reply when anything fails),
   * undefined for messages. Never rejects.
   */
  async dispatch(packet: Packet): Promise<Packet | undefined> {
    return this.process(packet);
  }

  /**
   * Like dispatch, but a handler that returns a plain value is answered in
   * the same turn (no promise hops on the request/reply hot path).
   */
  dispatchTo(packet: Packet, send: (reply: Packet) => void): void {
    const result = this.process(packet);
    if (result instanceof Promise) {
      void result.then((reply) => {
        if (reply) send(reply);
      });
    } else if (result) {
      send(result);
    }
  }

  private process(packet: Packet): Packet | undefined | Promise<Packet | undefined> {
    const { header } = packet;
    const kind = kindOf(header.flags);
    if (kind === 'reply') return undefined;
    const { registry } = this.opts;
    let type = '';
    try {
      const envelope = decodeEnvelope(packet.payload, registry);
      type = envelope.type;
      registry.validate(type, header.payloadVersion, 'body', envelope.body);
      const ctx: IncomingContext = {
        src: header.src, dest: header.dest, type, version: header.payloadVersion, requestId: header.requestId, kind,
      };
      if (kind === 'message') {
        this.deliverMessage(envelope.body, ctx);
        return undefined;
      }
      const handler = this.handlers.get(type);
      if (!handler) throw new BadRequestError(`this service does not handle ${type} requests`);
      if (!registry.expectsReply(type, header.payloadVersion)) throw new BadRequestError(`${type} is a one-way message type`);
      const result = handler(envelope.body, ctx);
      if (isThenable(result)) {
        return Promise.resolve(result).then(
          (value) => this.replyTo(header, type, value, kind),
          (err: unknown) => this.failed(header, type, kind, err),
        );
      }
      return this.replyTo(header, type, result, kind);
    } catch (err) {
      return this.failed(header, type, kind, err);
    }
  }

  private replyTo(header: Packet['header'], type: string, result: unknown, kind: 'request' | 'message'): Packet | undefined {
    try {
      try {
        this.opts.registry.validate(type, header.payloadVersion, 'reply', result);
      } catch (err) {
        throw new RemoteHandlerError(`handler returned an invalid reply: ${(err as Error).message}`);
      }
      return buildReply(header, type, header.payloadVersion, result, this.opts.maxPayload);
    } catch (err) {
      return this.failed(header, type, kind, err);
    }
  }

  private failed(header: Packet['header'], type: string, kind: 'request' | 'message', err: unknown): Packet | undefined {
    this.opts.logger.warn({ err, type, src: header.src, kind }, 'failed to handle incoming packet');
    if (kind === 'message') return undefined;
    return buildErrorReply(header, toWireError(err, this.opts.node()));
  }

  private deliverMessage(body: unknown, ctx: IncomingContext): void {
    const listeners = this.listeners.get(ctx.type);
    const handler = this.handlers.get(ctx.type);
    if ((!listeners || listeners.size === 0) && !handler) {
      this.opts.logger.debug({ type: ctx.type, src: ctx.src }, 'no listener for message; dropped');
      return;
    }
    for (const listener of listeners ?? []) {
      try {
        listener(body, ctx);
      } catch (err) {
        this.opts.logger.warn({ err, type: ctx.type }, 'message listener threw');
      }
    }
    if (handler) {
      Promise.resolve()
        .then(() => handler(body, ctx))
        .catch((err: unknown) => this.opts.logger.warn({ err, type: ctx.type }, 'handler for one-way message threw'));
    }
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
