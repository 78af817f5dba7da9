// failoverd: public IP failover as a component. Only the node whose clusterd
// leads decides. Each check (every interval, and at once on a leader or node
// change) gathers what a takeover run of ctdbd gathers, computes the
// allocation ctdbd would (allocation/), and compares it with where the
// addresses are:
// - shadow (stage 2): ctdbd does failover; differences are counted and logged.
// - active (stage 3): ctdbd's own takeover runs are held off by a lease, and
//   failoverd performs the runs through ctdbd's controls, exactly as ctdbd's
//   takeover helper does, whenever the placement is off. Because the
//   allocation is ctdbd's, the switch moves nothing. A failed run backs off
//   (run-backoff.ts) instead of repeating at every check.

import type { Logger } from 'pino';
import { LimitedLog } from '../../legacy/common/log-limiter.ts';
import { NodeFlag } from '../../legacy/protocol/constants.ts';
import type { ComponentContext, ComponentDefinition, ComponentInstance } from '../framework/component.ts';
import { performsTakeoverRuns, type FailoverdMode } from '../framework/bridge-conf.ts';
import { DifferenceCounter, type Difference } from '../framework/differences.ts';
import { FAILOVERD_SERVICE } from '../framework/services.ts';
import { UnknownNodeError } from '../clusterd/errors.ts';
import type { ClusterStatus } from '../clusterd/status.ts';
import { allocate, mergeReports } from './allocation/index.ts';
import type { AllocationInput, Placement } from './allocation/types.ts';
import { configureFailoverd, leaseSeconds, type FailoverdConfig } from './config.ts';
import { DrainStore, withDrains } from './drains.ts';
import { LeaderWatch, type Leadership } from './leader-watch.ts';
import { FAILOVERD_MESSAGES } from './messages.ts';
import type { AddressStatus, FailoverStatus, TakeoverRunSummary } from './status.ts';
import type { TakeoverRunsLease } from './takeover-lease.ts';
import { QuorumGuard, unreachableNodes, type QuorumState } from './quorum-guard.ts';
import type { TakeoverRunRequest, TakeoverRunRequests } from './takeover-run-requests.ts';
import type { RunScope } from './takeover-run/gather.ts';
import { RunBackoff } from './run-backoff.ts';

/** What failoverd needs from ctdbd (ctdbd-driver.ts drives the real one). */
export interface TakeoverDriver {
  /** What a takeover run gathers (throws while ctdbd cannot be asked). */
  gather(scope?: RunScope): Promise<AllocationInput>;
  /**
   * One takeover run exactly as ctdb_takeover_helper performs it (gathering
   * afresh), with `allocate` deciding the placement.
   */
  run(allocate: (input: AllocationInput) => Placement[], scope?: RunScope): Promise<RunOutcome>;
  /** Releases every public address this node's ctdbd hosts (quorum lost); returns them. */
  releaseHosted(): Promise<string[]>;
  /**
   * Planned moves away from a drained node, make-before-break: TAKEOVER_IP on
   * the new owner, then RELEASE_IP on the old, so the address never goes
   * unanswered. The takeover run that follows makes everything consistent.
   * Returns the addresses whose hand-over failed.
   */
  handOver(moves: readonly HandOver[]): Promise<string[]>;
  readonly lease: TakeoverRunsLease;
  /**
   * The local ctdbd's node flags as one string (one GET_NODEMAP). ctdbd marks
   * a peer DISCONNECTED the moment its connection closes (kill -9) but tells
   * nobody; polled by the deciding node so its run starts before ctdbd's
   * recovery (which refuses takeip events while it lasts).
   */
  nodeFlags?(): Promise<string>;
  /**
   * Which of `pnns` answer a control through ctdbd's own links within
   * `timeoutMs` (the others: no answer, or a failure).
   */
  answering?(pnns: readonly number[], timeoutMs: number): Promise<number[]>;
  /** Takeover-run requests of ctdb's CLI (`ctdb ipreallocate`, disable, enable) arriving at this node. */
  readonly requests?: TakeoverRunRequests;
  /** Native mode's executor of the embedded daemon's public IP events (started and stopped with the mode). */
  readonly nativeHost?: NativeSwitch;
  close(): Promise<void>;
}

export interface NativeSwitch {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface HandOver {
  ip: string;
  from: number;
  to: number;
}

export interface RunOutcome {
  /** Addresses whose host the run changed. */
  moved: number;
  /** Set when the run (or part of it) failed. */
  error?: string;
  /** Set when the run was not started because ctdbd could not take it now (a recovery); retried soon. */
  deferred?: string;
}

/** How soon a deferred takeover run is tried again (a recovery of a few nodes lasts ~0.1-0.5 s). */
const DEFERRED_RETRY_MS = 100;

/** How often the deciding node polls ctdbd's node map between checks (one local control). */
const NODEMAP_POLL_MS = 50;

/** A node silent this long fails a check instead of blocking it for TakeoverTimeout (9 s). */
const GATHER_TIMEOUT_MS = 1000;

/** How long a node clusterd cannot hear gets to answer through ctdbd before its addresses move. */
const PEER_PROBE_MS = 300;

export interface FailoverdOptions {
  createDriver(logger: Logger): TakeoverDriver;
}

export function failoverdComponent(opts: FailoverdOptions): ComponentDefinition<FailoverdConfig> {
  return {
    name: 'failoverd',
    service: FAILOVERD_SERVICE,
    messages: FAILOVERD_MESSAGES,
    configure: configureFailoverd,
    create: (ctx) => new Failoverd(ctx, opts.createDriver(ctx.logger)),
  };
}

interface LeaseState {
  nodes: number[];
  renewedAt: number;
}

export class Failoverd implements ComponentInstance<FailoverdConfig> {
  private config: FailoverdConfig;
  private readonly log: Logger;
  private readonly complaints: LimitedLog;
  private readonly watch: LeaderWatch;
  private readonly drains: DrainStore;
  private readonly shadow: DifferenceCounter;
  private checkTimer: unknown;
  private retryTimer: unknown;
  private retryDue = 0;
  /** Failed runs wait before the same input is tried again (run-backoff.ts). */
  private readonly backoff: RunBackoff;
  private checking: Promise<void> | undefined;
  private again: string | undefined;
  private addresses: AddressStatus[] = [];
  private deciding = false;
  private lease: LeaseState | undefined;
  private lastRun: TakeoverRunSummary | null = null;
  private runs = 0;
  private stopped = false;
  private readonly quorum: QuorumGuard;
  private quorumState: QuorumState['kind'] = 'quorum';
  private selfLeaseAt: number | undefined;
  /** Node flags at the last takeover run (or when this node began deciding): a change calls for a run. */
  private runFlags: string | undefined;
  private pollTimer: unknown;
  private polledFlags: string | undefined;
  private polling = false;
  /** Nodes clusterd cannot hear whose ctdbd answers (logged once per spell). */
  private heardOnlyByCtdbd = new Set<number>();

  constructor(private readonly ctx: ComponentContext<FailoverdConfig>, private readonly driver: TakeoverDriver) {
    this.config = ctx.config;
    this.log = ctx.logger;
    this.complaints = new LimitedLog(this.log);
    this.drains = new DrainStore(this.config.stateDir);
    this.shadow = new DifferenceCounter(this.config.settleMs);
    this.quorum = new QuorumGuard(this.config.quorumLossMs);
    this.backoff = new RunBackoff(this.config.checkIntervalMs);
    if (driver.requests) {
      driver.requests.onRequest = (r) => this.onRunRequest(r);
      driver.requests.onBadMessage = (bytes) => this.complaints.warn('bad-request', { bytes }, 'takeover-run request of the wrong size; ignored');
    }
    this.watch = new LeaderWatch({
      transport: ctx.transport, timers: ctx.timers, logger: this.log,
      onChange: (l, reason) => this.onLeadership(l, reason),
    });
  }

  init(): void {
    const t = this.ctx.transport;
    t.handle('failoverd.status', () => this.status());
    t.handle('failoverd.check', async () => {
      await this.check('failoverd.check request');
      return this.status();
    });
    t.handle('failoverd.set-mode', async (body: { mode: FailoverdMode }) => {
      const previous = this.config.mode;
      await this.setMode(body.mode, 'failoverd.set-mode request');
      return { mode: this.config.mode, previous };
    });
    t.handle('failoverd.drain', (body: { pnn: number; drained: boolean }) => {
      if (!this.config.nodes.includes(body.pnn)) throw new UnknownNodeError(body.pnn, 'is not in the nodes file');
      if (this.drains.mark(body.pnn, body.drained)) {
        this.log.info({ pnn: body.pnn, drained: body.drained, reason: 'failoverd.drain request' }, body.drained ? 'node drained' : 'node undrained');
        this.schedule('drain changed');
      }
      return { drained: this.drains.drained };
    });
  }

  activate(): void {
    void this.switchNative('start');
    this.watch.start();
    this.checkTimer ??= this.ctx.timers.setInterval(() => this.schedule('interval'), this.config.checkIntervalMs);
    if (this.driver.nodeFlags) this.pollTimer ??= this.ctx.timers.setInterval(() => void this.pollNodemap(), NODEMAP_POLL_MS);
    this.log.info({ mode: this.config.mode, drained: this.drains.drained, reason: 'start' }, 'failoverd started');
  }

  deactivate(reason: string): void {
    this.log.info({ reason }, 'failoverd cut off from transportd');
  }

  async reconfigure(config: FailoverdConfig): Promise<void> {
    const mode = config.mode;
    const previous = this.config;
    this.config = { ...config, mode: this.config.mode };
    this.quorum.setLossMs(config.quorumLossMs);
    this.shadow.settleMs = config.settleMs;
    this.backoff.baseMs = config.checkIntervalMs;
    if (config.checkIntervalMs !== previous.checkIntervalMs && this.checkTimer !== undefined) {
      this.ctx.timers.clearInterval(this.checkTimer);
      this.checkTimer = this.ctx.timers.setInterval(() => this.schedule('interval'), config.checkIntervalMs);
    }
    await this.setMode(mode, 'configuration reloaded');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.checkTimer !== undefined) this.ctx.timers.clearInterval(this.checkTimer);
    if (this.retryTimer !== undefined) this.ctx.timers.clearTimeout(this.retryTimer);
    if (this.pollTimer !== undefined) this.ctx.timers.clearInterval(this.pollTimer);
    this.watch.stop();
    await this.checking;
    // A stopping failoverd hands failover back at once rather than when the lease lapses.
    if (this.lease) await this.releaseLease('failoverd stopping');
    await this.switchNative('failoverd stopping');
    await this.driver.close();
  }

  status(): FailoverStatus {
    const l = this.watch.current;
    return {
      node: this.ctx.transport.node,
      mode: this.config.mode,
      leader: l?.leader ?? null,
      epoch: l?.epoch ?? 0,
      deciding: this.deciding,
      addresses: this.deciding ? this.addresses : [],
      drained: this.drains.drained,
      differences: { current: this.shadow.current, total: this.shadow.total },
      takeoverLease: this.lease
        ? { held: true, nodes: this.lease.nodes, renewedAgoMs: Math.round(this.ctx.timers.now() - this.lease.renewedAt) }
        : performsTakeoverRuns(this.config.mode) && this.deciding ? { held: false, nodes: [], renewedAgoMs: null } : null,
      lastRun: this.lastRun,
      runs: this.runs,
    };
  }

  private onLeadership(l: Leadership | undefined, reason: string): void {
    this.schedule(reason);
  }

  private async pollNodemap(): Promise<void> {
    if (!this.deciding || !performsTakeoverRuns(this.config.mode) || this.polling || this.checking || this.stopped) return;
    this.polling = true;
    try {
      const flags = await this.driver.nodeFlags!();
      if (this.polledFlags !== undefined && flags !== this.polledFlags) this.schedule('ctdbd node map changed');
      this.polledFlags = flags;
    } catch {
      // The next check reports ctdbd's trouble.
    } finally {
      this.polling = false;
    }
  }

  private onRunRequest(r: TakeoverRunRequest): void {
    this.log.info({ from: r.pnn, srvid: `0x${r.srvid.toString(16)}` }, 'takeover run requested');
    this.schedule('takeover run requested');
  }

  /** Runs a check soon; checks never overlap, and one asked for during a check runs right after it. */
  private schedule(reason: string): void {
    if (this.stopped) return;
    if (this.checking) {
      this.again ??= reason;
      return;
    }
    void this.check(reason);
  }

  private async check(reason: string): Promise<void> {
    if (this.checking) {
      this.again ??= reason;
      return this.checking;
    }
    this.checking = this.checkOnce(reason).catch((err) => {
      this.complaints.warn('check', { err, reason }, 'failover check failed');
    }).finally(() => {
      this.checking = undefined;
      const next = this.again;
      this.again = undefined;
      if (next !== undefined) this.schedule(next);
    });
    return this.checking;
  }

  private async checkOnce(reason: string): Promise<void> {
    // Asked every check: membership is what the quorum guard and the takeover run's scope go by.
    await this.watch.confirm();
    const cluster = this.watch.status;
    const self = this.ctx.transport.node;
    const quorum = this.quorum.observe(this.ctx.timers.now(), cluster, this.config.nodes);
    if (quorum.kind !== this.quorumState) {
      if (quorum.kind === 'quorum') this.log.info({ reason }, 'quorum regained');
      else if (this.quorumState === 'quorum') this.log.warn({ seen: quorum.seen, nodes: this.config.nodes }, 'quorum lost: this node takes no address');
      this.quorumState = quorum.kind;
    }
    const leadership = quorum.kind === 'quorum' ? this.watch.current : undefined;
    const deciding = leadership?.leader === self;
    if (deciding !== this.deciding) {
      this.log.info({ deciding, leader: leadership?.leader ?? null, epoch: leadership?.epoch ?? 0, reason }, deciding ? 'failoverd decides' : 'failoverd follows');
      this.deciding = deciding;
    }
    if (!deciding || !performsTakeoverRuns(this.config.mode)) {
      // Only the deciding failoverd answers ctdb's takeover-run requests (ctdbd's recovery master does in shadow).
      this.driver.requests?.drop();
    }
    if (quorum.kind !== 'quorum') {
      this.lease = undefined;
      this.addresses = [];
      await this.withoutQuorum(quorum);
      return;
    }
    this.selfLeaseAt = undefined;
    if (!deciding) {
      // The new leader's failoverd holds the lease from now on; ours just lapses.
      this.lease = undefined;
      this.addresses = [];
      this.runFlags = undefined;
      return;
    }
    const scope: RunScope = { unreachable: await this.unreachable(cluster), gatherTimeoutMs: GATHER_TIMEOUT_MS };
    const input = await this.driver.gather(scope);
    const plan = allocate(withDrains(input, this.drains.drained));
    const hosts = new Map(mergeReports(input).map((k) => [k.ip, k.owner]));
    this.addresses = plan.map((p) => ({ ip: p.ip, host: hosts.get(p.ip) ?? -1, plan: p.pnn }));
    const off = this.addresses.filter((a) => a.host !== a.plan);
    const now = this.ctx.timers.now();
    if (!performsTakeoverRuns(this.config.mode)) {
      const fresh = this.shadow.update(off.map(toDifference), now);
      for (const d of fresh) {
        this.log.info({ ip: d.subject, ours: d.ours, legacy: d.legacy, total: this.shadow.total }, 'failoverd allocation differs from ctdbd');
      }
      return;
    }
    this.shadow.update([], now);
    const connected = input.nodes.filter((n) => (n.flags & NodeFlag.DISCONNECTED) === 0).map((n) => n.pnn);
    if (!(await this.holdLease(connected, now))) return;
    // ctdbd runs a takeover run after every recovery and flag change even when nothing moves: its
    // redundant releases are what clear addresses a restarted node still has on its interface (ctdbd's
    // own check of the interfaces is off while its runs are held off).
    const flags = input.nodes.map((n) => `${n.pnn}:${n.flags}`).join(' ');
    this.runFlags ??= flags;
    if (off.length === 0 && (this.driver.requests?.count ?? 0) === 0 && flags === this.runFlags) return;
    const why = off.length > 0 ? reason : flags !== this.runFlags ? 'node flags changed' : 'takeover run requested';
    const runInput = JSON.stringify({
      off: off.map((a) => `${a.ip}:${a.host}>${a.plan}`), flags, epoch: leadership!.epoch, requests: this.driver.requests?.count ?? 0,
    });
    const wait = this.backoff.waitMs(now, runInput);
    if (wait > 0) {
      this.retryIn(wait, 'takeover run retry');
      return;
    }
    if (await this.takeoverRun(why, leadership!, scope, runInput)) this.runFlags = flags;
  }

  /** One check after `ms` (the earlier one wins when a retry is already due). */
  private retryIn(ms: number, reason: string): void {
    const due = this.ctx.timers.now() + ms;
    if (this.retryTimer !== undefined) {
      if (this.retryDue <= due) return;
      this.ctx.timers.clearTimeout(this.retryTimer);
    }
    this.retryDue = due;
    this.retryTimer = this.ctx.timers.setTimeout(() => {
      this.retryTimer = undefined;
      this.schedule(reason);
    }, ms);
  }

  /**
   * The nodes a run must treat as gone: those clusterd cannot hear, less those
   * whose ctdbd still answers. A peer's transportd or clusterd restarting
   * silences it for clusterd while its ctdbd keeps serving its addresses;
   * moving them would cut its clients off for nothing. An isolated node
   * answers nobody, so it still counts as gone, PEER_PROBE_MS later.
   */
  private async unreachable(cluster: ClusterStatus | undefined): Promise<number[]> {
    const lost = unreachableNodes(cluster);
    if (lost.length === 0 || !this.driver.answering) {
      this.heardOnlyByCtdbd.clear();
      return lost;
    }
    const answering = new Set(await this.driver.answering(lost, PEER_PROBE_MS).catch(() => []));
    for (const pnn of [...this.heardOnlyByCtdbd]) if (!answering.has(pnn)) this.heardOnlyByCtdbd.delete(pnn);
    for (const pnn of answering) {
      if (this.heardOnlyByCtdbd.has(pnn)) continue;
      this.heardOnlyByCtdbd.add(pnn);
      this.log.warn({ pnn }, 'clusterd cannot hear node but its ctdbd answers: its addresses stay');
    }
    return lost.filter((pnn) => !answering.has(pnn));
  }

  /**
   * Without a majority (active mode): keep this node's own ctdbd from taking
   * addresses once the leader's lease on it lapses (its recovery daemon would
   * run a takeover run of a one-node cluster), and after `quorum loss` ms
   * release everything it hosts. Shadow mode: ctdbd does failover; nothing.
   */
  private async withoutQuorum(q: Exclude<QuorumState, { kind: 'quorum' }>): Promise<void> {
    if (!performsTakeoverRuns(this.config.mode)) return;
    const self = this.ctx.transport.node;
    const now = this.ctx.timers.now();
    if (this.selfLeaseAt === undefined || now - this.selfLeaseAt >= this.config.takeoverLeaseMs / 3) {
      const answer = await this.driver.lease.hold([self], leaseSeconds(this.config.takeoverLeaseMs));
      if (answer.confirmed.includes(self)) this.selfLeaseAt = now;
    }
    if (q.kind !== 'release') return;
    const released = await this.driver.releaseHosted();
    if (released.length > 0) {
      this.log.warn({ released, withoutQuorumMs: Math.round(q.sinceMs), seen: q.seen }, 'quorum lost: released every address this node hosted');
    }
  }

  /** Keeps ctdbd's takeover runs off on every connected node; false while any has not confirmed. */
  private async holdLease(nodes: number[], now: number): Promise<boolean> {
    const due = !this.lease || now - this.lease.renewedAt >= this.config.takeoverLeaseMs / 3
      || nodes.some((n) => !this.lease!.nodes.includes(n));
    if (!due) return true;
    const answer = await this.driver.lease.hold(nodes, leaseSeconds(this.config.takeoverLeaseMs));
    if (answer.unconfirmed.length > 0) {
      // Usually -EAGAIN: ctdbd's own run is in progress; the next check asks again.
      this.complaints.warn('lease', { unconfirmed: answer.unconfirmed, refusals: answer.refusals }, 'ctdbd takeover runs not yet held off on every node');
      if (!this.lease) return false;
    }
    const first = !this.lease;
    this.lease = { nodes: answer.confirmed, renewedAt: now };
    if (first) this.log.info({ nodes: answer.confirmed, seconds: leaseSeconds(this.config.takeoverLeaseMs) }, 'ctdbd takeover runs held off');
    return answer.unconfirmed.length === 0;
  }

  private async releaseLease(reason: string): Promise<void> {
    const nodes = this.lease?.nodes ?? [];
    this.lease = undefined;
    try {
      const answer = await this.driver.lease.release(nodes);
      this.log.info({ nodes: answer.confirmed, unconfirmed: answer.unconfirmed, reason }, 'ctdbd takeover runs handed back');
    } catch (err) {
      this.log.warn({ err, reason }, 'could not hand takeover runs back; they come back when the lease lapses');
    }
  }

  /** True when the run completed without error. */
  private async takeoverRun(reason: string, acted: Leadership, scope: RunScope, runInput: string): Promise<boolean> {
    // Fenced: only while clusterd still names this node leader in the same epoch.
    const now = await this.watch.confirm();
    if (now?.leader !== this.ctx.transport.node || now.epoch !== acted.epoch) {
      this.log.info({ leader: now?.leader ?? null, epoch: now?.epoch ?? null, was: acted.epoch }, 'leadership changed before the takeover run; not run');
      return false;
    }
    const started = this.ctx.timers.now();
    const drained = this.drains.drained;
    const handOvers = this.addresses.filter((a) => drained.includes(a.host) && a.plan >= 0 && a.plan !== a.host)
      .map((a) => ({ ip: a.ip, from: a.host, to: a.plan }));
    if (handOvers.length > 0) {
      const failed = await this.driver.handOver(handOvers).catch((err: Error) => [`all (${err.message})`]);
      if (failed.length > 0) this.log.warn({ failed }, 'drain: hand-over failed; the takeover run moves them');
    }
    // Requests pending now are answered by this run; later ones by the next (they may follow a flag change).
    const requests = this.driver.requests?.take() ?? [];
    const outcome = await this.driver.run((input) => allocate(withDrains(input, drained)), scope)
      .catch((err: Error): RunOutcome => ({ moved: 0, error: err.message }));
    const durationMs = Math.round(this.ctx.timers.now() - started);
    if (outcome.deferred) this.driver.requests?.putBack(requests);
    else if (requests.length > 0) this.driver.requests!.reply(requests, outcome.error ? -1 : this.ctx.transport.node);
    if (outcome.deferred) {
      this.log.debug({ reason, why: outcome.deferred }, 'takeover run deferred');
      this.retryIn(DEFERRED_RETRY_MS, 'deferred takeover run');
      return false;
    }
    this.runs++;
    this.lastRun = { at: Date.now(), durationMs, reason, moved: outcome.moved, error: outcome.error ?? null };
    if (outcome.error) {
      this.runFailed(runInput, { reason, moved: outcome.moved, durationMs, error: outcome.error });
      return false;
    }
    const series = this.backoff.succeeded();
    if (series) this.log.info({ failures: series.failures, error: series.error }, `takeover run succeeded after ${series.failures} failed attempt(s)`);
    this.log.info({ reason, moved: outcome.moved, durationMs, epoch: acted.epoch }, 'takeover run done');
    return true;
  }

  /** One line for the first failure of a series, a reminder with the count at most once a minute, a retry after the back-off. */
  private runFailed(runInput: string, run: { reason: string; moved: number; durationMs: number; error: string }): void {
    const f = this.backoff.failed(this.ctx.timers.now(), runInput, run.error);
    if (f.previous) {
      this.log.warn({ failures: f.previous.failures, error: f.previous.error }, `takeover run failed ${f.previous.failures} time(s) in a row before its input changed`);
    }
    if (f.log === 'first') this.log.warn({ ...run, retryInMs: f.retryInMs }, 'takeover run failed');
    else if (f.log === 'still') this.log.warn({ failures: f.failures, error: run.error, retryInMs: f.retryInMs }, `takeover run still failing (${f.failures} times in a row)`);
    this.retryIn(f.retryInMs, 'takeover run retry');
  }

  /** The host executor runs exactly while the mode is native. */
  private async switchNative(reason: string): Promise<void> {
    const host = this.driver.nativeHost;
    if (!host) return;
    try {
      if (this.config.mode === 'native' && !this.stopped) await host.start();
      else await host.stop();
    } catch (err) {
      this.log.error({ err: (err as Error).message, reason }, 'cannot switch the native host executor');
    }
  }

  private async setMode(mode: FailoverdMode, reason: string): Promise<void> {
    if (mode === this.config.mode) return;
    const previous = this.config.mode;
    this.config = { ...this.config, mode };
    this.log.info({ mode, previous, reason }, 'failoverd mode changed');
    await this.checking;
    if (!performsTakeoverRuns(mode) && this.lease) await this.releaseLease(reason);
    await this.switchNative(reason);
    this.schedule(reason);
  }
}

function toDifference(a: AddressStatus): Difference {
  return { subject: a.ip, ours: String(a.plan), legacy: String(a.host) };
}
