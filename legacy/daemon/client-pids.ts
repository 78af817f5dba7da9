import type { Logger } from '../common/log.ts';
import { PeerPidLookupError } from './errors.ts';
import { peerOwners, type SsRunner } from './peer-cred.ts';
import { SsHelper } from './ss-helper.ts';

/**
 * Which unix-socket clients belong to which pid: ctdbd's client_pids list
 * (behaviour.md §1), which PROCESS_EXISTS and CHECK_PID_SRVID read. ctdbd
 * learns a client's pid from SO_PEERCRED at accept; Node cannot, so pids are
 * learnt in the background after accept, coalesced:
 * - at most one lookup (one `ss` listing) runs at a time, with a timeout;
 * - every connection accepted since the previous lookup started is resolved
 *   by the next single run;
 * - a request that may depend on a connection not resolved yet awaits that
 *   shared run (`settled`; it may start it a tick early), never one of its own;
 * - answers come from a pid -> clients index, O(1) per request.
 * A client's pid never changes (ctdbd also keeps the accept-time value), so
 * it is looked up once. When the lookup tool fails, that is logged once,
 * requests answer from what is known instead of waiting, and unresolved
 * connections are retried after `retryDelayMs`.
 */

export const DEFAULT_PID_LOOKUP_TIMEOUT_MS = 5000;
export const DEFAULT_PID_LOOKUP_RETRY_MS = 5000;

export interface ClientPidsOptions<C> {
  logger: Logger;
  /** Our end's socket inode for a client (default in client-face.ts: /proc/self/fd). */
  inodeOf(client: C): Promise<number | undefined>;
  /** Default: one long-lived helper process (ss-helper.ts), closed by stop(). */
  ss?: SsRunner;
  /** Our listening socket path, to narrow the listing. */
  socketPath?: string;
  timeoutMs?: number;
  retryDelayMs?: number;
}

const NONE: ReadonlySet<never> = new Set();

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => { resolve = r; });
  return { promise, resolve };
}

export class ClientPids<C> {
  /** Every tracked client -> its pids once looked up (undefined until then). */
  private readonly pidsOf = new Map<C, readonly number[] | undefined>();
  private readonly byPid = new Map<number, Set<C>>();
  /** Accepted, not yet part of any lookup (or to be retried). */
  private waiting = new Set<C>();
  private current: Promise<void> | undefined;
  /** Settles when the run after `current` ends (created by the first request that needs it). */
  private next: Deferred | undefined;
  private timer: NodeJS.Immediate | NodeJS.Timeout | undefined;
  private failing = false;
  private stopped = false;
  private unresolvedCount = 0;
  /** Lookups started so far (tests, statistics). */
  lookups = 0;
  private readonly ss: SsRunner;
  private readonly helper: SsHelper | undefined;
  private readonly timeoutMs: number;
  private readonly retryDelayMs: number;

  constructor(private readonly opts: ClientPidsOptions<C>) {
    if (!opts.ss) this.helper = new SsHelper();
    this.ss = opts.ss ?? this.helper!.runner;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_PID_LOOKUP_TIMEOUT_MS;
    this.retryDelayMs = opts.retryDelayMs ?? DEFAULT_PID_LOOKUP_RETRY_MS;
  }

  /** A client connected: its pid is looked up in the background. */
  add(client: C): void {
    if (this.stopped || this.pidsOf.has(client)) return;
    this.pidsOf.set(client, undefined);
    this.unresolvedCount++;
    this.waiting.add(client);
    this.schedule();
  }

  /** A client went away (idempotent): its pid no longer names it. */
  remove(client: C): void {
    if (!this.pidsOf.has(client)) return;
    const pids = this.pidsOf.get(client);
    if (pids === undefined) this.unresolvedCount--;
    this.pidsOf.delete(client);
    this.waiting.delete(client);
    for (const pid of pids ?? []) {
      const set = this.byPid.get(pid);
      set?.delete(client);
      if (set?.size === 0) this.byPid.delete(pid);
    }
  }

  /** Clients whose peer pid is `pid` as far as known now, oldest first. O(1). */
  clientsOf(pid: number): ReadonlySet<C> {
    return this.byPid.get(pid) ?? NONE;
  }

  /** The peer pids of a client: undefined while unknown, empty when no process could be found. */
  pidsOfClient(client: C): readonly number[] | undefined {
    return this.pidsOf.get(client);
  }

  /** Connections whose pid is not known yet. */
  get unresolved(): number {
    return this.unresolvedCount;
  }

  /**
   * Settles once every connection accepted so far has been looked up, or
   * undefined when there is nothing worth waiting for (all known, or the
   * lookup tool is failing). Shares the running or the next lookup.
   */
  settled(): Promise<void> | undefined {
    if (this.failing || this.stopped) return undefined;
    if (this.waiting.size === 0) return this.current;
    if (!this.current) {
      this.clearTimer();
      return this.start();
    }
    return (this.next ??= deferred()).promise;
  }

  /**
   * Clients with this pid; waits for the shared lookup only when `enough`
   * is false for what is known now and some connection is still unresolved.
   */
  find(pid: number, enough: (known: ReadonlySet<C>) => boolean = (k) => k.size > 0): ReadonlySet<C> | Promise<ReadonlySet<C>> {
    // No client has a pid <= 0 (ctdbd's SO_PEERCRED never yields one either).
    if (pid <= 0) return NONE;
    const known = this.clientsOf(pid);
    if (enough(known)) return known;
    const wait = this.settled();
    return wait ? wait.then(() => this.clientsOf(pid)) : known;
  }

  stop(): void {
    this.stopped = true;
    this.clearTimer();
    this.helper?.close();
    this.next?.resolve();
    this.next = undefined;
  }

  private schedule(): void {
    if (this.current || this.timer || this.stopped) return;
    // One tick's accepts (a burst) share one run; after a failure, wait.
    const go = (): void => {
      this.timer = undefined;
      if (!this.current && this.waiting.size > 0 && !this.stopped) void this.start();
    };
    this.timer = this.failing ? setTimeout(go, this.retryDelayMs) : setImmediate(go);
  }

  private clearTimer(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer as NodeJS.Timeout);
    clearImmediate(this.timer as NodeJS.Immediate);
    this.timer = undefined;
  }

  private start(): Promise<void> {
    const batch = this.waiting;
    this.waiting = new Set();
    const done = this.next;
    this.next = undefined;
    this.lookups++;
    const run = this.lookup(batch).then(
      () => this.succeeded(),
      (err: unknown) => this.failed(batch, err),
    ).finally(() => {
      this.current = undefined;
      done?.resolve();
      if (this.next && !this.failing && this.waiting.size > 0) void this.start();
      else {
        // Nothing left to look up, or a failing tool that requests do not wait for.
        this.next?.resolve();
        this.next = undefined;
        if (this.waiting.size > 0) this.schedule();
      }
    });
    this.current = run;
    return run;
  }

  private async lookup(batch: Set<C>): Promise<void> {
    const inodes = new Map<C, number>();
    await Promise.all([...batch].map(async (c) => {
      const inode = await this.opts.inodeOf(c);
      if (inode !== undefined) inodes.set(c, inode);
    }));
    const wanted = new Set<number>();
    for (const [c, inode] of inodes) if (this.pidsOf.has(c)) wanted.add(inode);
    const owners = wanted.size > 0 ? peerOwners(await this.listSockets(), wanted) : new Map<number, number[]>();
    // Accept order, so that each pid's clients stay oldest first.
    for (const c of batch) {
      const inode = inodes.get(c);
      const pids = inode === undefined ? [] : owners.get(inode) ?? [];
      if (pids.length === 0 && this.pidsOf.has(c)) this.opts.logger.debug({ inode }, 'client pid not found (gone, or not readable)');
      this.settle(c, pids);
    }
  }

  private settle(c: C, pids: readonly number[]): void {
    if (this.pidsOf.get(c) !== undefined || !this.pidsOf.has(c)) return;
    const unique = [...new Set(pids)];
    this.pidsOf.set(c, unique);
    this.unresolvedCount--;
    for (const pid of unique) {
      let set = this.byPid.get(pid);
      if (!set) this.byPid.set(pid, (set = new Set()));
      set.add(c);
    }
  }

  private async listSockets(): Promise<string> {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new PeerPidLookupError(`ss did not answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    const aborted = new Promise<never>((_, reject) => {
      ac.signal.addEventListener('abort', () => reject(ac.signal.reason as Error), { once: true });
    });
    try {
      return await Promise.race([this.ss({ excludeLocalPath: this.opts.socketPath, signal: ac.signal }), aborted]);
    } finally {
      clearTimeout(timer);
      aborted.catch(() => undefined);
    }
  }

  private succeeded(): void {
    if (!this.failing) return;
    this.failing = false;
    this.opts.logger.info('client pid lookup works again');
  }

  private failed(batch: Set<C>, err: unknown): void {
    for (const c of batch) if (this.pidsOf.get(c) === undefined && this.pidsOf.has(c)) this.waiting.add(c);
    const e = err instanceof PeerPidLookupError ? err : new PeerPidLookupError((err as Error).message ?? String(err), err);
    if (this.failing) {
      this.opts.logger.debug({ err: e.message }, 'client pid lookup failed again');
      return;
    }
    this.failing = true;
    this.opts.logger.warn({ err: e.message, code: e.code, retryMs: this.retryDelayMs },
      'cannot learn client pids: PROCESS_EXISTS and CHECK_PID_SRVID answer from the pids known so far');
  }
}
