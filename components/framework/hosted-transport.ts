// The component's view of the transport: handlers and listeners are kept
// here and applied to whichever TransportClient is current, so a component
// registers them once and keeps them across transportd restarts and the
// host's first-connect retries (each retry is a new client).

// Imported from their own modules, not transport/index.ts: a component
// process then loads neither transportd nor the uplinks (ws, tunnel).
import { NotConnectedError } from '../../transport/errors.ts';
import type { TransportClient } from '../../transport/api.ts';
import type { Endpoint } from '../../transport/endpoint.ts';
import type { MessageListener, RequestHandler } from '../../transport/dispatcher.ts';
import type { RequestOptions, SendOptions } from '../../transport/api.ts';
import type { ComponentTransport } from './component.ts';

export class HostedTransport implements ComponentTransport {
  private client: TransportClient | undefined;
  private readonly handlers = new Map<string, RequestHandler>();
  private readonly listeners: Array<{ type: string; listener: MessageListener }> = [];
  private lastNode: number | undefined;

  get node(): number {
    if (this.client?.connected) this.lastNode = this.client.node;
    if (this.lastNode === undefined) throw new NotConnectedError('the component is not attached to transportd yet');
    return this.lastNode;
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /** Makes `client` current and gives it every handler and listener (before it connects). */
  use(client: TransportClient): void {
    this.client = client;
    for (const [type, handler] of this.handlers) client.handle(type, handler);
    for (const { type, listener } of this.listeners) client.subscribe(type, listener);
  }

  request<T = unknown>(dest: Endpoint, type: string, body: unknown, opts?: RequestOptions): Promise<T> {
    if (!this.client) return Promise.reject(new NotConnectedError('the component is not attached to transportd yet'));
    return this.client.request<T>(dest, type, body, opts);
  }

  send(dest: Endpoint, type: string, body: unknown, opts?: SendOptions): void {
    if (!this.client) throw new NotConnectedError('the component is not attached to transportd yet');
    this.client.send(dest, type, body, opts);
  }

  handle(type: string, handler: RequestHandler): () => void {
    if (this.handlers.has(type)) throw new Error(`a handler for ${type} is already registered`);
    this.handlers.set(type, handler);
    const removeFromClient = this.client?.handle(type, handler);
    return () => {
      this.handlers.delete(type);
      removeFromClient?.();
    };
  }

  subscribe(type: string, listener: MessageListener): () => void {
    const entry = { type, listener };
    this.listeners.push(entry);
    const removeFromClient = this.client?.subscribe(type, listener);
    return () => {
      const i = this.listeners.indexOf(entry);
      if (i >= 0) this.listeners.splice(i, 1);
      removeFromClient?.();
    };
  }
}
