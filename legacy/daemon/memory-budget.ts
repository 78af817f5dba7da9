import type { Logger } from '../common/log.ts';
import { DEFAULT_MAX_PACKET_SIZE } from '../protocol/framing.ts';

/**
 * The daemon's explicit memory budget for packets not complete yet (issue
 * 13). ctdbd buffers whatever length a peer announces; we refuse to hold
 * unlimited memory:
 * - per connection: the largest packet accepted (client-stream.ts skips a
 *   larger client packet unbuffered; a larger node packet fails the link),
 *   and a time limit on an incomplete packet, after which the connection is
 *   closed;
 * - per daemon: the bytes held for incomplete packets across all client and
 *   node connections; above it the largest holder (the newest on a tie) is
 *   disconnected, never one holding no more than a small packet.
 * Connections report what they hold after each read (update()); the budget
 * never looks inside their buffers.
 */

export interface MemoryLimits {
  /**
   * Largest packet accepted from a client. smbd's biggest (REQ_CALL keys and
   * call data, TRANS3_COMMIT changesets, messages) stay far below 1 MiB, and
   * the 4.17 CLI moves databases in RecBufferSizeLimit (1 MB) chunks; 64 MiB
   * leaves room for anything a real client sends in one packet.
   */
  maxClientPacket: number;
  /** Largest packet accepted from a node (recovery moves records in ~1 MB buffers). */
  maxNodePacket: number;
  /** Bytes held for incomplete packets across all connections (room for two maximal packets). */
  maxHeldTotal: number;
  /** A packet incomplete for this long closes its connection (a stalled or trickling peer). */
  partialPacketTimeoutMs: number;
  /** A connection holding no more than this is never disconnected by the total budget. */
  smallHolderBytes: number;
}

export const DEFAULT_MEMORY_LIMITS: MemoryLimits = {
  maxClientPacket: DEFAULT_MAX_PACKET_SIZE,
  maxNodePacket: DEFAULT_MAX_PACKET_SIZE,
  maxHeldTotal: 128 * 1024 * 1024,
  partialPacketTimeoutMs: 30_000,
  smallHolderBytes: 64 * 1024,
};

/** Time source and the budget's sweep timer (injectable for deterministic tests). */
export interface BudgetClock {
  now(): number;
  every(ms: number, fn: () => void): { stop(): void };
}

export const SYSTEM_CLOCK: BudgetClock = {
  now: Date.now,
  every(ms, fn) {
    const t = setInterval(fn, ms);
    t.unref?.();
    return { stop: () => clearInterval(t) };
  },
};

/** One connection's account: what it holds now and since when a packet is incomplete. */
export interface BudgetEntry {
  /** Log fields naming the connection ({ clientId } or { peer }). */
  readonly who: Record<string, unknown>;
  held: number;
  /** When the current incomplete packet started (budget clock), undefined when none. */
  since: number | undefined;
  /** Order of registration: a larger one is newer. */
  readonly seq: number;
  /** Packets the connection had finished at the last update (progress resets the time limit). */
  packetsOut: number;
  closed: boolean;
  /** Disconnects the connection and releases what it holds. */
  readonly evict: (reason: string) => void;
}

export class MemoryBudget {
  readonly limits: MemoryLimits;
  private readonly entries = new Set<BudgetEntry>();
  private total = 0;
  private seq = 0;
  private sweeper: { stop(): void } | undefined;

  constructor(limits: Partial<MemoryLimits> = {}, private log: Logger, private readonly clock: BudgetClock = SYSTEM_CLOCK) {
    this.limits = { ...DEFAULT_MEMORY_LIMITS, ...limits };
  }

  setLogger(log: Logger): void {
    this.log = log;
  }

  /** Bytes held for incomplete packets, all connections together. */
  get heldTotal(): number {
    return this.total;
  }

  register(who: Record<string, unknown>, evict: (reason: string) => void): BudgetEntry {
    const e: BudgetEntry = { who, held: 0, since: undefined, seq: ++this.seq, packetsOut: 0, closed: false, evict };
    this.entries.add(e);
    return e;
  }

  /** The connection is gone: its bytes no longer count. Safe to call twice. */
  unregister(e: BudgetEntry): void {
    if (e.closed) return;
    e.closed = true;
    this.total -= e.held;
    e.held = 0;
    this.entries.delete(e);
  }

  /**
   * After a read: what the connection holds now, whether it is in the middle
   * of a packet, and how many packets it has finished in all. Enforces the
   * total at once (the reader that grew may be the one to go).
   */
  update(e: BudgetEntry, held: number, midPacket: boolean, packetsOut: number): void {
    if (e.closed) return;
    this.total += held - e.held;
    e.held = held;
    if (!midPacket) e.since = undefined;
    else if (e.since === undefined || packetsOut !== e.packetsOut) e.since = this.clock.now();
    e.packetsOut = packetsOut;
    if (this.total > this.limits.maxHeldTotal) this.enforceTotal();
  }

  private enforceTotal(): void {
    while (this.total > this.limits.maxHeldTotal) {
      let victim: BudgetEntry | undefined;
      for (const e of this.entries) {
        if (e.held <= this.limits.smallHolderBytes) continue;
        if (!victim || e.held > victim.held || (e.held === victim.held && e.seq > victim.seq)) victim = e;
      }
      if (!victim) return; // only small holders: nobody to blame
      this.log.warn({ ...victim.who, held: victim.held, heldTotal: this.total, maxHeldTotal: this.limits.maxHeldTotal },
        'memory budget for incomplete packets exceeded: disconnecting the largest holder');
      this.evict(victim, 'memory budget for incomplete packets exceeded');
    }
  }

  /** Closes every connection whose packet has been incomplete longer than the time limit. */
  sweep(): void {
    const now = this.clock.now();
    const limit = this.limits.partialPacketTimeoutMs;
    for (const e of [...this.entries]) {
      if (e.since === undefined || now - e.since <= limit) continue;
      this.log.warn({ ...e.who, held: e.held, incompleteForMs: now - e.since, limitMs: limit },
        'packet incomplete for longer than the time limit: closing the connection');
      this.evict(e, 'packet incomplete for longer than the time limit');
    }
  }

  private evict(e: BudgetEntry, reason: string): void {
    this.unregister(e);
    e.evict(reason);
  }

  /** Starts the time-limit sweep (a quarter of the limit, at most once a second). */
  start(): void {
    if (this.sweeper) return;
    this.sweeper = this.clock.every(Math.min(1000, Math.max(10, this.limits.partialPacketTimeoutMs / 4)), () => this.sweep());
  }

  stop(): void {
    this.sweeper?.stop();
    this.sweeper = undefined;
  }
}
