// Requests transportd has sent through the uplink and not yet seen answered.
// When the uplink loses a node, transportd fails these at once with
// unreachable-node instead of letting every requester wait for its timeout.
// Requesters time out locally without telling transportd, so entries also
// expire (by age) and the table is bounded.

import type { TransportHeader } from './header.ts';

export interface PendingRequestsOptions {
  /** Entries older than this are forgotten (the requester has long timed out). */
  ttlMs?: number;
  maxEntries?: number;
  now?: () => number;
}

interface Entry {
  header: TransportHeader;
  at: number;
}

export class PendingRequests {
  /** Insertion order = age order, so expiry only looks at the front. */
  private readonly entries = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(opts: PendingRequestsOptions = {}) {
    this.ttlMs = opts.ttlMs ?? 10 * 60_000;
    this.maxEntries = opts.maxEntries ?? 100_000;
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  /** A request from a local service left through the uplink. */
  add(header: TransportHeader): void {
    const at = this.now();
    this.expire(at);
    const key = keyOf(header.src.service, header.requestId);
    this.entries.delete(key); // re-used id: the newest request wins, and moves to the back
    this.entries.set(key, { header, at });
  }

  /** A reply came back from `fromNode` to a local service. */
  settle(fromNode: number, service: number, requestId: number): void {
    const key = keyOf(service, requestId);
    if (this.entries.get(key)?.header.dest.node === fromNode) this.entries.delete(key);
  }

  /** Removes and returns every request waiting on `node`. */
  takeNode(node: number): TransportHeader[] {
    const out: TransportHeader[] = [];
    for (const [key, e] of this.entries) {
      if (e.header.dest.node === node) {
        this.entries.delete(key);
        out.push(e.header);
      }
    }
    return out;
  }

  /** A local service went away: nobody is left to answer. */
  dropService(service: number): void {
    for (const [key, e] of this.entries) if (e.header.src.service === service) this.entries.delete(key);
  }

  private expire(now: number): void {
    for (const [key, e] of this.entries) {
      if (now - e.at < this.ttlMs && this.entries.size < this.maxEntries) return;
      this.entries.delete(key);
    }
  }
}

function keyOf(service: number, requestId: number): string {
  return `${service}:${requestId}`;
}
