// What a component is: a name, a well-known service id, its message types, a
// configuration reader and lifecycle hooks. The host (host.ts) runs it as its
// own daemon or next to others in one process; the component sees only the
// narrow context below, never the host.

import type { Logger } from 'pino';
import type { IncomingContext, MessageListener, RequestHandler } from '../../transport/dispatcher.ts';
import type { RequestOptions, SendOptions } from '../../transport/api.ts';
import type { Endpoint } from '../../transport/endpoint.ts';
import type { MessageDefinition } from './schema-types.ts';
import type { OperatorConfig } from './config-files.ts';

/** What a component may do on the transport (its own endpoint only). */
export interface ComponentTransport {
  /** This node's PNN (known once attached to transportd). */
  readonly node: number;
  readonly connected: boolean;
  request<T = unknown>(dest: Endpoint, type: string, body: unknown, opts?: RequestOptions): Promise<T>;
  send(dest: Endpoint, type: string, body: unknown, opts?: SendOptions): void;
  handle(type: string, handler: RequestHandler): () => void;
  subscribe(type: string, listener: MessageListener): () => void;
}

export interface ComponentTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
  /** Monotonic milliseconds. */
  now(): number;
}

export const realComponentTimers: ComponentTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
  now: () => performance.now(),
};

export interface ComponentContext<C> {
  /** The configuration loaded at start (reconfigure() hands over newer ones). */
  config: C;
  transport: ComponentTransport;
  logger: Logger;
  timers: ComponentTimers;
}

/** Lifecycle hooks; all optional but status. */
export interface ComponentInstance<C> {
  /** Before attaching: register request handlers and listeners. */
  init?(): Promise<void> | void;
  /** Attached to transportd (at start and after every reconnect): start working. */
  activate?(): Promise<void> | void;
  /** transportd went away (or stop is coming): stop sending, keep state. */
  deactivate?(reason: string): Promise<void> | void;
  /** SIGHUP (or a request) brought a new, fully checked configuration. */
  reconfigure?(config: C): Promise<void> | void;
  /** Last call: release everything (locks, timers, connections). */
  stop?(): Promise<void> | void;
  /** Answer to component.status: whatever the component wants operators to see. */
  status(): unknown;
}

export interface ComponentDefinition<C> {
  /** "clusterd"; also the log component name and the process title. */
  name: string;
  service: number;
  /** Its own message types (the built-in component.* types are added by the host). */
  messages: MessageDefinition[];
  /** Reads what it needs from the operator's files; throws OperatorFileError (file, line, key) when anything is wrong. */
  configure(files: OperatorConfig): C;
  create(ctx: ComponentContext<C>): ComponentInstance<C>;
}

export type { IncomingContext, RequestHandler, MessageListener };
