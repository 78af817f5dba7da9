// A discrete-event simulation of a clusterd cluster for tests: one global
// monotonic clock, message delays and drops from a seeded PRNG, partitions,
// crashes and restarts (a restarted node keeps only its persisted epoch), an
// optional cluster lock. After every event it checks the safety properties
// and throws a SimulationViolation naming the instant.

import { prng } from '../../../../legacy/common/testing/prng.ts';
import { ClusterdCore } from '../clusterd-core.ts';
import { DEFAULT_TIMINGS, type Action, type CoreConfig } from '../types.ts';

export class SimulationViolation extends Error {
  override name = 'SimulationViolation';
}

export interface SimulationOptions {
  nodes: number;
  seed: number;
  timings?: Partial<Omit<CoreConfig, 'self' | 'nodes' | 'lockRequired'>>;
  lockRequired?: boolean;
  tickMs?: number;
  /** One-way message delay range (ms). */
  delay?: { min: number; max: number };
  dropRate?: number;
  /** Check every node's view after every event (else only when a run ends: for large clusters). */
  checkEveryEvent?: boolean;
}

export interface Term {
  pnn: number;
  epoch: number;
  start: number;
  end: number | undefined;
}

interface SimNode {
  pnn: number;
  core: ClusterdCore | undefined;
  boot: number;
  /** What the node's epoch file holds. */
  disk: number;
  lastViewEpoch: number;
  wasLeader: boolean;
}

interface Event {
  at: number;
  seq: number;
  run: () => void;
}

/** Binary min-heap of events by (time, insertion order). */
class EventQueue {
  private heap: Event[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(at: number, run: () => void): void {
    const h = this.heap;
    h.push({ at, seq: this.seq++, run });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  peek(): Event | undefined {
    return this.heap[0];
  }

  pop(): Event | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l], h[m])) m = l;
        if (r < h.length && this.less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }

  private less(a: Event, b: Event): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }
}

export class SimulatedCluster {
  now = 0;
  readonly config: Omit<CoreConfig, 'self'>;
  readonly tickMs: number;
  readonly majority: number;
  delay: { min: number; max: number };
  dropRate: number;
  /** Vote requests and replies put on the network (retries included). */
  readonly votes = { requests: 0, replies: 0 };
  readonly terms: Term[] = [];
  readonly log: string[] = [];
  private readonly random: () => number;
  private readonly queue = new EventQueue();
  private readonly nodes: SimNode[] = [];
  private readonly checkEveryEvent: boolean;
  /** Group index per node while partitioned. */
  private groups: number[] | undefined;
  private partitionSince = 0;
  private lockHolder: number | undefined;
  private highestTermEpoch = -1;
  private lastElected = -Infinity;

  constructor(opts: SimulationOptions) {
    this.random = prng(opts.seed);
    this.tickMs = opts.tickMs ?? 50;
    this.delay = opts.delay ?? { min: 1, max: 20 };
    this.dropRate = opts.dropRate ?? 0;
    this.checkEveryEvent = opts.checkEveryEvent ?? true;
    const pnns = Array.from({ length: opts.nodes }, (_, i) => i);
    this.config = { nodes: pnns, lockRequired: opts.lockRequired ?? false, ...DEFAULT_TIMINGS, ...opts.timings };
    this.majority = Math.floor(opts.nodes / 2) + 1;
    for (const pnn of pnns) {
      this.nodes.push({ pnn, core: undefined, boot: 0, disk: 0, lastViewEpoch: 0, wasLeader: false });
      this.start(pnn);
    }
  }

  // ---- scenario controls ---------------------------------------------------------

  /** Runs events up to and including time `until`, or until `stop()` holds after an event (returns whether it did). */
  runUntil(until: number, stop?: () => boolean): boolean {
    for (;;) {
      const next = this.queue.peek();
      if (!next || next.at > until) break;
      this.queue.pop();
      this.now = next.at;
      next.run();
      this.check();
      if (stop?.()) return true;
    }
    this.now = until;
    this.check(true);
    return false;
  }

  runFor(ms: number): void {
    this.runUntil(this.now + ms);
  }

  crash(pnn: number): void {
    const n = this.nodes[pnn];
    if (!n.core) return;
    n.core = undefined;
    n.boot++;
    if (n.wasLeader) this.endTerm(pnn);
    n.wasLeader = false;
    // The lock helper dies with the process: the lock is free again.
    if (this.lockHolder === pnn) this.lockHolder = undefined;
    this.log.push(`${this.now}: crash ${pnn}`);
  }

  restart(pnn: number): void {
    if (this.nodes[pnn].core) return;
    this.start(pnn);
    this.log.push(`${this.now}: restart ${pnn}`);
  }

  /** groups[i] = the side node i is on; messages between sides are lost. */
  partition(groups: number[]): void {
    this.groups = [...groups];
    this.partitionSince = this.now;
    this.log.push(`${this.now}: partition ${groups.join('')}`);
  }

  heal(): void {
    this.groups = undefined;
    this.log.push(`${this.now}: heal`);
  }

  /** The holder's lock goes away (its helper died); it hears at once. */
  loseLock(): void {
    const holder = this.lockHolder;
    if (holder === undefined) return;
    this.lockHolder = undefined;
    this.perform(holder, this.nodes[holder].core!.lockState(this.now, 'lost'));
  }

  isUp(pnn: number): boolean {
    return this.nodes[pnn].core !== undefined;
  }

  core(pnn: number): ClusterdCore | undefined {
    return this.nodes[pnn].core;
  }

  /** Whether some node announced itself leader (leader-changed) since `since`: cheap, for stop conditions. */
  electedSince(since: number): boolean {
    return this.lastElected >= since;
  }

  leaders(): number[] {
    return this.nodes.filter((n) => n.core?.view(this.now).iAmLeader).map((n) => n.pnn);
  }

  /** The leader every running node follows, or undefined if they disagree or there is none. */
  agreedLeader(): number | undefined {
    const running = this.nodes.filter((n) => n.core);
    const seen = new Set(running.map((n) => n.core!.view(this.now).leader));
    const [only] = seen;
    return seen.size === 1 ? only : undefined;
  }

  // ---- nodes and network -----------------------------------------------------------

  private start(pnn: number): void {
    const n = this.nodes[pnn];
    n.boot++;
    n.core = new ClusterdCore({ ...this.config, self: pnn }, { now: this.now, initialEpoch: n.disk, bootId: `n${pnn}-b${n.boot}` });
    const boot = n.boot;
    const phase = this.random() * this.tickMs;
    const tick = (): void => {
      if (n.boot !== boot || !n.core) return;
      this.perform(pnn, n.core.tick(this.now));
      this.queue.push(this.now + this.tickMs, tick);
    };
    this.queue.push(this.now + phase, tick);
  }

  private linked(a: number, b: number): boolean {
    return this.groups === undefined || this.groups[a] === this.groups[b];
  }

  /** Delivery time of a message sent now, or undefined if it is lost on the way. */
  private transit(a: number, b: number): number | undefined {
    if (!this.linked(a, b) || this.random() < this.dropRate) return undefined;
    return this.now + this.delay.min + this.random() * (this.delay.max - this.delay.min);
  }

  private request<B, R>(from: number, to: number, body: B, timeoutMs: number,
    handle: (core: ClusterdCore, now: number) => { reply: R; actions: Action[] },
    onReply: (core: ClusterdCore, reply: R) => Action[], onFail: (core: ClusterdCore) => Action[], isVote: boolean): void {
    void body;
    const sender = this.nodes[from];
    const boot = sender.boot;
    let settled = false;
    const alive = (): ClusterdCore | undefined => (sender.boot === boot ? sender.core : undefined);
    this.queue.push(this.now + timeoutMs, () => {
      if (settled) return;
      settled = true;
      const core = alive();
      if (core) this.perform(from, onFail(core));
    });
    const at = this.transit(from, to);
    if (at === undefined) return;
    this.queue.push(at, () => {
      const dest = this.nodes[to];
      if (!dest.core || !this.linked(from, to)) return;
      const { reply, actions } = handle(dest.core, this.now);
      this.perform(to, actions);
      if (isVote) this.votes.replies++;
      const back = this.transit(to, from);
      if (back === undefined) return;
      this.queue.push(back, () => {
        const core = alive();
        if (settled || !core || !this.linked(from, to)) return;
        settled = true;
        this.perform(from, onReply(core, reply));
      });
    });
  }

  private perform(pnn: number, actions: Action[]): void {
    const n = this.nodes[pnn];
    for (const a of actions) {
      if (!n.core) return;
      switch (a.kind) {
        case 'send-heartbeat':
          this.request(pnn, a.to, a.body, this.config.deadAfterMs / 2,
            (core, now) => core.onHeartbeat(now, pnn, a.body),
            (core, reply) => core.onHeartbeatReply(this.now, a.to, reply),
            (core) => core.heartbeatFailed(this.now, a.to), false);
          break;
        case 'send-vote':
          this.votes.requests++;
          this.request(pnn, a.to, a.body, this.config.leaseMs,
            (core, now) => core.onVote(now, pnn, a.body),
            (core, reply) => core.onVoteReply(this.now, a.to, reply),
            (core) => core.voteFailed(this.now, a.to), true);
          break;
        case 'persist-epoch':
          if (a.epoch <= n.disk) throw this.violation(`node ${pnn} persisted epoch ${a.epoch} after ${n.disk}`);
          n.disk = a.epoch;
          break;
        case 'acquire-lock': {
          const boot = n.boot;
          this.queue.push(this.now + 1 + this.random() * 5, () => {
            if (n.boot !== boot || !n.core) return;
            const free = this.lockHolder === undefined || this.lockHolder === pnn;
            if (free) this.lockHolder = pnn;
            this.perform(pnn, n.core.lockState(this.now, free ? 'held' : 'unavailable'));
          });
          break;
        }
        case 'release-lock':
          if (this.lockHolder === pnn) this.lockHolder = undefined;
          break;
        case 'leader-changed':
          if (a.leader === pnn) this.lastElected = this.now;
          this.log.push(`${this.now}: node ${pnn} leader ${a.previous} -> ${a.leader} (epoch ${a.epoch}): ${a.reason}`);
          break;
        case 'node-changed':
        case 'bad-input':
          break;
      }
    }
  }

  // ---- properties ------------------------------------------------------------------

  private violation(what: string): SimulationViolation {
    return new SimulationViolation(`t=${this.now.toFixed(3)}: ${what}\n${this.log.slice(-40).join('\n')}`);
  }

  private endTerm(pnn: number): void {
    const term = [...this.terms].reverse().find((t) => t.pnn === pnn && t.end === undefined);
    if (term) term.end = this.now;
  }

  /** Safety at this instant: at most one leader, epochs of terms increase, none in a minority. */
  check(force = false): void {
    if (!this.checkEveryEvent && !force) return;
    const leaders: number[] = [];
    for (const n of this.nodes) {
      if (!n.core) continue;
      const view = n.core.view(this.now);
      if (view.epoch < n.lastViewEpoch) throw this.violation(`node ${n.pnn} epoch went back from ${n.lastViewEpoch} to ${view.epoch}`);
      if (view.epoch > n.disk) throw this.violation(`node ${n.pnn} reports epoch ${view.epoch} but persisted only ${n.disk}`);
      n.lastViewEpoch = view.epoch;
      if (view.iAmLeader) {
        leaders.push(n.pnn);
        if (this.config.lockRequired && this.lockHolder !== n.pnn) throw this.violation(`leader ${n.pnn} does not hold the lock`);
        if (!n.wasLeader) {
          if (view.epoch <= this.highestTermEpoch) {
            throw this.violation(`node ${n.pnn} leads at epoch ${view.epoch}, not above the last term's ${this.highestTermEpoch}`);
          }
          if (this.groups && !this.config.lockRequired && !this.inMajority(n.pnn)) {
            throw this.violation(`node ${n.pnn} became leader on a minority side`);
          }
          this.highestTermEpoch = view.epoch;
          this.terms.push({ pnn: n.pnn, epoch: view.epoch, start: this.now, end: undefined });
          this.log.push(`${this.now}: TERM node ${n.pnn} epoch ${view.epoch}`);
        }
        if (this.groups && !this.inMajority(n.pnn) && this.now >= this.partitionSince + this.config.leaseMs) {
          throw this.violation(`node ${n.pnn} still leads on a minority side ${this.now - this.partitionSince} ms into the partition`);
        }
      } else if (n.wasLeader) {
        this.endTerm(n.pnn);
      }
      n.wasLeader = view.iAmLeader;
    }
    if (leaders.length > 1) throw this.violation(`two leaders: ${leaders.join(', ')}`);
  }

  private inMajority(pnn: number): boolean {
    const side = this.groups![pnn];
    return this.groups!.filter((g) => g === side).length >= this.majority;
  }
}
