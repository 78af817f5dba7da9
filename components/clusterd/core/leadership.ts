// Leadership by lease and majority, pure. Why at most one node ever holds a
// valid lease:
// - A lease is granted by a majority (self included) that supported one
//   message sent at time T (a vote request or a leading heartbeat round); it
//   ends at T + leaseMs - leaseMarginMs. Each supporter received at >= T and
//   promised until receipt + leaseMs, so the lease ends before any promise.
// - While its promise runs a node grants no vote except to the node the
//   promise is for (`promisee`: the leader it follows or the candidate it
//   voted for): that node can only ask again once it no longer leads.
// - Epochs order everything: a node grants an epoch only above every epoch it
//   supported, accepts a leading heartbeat only at or above it, and two
//   majorities intersect, so one epoch elects at most one node.
// - A candidate's vote for itself counts only if it wins. A candidacy that is
//   given up (yielded, outvoted, too late) was never relied upon, so its
//   epoch is not a promise (`promisedEpoch` excludes it) but it stays in the
//   persisted high-water mark so no epoch is ever asked for twice.

import type { Action, HeartbeatBody, HeartbeatReplyBody, LockState, VoteBody, VoteReplyBody } from './types.ts';

export interface LeadershipConfig {
  self: number;
  nodes: readonly number[];
  leaseMs: number;
  leaseMarginMs: number;
  candidateStepMs: number;
  lockRequired: boolean;
}

/** What leadership needs to know about membership. */
export interface Electorate {
  /** Up nodes running clusterd (self included when up), sorted by PNN. */
  upClusterd(now: number): number[];
  /** Other nodes running clusterd. */
  peers(): number[];
}

interface Candidacy {
  epoch: number;
  sentAt: number;
  /** Votes count only before this; it is also the lease end if they suffice. */
  windowEnd: number;
  targets: Set<number>;
  granted: Set<number>;
  /** Voters that refused only because of a running promise: ask again then. */
  retries: Map<number, { at: number; count: number }>;
  /** Majority reached, waiting for the cluster lock. */
  won: boolean;
}

interface Round {
  epoch: number;
  sentAt: number;
  accepted: Set<number>;
}

/** How often one candidacy asks the same voter again (a voter's promise can be renewed once by a late heartbeat). */
const MAX_RETRIES_PER_VOTER = 2;

export class Leadership {
  /** Highest epoch supported for a leader or a candidate that may rely on it (never decreases). */
  private promisedEpoch: number;
  /** Highest epoch ever persisted: promises and own candidacies. */
  private persistedEpoch: number;
  private highestSeen: number;
  /** No vote for anyone but `promisee` before this. */
  private promiseUntil: number;
  private promisee: number | undefined;
  /** The leader followed (reported while the promise runs). */
  private following: number | undefined;
  private followingRound = -1;
  private leading: { epoch: number; leaseEnd: number } | undefined;
  private candidacy: Candidacy | undefined;
  /** Rank delays count from here: the end of the last promise, candidacy or term. */
  private freeSince: number;
  /** The host could not take the lock last time: stand after everyone else. */
  private lockPenalty = false;
  private readonly rounds = new Map<number, Round>();
  private roundDue = false;
  private reportedLeader: number | undefined;
  private leaderReason: string | undefined;
  readonly majority: number;
  /** Why the last candidacy ended without a term (for tests and status). */
  lastAbandon: string | undefined;

  constructor(private readonly cfg: LeadershipConfig, private readonly electorate: Electorate, now: number, initialEpoch: number) {
    this.majority = Math.floor(cfg.nodes.length / 2) + 1;
    this.promisedEpoch = initialEpoch;
    this.persistedEpoch = initialEpoch;
    this.highestSeen = initialEpoch;
    // It may have promised someone just before a crash: keep that promise.
    this.promiseUntil = now + cfg.leaseMs;
    this.freeSince = this.promiseUntil;
  }

  // ---- queries (valid at any `now`, not only after tick) -----------------------

  iAmLeader(now: number): boolean {
    return this.leading !== undefined && now < this.leading.leaseEnd;
  }

  leader(now: number): number | undefined {
    if (this.iAmLeader(now)) return this.cfg.self;
    if (this.following !== undefined && now < this.promiseUntil) return this.following;
    return undefined;
  }

  epoch(): number {
    return this.promisedEpoch;
  }

  leaseRemainingMs(now: number): number | undefined {
    if (this.iAmLeader(now)) return this.leading!.leaseEnd - now;
    if (this.leader(now) !== undefined) return this.promiseUntil - now;
    return undefined;
  }

  /** What replies report: an active candidacy counts (a rival at or below it should give up). */
  private currentPromise(): number {
    return this.candidacy ? Math.max(this.promisedEpoch, this.candidacy.epoch) : this.promisedEpoch;
  }

  // ---- time --------------------------------------------------------------------

  /** Leases, candidacy windows and followed promises that ran out. Run before handling any input. */
  expire(now: number, out: Action[]): void {
    if (this.leading && now >= this.leading.leaseEnd) this.stepDown(now, 'lease not renewed by a majority', out);
    const c = this.candidacy;
    if (c && now >= c.windowEnd) this.abandon(now, c.won ? 'cluster lock not held before the lease ran out' : 'no majority before the lease ran out', out);
    if (this.following !== undefined && now >= this.promiseUntil) {
      this.following = undefined;
      this.leaderReason ??= 'leader lease expired';
    }
  }

  /** After any input: stand if it is this node's turn, ask refusing voters again, report a leader change. */
  advance(now: number, bootId: string, out: Action[]): void {
    this.expire(now, out);
    // ctdbd banned or stopped this node (or it is otherwise not up in its own view): it must not lead.
    if (this.leading && !this.electorate.upClusterd(now).includes(this.cfg.self)) this.stepDown(now, 'this node is not up', out);
    this.maybeStand(now, bootId, out);
    this.sendRetries(now, bootId, out);
    this.reportLeader(now, out);
  }

  private maybeStand(now: number, bootId: string, out: Action[]): void {
    if (this.leading || this.candidacy || now < this.promiseUntil) return;
    const up = this.electorate.upClusterd(now);
    let rank = up.indexOf(this.cfg.self);
    // Not up in its own view, or too few up to win: standing would only
    // raise epochs (and make a healthy leader step down when the partition heals).
    if (rank < 0 || up.length < this.majority) return;
    if (this.lockPenalty) rank += up.length;
    if (now < Math.max(this.promiseUntil, this.freeSince) + rank * this.cfg.candidateStepMs) return;
    const epoch = Math.max(this.persistedEpoch, this.highestSeen) + 1;
    if (!Number.isSafeInteger(epoch)) return;
    this.persist(epoch, out);
    const targets = this.electorate.peers();
    this.candidacy = {
      epoch, sentAt: now, windowEnd: now + this.cfg.leaseMs - this.cfg.leaseMarginMs,
      targets: new Set(targets), granted: new Set([this.cfg.self]), retries: new Map(), won: false,
    };
    for (const to of targets) out.push({ kind: 'send-vote', to, body: { node: this.cfg.self, bootId, epoch } });
    this.checkWin(now, out);
  }

  private sendRetries(now: number, bootId: string, out: Action[]): void {
    const c = this.candidacy;
    if (!c || c.won) return;
    for (const [to, r] of c.retries) {
      if (r.at > now || c.granted.has(to)) continue;
      r.at = Infinity;
      out.push({ kind: 'send-vote', to, body: { node: this.cfg.self, bootId, epoch: c.epoch } });
    }
  }

  // ---- votes ---------------------------------------------------------------------

  /** The reply to a vote request that is refused before it is looked at (the core found the sender bad). */
  refuseVote(body: VoteBody, bootId: string, retryAfterMs?: number): VoteReplyBody {
    const reply: VoteReplyBody = { node: this.cfg.self, bootId, epoch: body.epoch, granted: false, promisedEpoch: this.currentPromise() };
    if (retryAfterMs !== undefined) reply.retryAfterMs = retryAfterMs;
    return reply;
  }

  refuseHeartbeat(body: HeartbeatBody, bootId: string): HeartbeatReplyBody {
    return { node: this.cfg.self, bootId, round: body.round, accepted: false, promisedEpoch: this.currentPromise() };
  }

  /** `from` is a peer of the nodes file (the core checked). */
  onVote(now: number, from: number, body: VoteBody, bootId: string, out: Action[]): VoteReplyBody {
    const refuse = (retryAfterMs?: number): VoteReplyBody => this.refuseVote(body, bootId, retryAfterMs);
    this.highestSeen = Math.max(this.highestSeen, body.epoch);
    if (body.epoch <= this.promisedEpoch) {
      out.push({ kind: 'bad-input', from, reason: `stale epoch ${body.epoch} in vote request (promised ${this.promisedEpoch})` });
      return refuse();
    }
    // A running candidacy yields only to a higher epoch, so of two rivals the later one wins.
    if (this.candidacy && body.epoch <= this.candidacy.epoch) return refuse();
    if (this.iAmLeader(now) || this.candidacy?.won) return refuse();
    if (now < this.promiseUntil && from !== this.promisee) return refuse(Math.ceil(this.promiseUntil - now));
    if (this.candidacy) this.abandon(now, `yielded to node ${from} (epoch ${body.epoch})`, out);
    this.promise(now, from, body.epoch, out);
    if (this.following !== undefined) {
      this.following = undefined;
      this.leaderReason = `voted for node ${from} (epoch ${body.epoch})`;
    }
    return { node: this.cfg.self, bootId, epoch: body.epoch, granted: true, promisedEpoch: this.promisedEpoch };
  }

  onVoteReply(now: number, from: number, body: VoteReplyBody, out: Action[]): void {
    this.highestSeen = Math.max(this.highestSeen, body.promisedEpoch);
    const c = this.candidacy;
    if (!c || c.won || body.epoch !== c.epoch || !c.targets.has(from)) return;
    if (body.granted) {
      c.granted.add(from);
      c.retries.delete(from);
      this.checkWin(now, out);
    } else if (body.promisedEpoch >= c.epoch) {
      // Someone is at or above this epoch: it cannot win here; step aside so
      // the rival can have this node's vote, and stand again higher.
      this.abandon(now, `node ${from} promised epoch ${body.promisedEpoch}`, out);
    } else if (body.retryAfterMs !== undefined) {
      const at = now + body.retryAfterMs;
      const previous = c.retries.get(from);
      const count = (previous?.count ?? 0) + 1;
      if (at < c.windowEnd && count <= MAX_RETRIES_PER_VOTER) c.retries.set(from, { at, count });
    }
  }

  private checkWin(now: number, out: Action[]): void {
    const c = this.candidacy;
    if (!c || c.won || c.granted.size < this.majority || now >= c.windowEnd) return;
    // From here the self-vote is relied upon: it is a promise like any other.
    this.promisedEpoch = Math.max(this.promisedEpoch, c.epoch);
    if (this.cfg.lockRequired) {
      c.won = true;
      out.push({ kind: 'acquire-lock', epoch: c.epoch });
      return;
    }
    this.becomeLeader(c, 'elected by a majority');
  }

  private becomeLeader(c: Candidacy, reason: string): void {
    this.leading = { epoch: c.epoch, leaseEnd: c.windowEnd };
    this.candidacy = undefined;
    this.following = undefined;
    this.lockPenalty = false;
    this.rounds.clear();
    this.roundDue = true;
    this.leaderReason = `${reason} (epoch ${c.epoch})`;
  }

  // ---- heartbeats ----------------------------------------------------------------

  /** The leader sends a round at once after winning. */
  takeRoundDue(): boolean {
    const due = this.roundDue;
    this.roundDue = false;
    return due;
  }

  heartbeatBody(now: number, round: number, bootId: string): HeartbeatBody {
    const leading = this.iAmLeader(now);
    return { node: this.cfg.self, bootId, round, leading, epoch: leading ? this.leading!.epoch : this.promisedEpoch };
  }

  /** A round went out (self counts as accepted). */
  roundSent(now: number, round: number): void {
    if (!this.iAmLeader(now)) return;
    for (const [n, r] of this.rounds) {
      if (r.sentAt + this.cfg.leaseMs - this.cfg.leaseMarginMs <= now) this.rounds.delete(n);
    }
    this.rounds.set(round, { epoch: this.leading!.epoch, sentAt: now, accepted: new Set([this.cfg.self]) });
    this.countRound(round);
  }

  private countRound(round: number): void {
    const r = this.rounds.get(round);
    if (!r || !this.leading || r.epoch !== this.leading.epoch || r.accepted.size < this.majority) return;
    this.leading.leaseEnd = Math.max(this.leading.leaseEnd, r.sentAt + this.cfg.leaseMs - this.cfg.leaseMarginMs);
  }

  /** `from` is a peer of the nodes file (the core checked). */
  onHeartbeat(now: number, from: number, body: HeartbeatBody, bootId: string, out: Action[]): HeartbeatReplyBody {
    const reply = (accepted: boolean): HeartbeatReplyBody => ({ ...this.refuseHeartbeat(body, bootId), accepted });
    this.highestSeen = Math.max(this.highestSeen, body.epoch);
    if (!body.leading) {
      // The leader says it no longer leads: stop reporting it (the promise itself runs on).
      if (from === this.following && body.round > this.followingRound) {
        this.following = undefined;
        this.leaderReason = `node ${from} stepped down`;
      }
      return reply(false);
    }
    const mine = this.leading?.epoch ?? (this.candidacy?.won ? this.candidacy.epoch : undefined);
    if (body.epoch < this.promisedEpoch || (mine !== undefined && body.epoch <= mine)) {
      out.push({ kind: 'bad-input', from, reason: `stale epoch ${body.epoch} in leading heartbeat (promised ${this.currentPromise()})` });
      return reply(false);
    }
    if (this.leading) this.stepDown(now, `node ${from} leads at higher epoch ${body.epoch}`, out);
    if (this.candidacy) this.abandon(now, `node ${from} leads (epoch ${body.epoch})`, out);
    this.promise(now, from, body.epoch, out);
    if (this.following !== from) this.leaderReason = `leading heartbeat from node ${from} (epoch ${body.epoch})`;
    this.following = from;
    this.followingRound = body.round;
    return reply(true);
  }

  onHeartbeatReply(now: number, from: number, body: HeartbeatReplyBody, out: Action[]): void {
    this.highestSeen = Math.max(this.highestSeen, body.promisedEpoch);
    if (!this.iAmLeader(now)) return;
    if (body.promisedEpoch > this.leading!.epoch) {
      this.stepDown(now, `node ${from} promised higher epoch ${body.promisedEpoch}`, out);
      return;
    }
    if (!body.accepted) return;
    this.rounds.get(body.round)?.accepted.add(from);
    this.countRound(body.round);
  }

  // ---- cluster lock --------------------------------------------------------------

  lockState(now: number, state: LockState, out: Action[]): void {
    if (!this.cfg.lockRequired) return;
    const c = this.candidacy;
    if (state === 'held') {
      if (c?.won && now < c.windowEnd) {
        this.becomeLeader(c, 'elected and holds the cluster lock');
      } else if (!this.iAmLeader(now)) {
        out.push({ kind: 'release-lock' }); // an acquisition that outlived its candidacy
      }
    } else {
      this.lockPenalty = true;
      if (state === 'lost' && this.leading) this.stepDown(now, 'cluster lock lost', out);
      if (c?.won) this.abandon(now, `cluster lock ${state}`, out);
    }
  }

  // ---- internals -----------------------------------------------------------------

  /** Support `to` at `epoch` from now on (vote granted or leading heartbeat accepted). */
  private promise(now: number, to: number, epoch: number, out: Action[]): void {
    this.promisedEpoch = Math.max(this.promisedEpoch, epoch);
    this.persist(this.promisedEpoch, out);
    this.promiseUntil = Math.max(this.promiseUntil, now + this.cfg.leaseMs);
    this.promisee = to;
  }

  private persist(epoch: number, out: Action[]): void {
    if (epoch <= this.persistedEpoch) return;
    this.persistedEpoch = epoch;
    out.push({ kind: 'persist-epoch', epoch });
  }

  private stepDown(now: number, reason: string, out: Action[]): void {
    if (!this.leading) return;
    this.leading = undefined;
    this.rounds.clear();
    this.freeSince = Math.max(this.freeSince, now);
    this.leaderReason = `stepped down: ${reason}`;
    if (this.cfg.lockRequired) out.push({ kind: 'release-lock' });
  }

  private abandon(now: number, reason: string, out: Action[]): void {
    const c = this.candidacy;
    if (!c) return;
    this.candidacy = undefined;
    this.freeSince = Math.max(this.freeSince, now);
    if (c.won && this.cfg.lockRequired) out.push({ kind: 'release-lock' });
    this.lastAbandon = reason;
  }

  /** leader-changed when the leader this node recognises differs from the one last reported. */
  private reportLeader(now: number, out: Action[]): void {
    const leader = this.leader(now);
    if (leader === this.reportedLeader) {
      this.leaderReason = undefined;
      return;
    }
    out.push({
      kind: 'leader-changed', leader, epoch: this.promisedEpoch, previous: this.reportedLeader,
      reason: this.leaderReason ?? (this.reportedLeader === this.cfg.self ? 'lease not renewed by a majority' : 'leader lease expired'),
    });
    this.reportedLeader = leader;
    this.leaderReason = undefined;
  }

  /** For tests: the candidacy in progress. */
  get candidateEpoch(): number | undefined {
    return this.candidacy?.epoch;
  }
}
