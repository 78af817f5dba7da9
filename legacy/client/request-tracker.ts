import { FIRST_REQID } from '../protocol/constants.ts';
import type { ClientTimers } from './timers.ts';
import { RequestMap } from '../common/request-map.ts';

/** Largest reqid the C libraries hand out (INT_MAX); they wrap to 1 after it. */
const MAX_REQID = 0x7fffffff;

/**
 * Request ids like ctdbd and the C client library: start at INT_MAX-199,
 * count up, wrap to 1 after INT_MAX, never 0, and skip ids that are still
 * outstanding (matching is purely by reqid, behaviour.md §1).
 */
export class ReqidAllocator {
  private next: number;

  constructor(first = FIRST_REQID) {
    this.next = first;
  }

  allocate(inUse: (reqid: number) => boolean): number {
    for (let tries = 0; tries < MAX_REQID; tries++) {
      const id = this.next;
      this.next = id >= MAX_REQID ? 1 : id + 1;
      if (!inUse(id)) return id;
    }
    throw new Error('no free request id');
  }
}

interface Entry<T> {
  resolve(value: T): void;
  reject(err: Error): void;
  timer: unknown;
  /** What the request was, for errors raised by failAll. */
  what: string;
}

/**
 * Outstanding requests keyed by reqid, each with its own timeout. Settles
 * every request exactly once: by reply, by timeout, or by failAll (when the
 * connection drops or the client closes).
 */
export class RequestTracker<T> {
  private readonly pending = new RequestMap<number, Entry<T>>();
  private readonly reqids: ReqidAllocator;

  constructor(private readonly timers: ClientTimers, firstReqid = FIRST_REQID) {
    this.reqids = new ReqidAllocator(firstReqid);
  }

  get size(): number {
    return this.pending.size;
  }

  /**
   * Allocate a reqid and register the request. `onTimeout` builds the error
   * used when `timeoutMs` elapses without a reply (0 or Infinity = no timeout).
   */
  start(timeoutMs: number, onTimeout: () => Error, what = 'request'): { reqid: number; promise: Promise<T> } {
    const reqid = this.reqids.allocate((id) => this.pending.has(id));
    let entry!: Entry<T>;
    const promise = new Promise<T>((resolve, reject) => {
      entry = { resolve, reject, timer: undefined, what };
    });
    if (timeoutMs > 0 && Number.isFinite(timeoutMs)) {
      entry.timer = this.timers.setTimeout(() => {
        if (this.pending.get(reqid) !== entry) return;
        this.pending.delete(reqid);
        entry.reject(onTimeout());
      }, timeoutMs);
    }
    this.pending.set(reqid, entry);
    return { reqid, promise };
  }

  /** Deliver a reply; false when nobody waits for this reqid (late or unknown). */
  complete(reqid: number, value: T): boolean {
    const entry = this.take(reqid);
    if (!entry) return false;
    entry.resolve(value);
    return true;
  }

  fail(reqid: number, err: Error): boolean {
    const entry = this.take(reqid);
    if (!entry) return false;
    entry.reject(err);
    return true;
  }

  /** Reject everything outstanding (connection lost, client closed). */
  failAll(makeError: (what: string) => Error): number {
    const entries = [...this.pending.values()];
    for (const e of entries) this.timers.clearTimeout(e.timer);
    this.pending.clear();
    for (const e of entries) e.reject(makeError(e.what));
    return entries.length;
  }

  private take(reqid: number): Entry<T> | undefined {
    const entry = this.pending.get(reqid);
    if (!entry) return undefined;
    this.pending.delete(reqid);
    if (entry.timer !== undefined) this.timers.clearTimeout(entry.timer);
    return entry;
  }
}
