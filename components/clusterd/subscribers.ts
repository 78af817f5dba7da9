// Who gets clusterd's events: endpoints that sent clusterd.subscribe. A
// subscription lasts `ttlMs` unless renewed (subscribers renew well within
// it), so endpoints that went away without a word drop out; the table is
// bounded and the oldest subscription makes room for a new one.

import { formatEndpoint, type Endpoint } from '../../transport/endpoint.ts';

export const DEFAULT_SUBSCRIPTION_TTL_MS = 60_000;
export const MAX_SUBSCRIBERS = 256;

export class Subscribers {
  private readonly table = new Map<string, { endpoint: Endpoint; expires: number }>();

  constructor(private readonly ttlMs = DEFAULT_SUBSCRIPTION_TTL_MS, private readonly max = MAX_SUBSCRIBERS) {}

  add(endpoint: Endpoint, now: number): void {
    const key = formatEndpoint(endpoint);
    this.table.delete(key);
    if (this.table.size >= this.max) this.table.delete(this.table.keys().next().value!);
    this.table.set(key, { endpoint: { ...endpoint }, expires: now + this.ttlMs });
  }

  remove(endpoint: Endpoint): void {
    this.table.delete(formatEndpoint(endpoint));
  }

  /** Live subscribers; expired ones are dropped on the way. */
  current(now: number): Endpoint[] {
    const out: Endpoint[] = [];
    for (const [key, s] of this.table) {
      if (s.expires <= now) this.table.delete(key);
      else out.push(s.endpoint);
    }
    return out;
  }

  get size(): number {
    return this.table.size;
  }
}
