// Requests transportd has sent through the uplink and not yet seen answered.
// When the uplink loses a node, transportd fails these at once with
// unreachable-node instead of letting every requester wait for its timeout.
// Requesters time out locally without telling transportd, so entries also
// expire (by age, swept now and then) and the table is bounded.

import type { TransportHeader } from './header.ts';
import { RequestMap } from '../legacy/common/request-map.ts';

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
  /** service -> request id -> entry: plain number keys on the hot path. */
  private readonly byService = new Map<number, RequestMap<number, Entry>>();
  private count = 0;
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private nextSweep = 0;

  constructor(opts: PendingRequestsOptions = {}) {
    this.ttlMs = opts.ttlMs ?? 10 * 60_000;
    this.maxEntries = opts.maxEntries ?? 100_000;
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.count;
  }

  /** A request from a local service left through the uplink. */
  add(header: TransportHeader): void {
    const at = this.now();
    if (at >= this.nextSweep || this.count >= this.maxEntries) this.expire(at);
    let requests = this.byService.get(header.src.service);
    if (!requests) this.byService.set(header.src.service, (requests = new RequestMap()));
    if (!requests.has(header.requestId)) this.count++;
    requests.set(header.requestId, { header, at });
  }

  /** A reply came back from `fromNode` to a local service. */
  settle(fromNode: number, service: number, requestId: number): void {
    const requests = this.byService.get(service);
    const e = requests?.get(requestId);
    if (e && e.header.dest.node === fromNode) {
      requests!.delete(requestId);
      this.count--;
    }
  }

  /** Removes and returns every request waiting on `node`, oldest first. */
  takeNode(node: number): TransportHeader[] {
    const taken: Entry[] = [];
    for (const requests of this.byService.values()) {
      for (const [id, e] of requests) {
        if (e.header.dest.node !== node) continue;
        requests.delete(id);
        this.count--;
        taken.push(e);
      }
    }
    return taken.sort((a, b) => a.at - b.at).map((e) => e.header);
  }

  /** A local service went away: nobody is left to answer. */
  dropService(service: number): void {
    this.count -= this.byService.get(service)?.size ?? 0;
    this.byService.delete(service);
  }

  /**
   * Drops entries past the TTL; if still full, the oldest ones, down to 90 % of
   * the bound, so a full table is sorted once per tenth of it, not per add.
   * Runs at most every ttl/4 unless full.
   */
  private expire(now: number): void {
    this.nextSweep = now + Math.max(1, this.ttlMs / 4);
    for (const requests of this.byService.values()) {
      for (const [id, e] of requests) {
        if (now - e.at < this.ttlMs) continue;
        requests.delete(id);
        this.count--;
      }
    }
    if (this.count < this.maxEntries) return;
    const all: Array<[RequestMap<number, Entry>, number, number]> = [];
    for (const requests of this.byService.values()) for (const [id, e] of requests) all.push([requests, id, e.at]);
    all.sort((a, b) => a[2] - b[2]);
    const keep = Math.floor(this.maxEntries * 0.9);
    for (const [requests, id] of all) {
      if (this.count <= keep) break;
      if (requests.delete(id)) this.count--;
    }
  }
}
