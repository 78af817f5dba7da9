// clusterd's decisions without I/O: membership and leadership wired
// together behind the calls the host makes. The host owns timers, the
// transport, ctdbd and files; it calls tick(now) every tickMs and performs
// the returned actions in order. Every call takes the caller's monotonic
// `now`; a `now` earlier than one already seen counts as that one.

import { randomUUID } from 'node:crypto';
import { Leadership } from './leadership.ts';
import { Membership } from './membership.ts';
import {
  CoreConfigError, type Action, type Answer, type CoreConfig, type CoreOptions, type CoreView, type HeartbeatBody,
  type HeartbeatReplyBody, type LockState, type TransportNodeState, type VoteBody, type VoteReplyBody,
} from './types.ts';

const MAX_PNN = 0xefffffff;

function checkConfig(c: CoreConfig, opts: CoreOptions): void {
  const positive = ['heartbeatIntervalMs', 'deadAfterMs', 'leaseMs'] as const;
  for (const key of positive) {
    if (!(Number.isFinite(c[key]) && c[key] > 0)) throw new CoreConfigError(key, `${c[key]} is not a positive number of ms`);
  }
  for (const key of ['leaseMarginMs', 'candidateStepMs'] as const) {
    if (!(Number.isFinite(c[key]) && c[key] >= 0)) throw new CoreConfigError(key, `${c[key]} is not a number of ms`);
  }
  if (c.leaseMarginMs >= c.leaseMs) throw new CoreConfigError('leaseMarginMs', `${c.leaseMarginMs} ms leaves no lease of ${c.leaseMs} ms`);
  // A lease must be renewable by at least one heartbeat round before it ends.
  if (c.heartbeatIntervalMs >= c.leaseMs - c.leaseMarginMs) {
    throw new CoreConfigError('heartbeatIntervalMs', `${c.heartbeatIntervalMs} ms is not shorter than the lease (${c.leaseMs} - ${c.leaseMarginMs} ms)`);
  }
  if (new Set(c.nodes).size !== c.nodes.length || c.nodes.some((p) => !Number.isInteger(p) || p < 0 || p > MAX_PNN)) {
    throw new CoreConfigError('nodes', `${JSON.stringify(c.nodes)} are not distinct PNNs`);
  }
  if (!c.nodes.includes(c.self)) throw new CoreConfigError('self', `node ${c.self} is not in the nodes file`);
  if (!Number.isSafeInteger(opts.initialEpoch) || opts.initialEpoch < 0) {
    throw new CoreConfigError('initialEpoch', `${opts.initialEpoch} is not an epoch`);
  }
  if (opts.bootId !== undefined && (opts.bootId.length === 0 || opts.bootId.length > 64)) {
    throw new CoreConfigError('bootId', 'must be 1..64 characters');
  }
}

export class ClusterdCore {
  readonly bootId: string;
  private readonly membership: Membership;
  private readonly leadership: Leadership;
  private lastNow: number;
  private round = 0;
  private nextHeartbeatAt: number;

  constructor(private readonly config: CoreConfig, opts: CoreOptions) {
    checkConfig(config, opts);
    this.bootId = opts.bootId ?? randomUUID();
    this.lastNow = opts.now;
    this.nextHeartbeatAt = opts.now;
    this.membership = new Membership(config.self, config.nodes, config.deadAfterMs);
    this.leadership = new Leadership(config, this.membership, opts.now, opts.initialEpoch);
  }

  tick(now: number): Action[] {
    return this.run(now, () => undefined).actions;
  }

  /** ctdbd's node map (pnn, NODE_FLAGS); undefined while ctdbd cannot be reached. */
  legacyView(now: number, nodes: ReadonlyArray<{ pnn: number; flags: number }> | undefined): Action[] {
    return this.run(now, () => this.membership.legacy(nodes)).actions;
  }

  transportNodeState(now: number, pnn: number, state: TransportNodeState): Action[] {
    return this.run(now, () => this.membership.transport(pnn, state)).actions;
  }

  onHeartbeat(now: number, from: number, body: HeartbeatBody): Answer<HeartbeatReplyBody> {
    const { result, actions } = this.run(now, (t, out) => {
      if (this.refused(from, body.node, 'heartbeat', out)) return this.leadership.refuseHeartbeat(body, this.bootId);
      this.membership.heard(t, from, body.bootId);
      return this.leadership.onHeartbeat(t, from, body, this.bootId, out);
    });
    return { reply: result, actions };
  }

  onHeartbeatReply(now: number, from: number, body: HeartbeatReplyBody): Action[] {
    return this.run(now, (t, out) => {
      if (this.refused(from, body.node, 'heartbeat reply', out)) return;
      this.membership.heard(t, from, body.bootId);
      this.leadership.onHeartbeatReply(t, from, body, out);
    }).actions;
  }

  /** The heartbeat request failed or timed out: silence is what membership counts, so nothing else. */
  heartbeatFailed(now: number, to: number): Action[] {
    void to;
    return this.tick(now);
  }

  onVote(now: number, from: number, body: VoteBody): Answer<VoteReplyBody> {
    const { result, actions } = this.run(now, (t, out) => {
      if (this.refused(from, body.node, 'vote request', out)) return this.leadership.refuseVote(body, this.bootId);
      this.membership.heard(t, from, body.bootId);
      return this.leadership.onVote(t, from, body, this.bootId, out);
    });
    return { reply: result, actions };
  }

  onVoteReply(now: number, from: number, body: VoteReplyBody): Action[] {
    return this.run(now, (t, out) => {
      if (this.refused(from, body.node, 'vote reply', out)) return;
      this.membership.heard(t, from, body.bootId);
      this.leadership.onVoteReply(t, from, body, out);
    }).actions;
  }

  /** A vote request failed: the candidacy simply lacks that vote until its window ends. */
  voteFailed(now: number, to: number): Action[] {
    void to;
    return this.tick(now);
  }

  lockState(now: number, state: LockState): Action[] {
    return this.run(now, (t, out) => this.leadership.lockState(t, state, out)).actions;
  }

  view(now: number): CoreView {
    const t = Math.max(now, this.lastNow);
    return {
      self: this.config.self,
      nodes: this.membership.views(t),
      leader: this.leadership.leader(t),
      epoch: this.leadership.epoch(),
      iAmLeader: this.leadership.iAmLeader(t),
      leaseRemainingMs: this.leadership.leaseRemainingMs(t),
    };
  }

  /** Expire first (a lapsed lease must not decide anything), handle the input, then act on the new state. */
  private run<T>(now: number, handle: (now: number, out: Action[]) => T): { result: T; actions: Action[] } {
    const t = (this.lastNow = Math.max(now, this.lastNow));
    const out: Action[] = [];
    this.leadership.expire(t, out);
    const result = handle(t, out);
    this.membership.changes(t, out);
    this.leadership.advance(t, this.bootId, out);
    this.heartbeats(t, out);
    return { result, actions: out };
  }

  private heartbeats(now: number, out: Action[]): void {
    const leaderNow = this.leadership.takeRoundDue();
    if (!leaderNow && now < this.nextHeartbeatAt) return;
    const round = ++this.round;
    const body = this.leadership.heartbeatBody(now, round, this.bootId);
    this.leadership.roundSent(now, round);
    for (const to of this.membership.peers()) out.push({ kind: 'send-heartbeat', to, body });
    // Keep the cadence (ticks come late by up to tickMs); after a stall or a
    // new leader's first round, count from now instead of bursting.
    const interval = this.config.heartbeatIntervalMs;
    this.nextHeartbeatAt = leaderNow ? now + interval : Math.max(this.nextHeartbeatAt + interval, now + interval / 2);
  }

  /** Messages from outside the nodes file, from ourselves, or naming another sender change nothing. */
  private refused(from: number, named: number, what: string, out: Action[]): boolean {
    let reason: string | undefined;
    if (!this.membership.has(from) || from === this.config.self) reason = `${what} from node ${from}, not a peer in the nodes file`;
    else if (named !== from) reason = `${what} from node ${from} names node ${named}`;
    if (reason === undefined) return false;
    out.push({ kind: 'bad-input', from, reason });
    return true;
  }
}
