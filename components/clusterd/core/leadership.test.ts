// The leadership rules, one at a time, through the core's public calls.
import { describe, expect, it } from 'vitest';
import { ClusterdCore } from './clusterd-core.ts';
import { DEFAULT_TIMINGS, type Action, type CoreConfig, type HeartbeatBody, type VoteBody } from './types.ts';

const { leaseMs: LEASE, leaseMarginMs: MARGIN, candidateStepMs: STEP } = DEFAULT_TIMINGS;

function core(self: number, opts: { nodes?: number[]; initialEpoch?: number; now?: number; cfg?: Partial<CoreConfig> } = {}): ClusterdCore {
  return new ClusterdCore(
    { self, nodes: opts.nodes ?? [0, 1, 2], ...DEFAULT_TIMINGS, lockRequired: false, ...opts.cfg },
    { now: opts.now ?? 0, initialEpoch: opts.initialEpoch ?? 0, bootId: `b${self}` },
  );
}
const hb = (node: number, extra: Partial<HeartbeatBody> = {}): HeartbeatBody => ({ node, bootId: `b${node}`, round: 1, leading: false, epoch: 0, ...extra });
const vote = (node: number, epoch: number): VoteBody => ({ node, bootId: `b${node}`, epoch });
const grant = (node: number, epoch: number, promisedEpoch = epoch) => ({ node, bootId: `b${node}`, epoch, granted: true, promisedEpoch });
const of = <K extends Action['kind']>(actions: Action[], kind: K) => actions.filter((a): a is Extract<Action, { kind: K }> => a.kind === kind);

/** Peers speak (non-leading heartbeats) so they are up in `c`'s view. */
function hear(c: ClusterdCore, now: number, peers: number[]): void {
  for (const p of peers) c.onHeartbeat(now, p, hb(p));
}

/** Node 0 of [0,1,2] elected at `at` (epoch 1 unless told), its vote requests answered at once. */
function elected(at = LEASE, nodes = [0, 1, 2]): ClusterdCore {
  const c = core(0, { nodes });
  hear(c, at - 10, nodes.slice(1));
  const a = c.tick(at);
  const epoch = of(a, 'send-vote')[0].body.epoch;
  for (const p of nodes.slice(1, Math.floor(nodes.length / 2) + 1)) c.onVoteReply(at, p, grant(p, epoch));
  expect(c.view(at).iAmLeader).toBe(true);
  return c;
}

describe('vote granting', () => {
  it('restart safety: no vote for leaseMs after creation (it may have promised before a crash), then grant', () => {
    const c = core(1, { initialEpoch: 7, now: 1000 });
    const early = c.onVote(1000 + LEASE - 1, 0, vote(0, 8));
    expect(early.reply).toMatchObject({ granted: false, promisedEpoch: 7, retryAfterMs: 1 });
    expect(of(early.actions, 'persist-epoch')).toEqual([]);
    const later = c.onVote(1000 + LEASE, 0, vote(0, 8));
    expect(later.reply).toMatchObject({ granted: true, promisedEpoch: 8, epoch: 8 });
    // The epoch is written before anything else happens (the reply goes after all actions).
    expect(later.actions[0]).toEqual({ kind: 'persist-epoch', epoch: 8 });
  });

  it('a stale epoch is bad input and changes nothing', () => {
    const c = core(1, { initialEpoch: 5 });
    const { reply, actions } = c.onVote(LEASE, 0, vote(0, 5));
    expect(reply).toMatchObject({ granted: false, promisedEpoch: 5 });
    expect(of(actions, 'bad-input')).toEqual([expect.objectContaining({ from: 0, reason: expect.stringContaining('stale epoch 5') })]);
    expect(of(actions, 'persist-epoch')).toEqual([]);
    expect(c.onVote(LEASE, 0, vote(0, 6)).reply.granted).toBe(true);
  });

  it('a sender outside the nodes file, or naming another node, is bad input', () => {
    const c = core(1);
    expect(of(c.onVote(LEASE, 9, vote(9, 3)).actions, 'bad-input')).toHaveLength(1);
    expect(of(c.onVote(LEASE, 2, vote(0, 3)).actions, 'bad-input')).toHaveLength(1);
    expect(c.view(LEASE).epoch).toBe(0);
    expect(c.onVote(LEASE, 0, vote(0, 3)).reply.granted).toBe(true);
  });

  it('a grant promises for leaseMs from receipt: others are refused, the promisee may ask again', () => {
    const c = core(1);
    expect(c.onVote(LEASE, 0, vote(0, 1)).reply.granted).toBe(true);
    expect(c.onVote(LEASE + 10, 2, vote(2, 2)).reply).toMatchObject({ granted: false, retryAfterMs: LEASE - 10 });
    // The candidate it voted for gave up that epoch and asks higher: nothing it promised is lost.
    expect(c.onVote(LEASE + 20, 0, vote(0, 2)).reply.granted).toBe(true);
    expect(c.onVote(2 * LEASE + 19, 2, vote(2, 3)).reply.granted).toBe(false);
    expect(c.onVote(2 * LEASE + 20, 2, vote(2, 3)).reply.granted).toBe(true);
  });

  it('a follower votes early only for the leader it follows', () => {
    const c = core(1);
    c.onHeartbeat(LEASE, 0, hb(0, { leading: true, epoch: 4 }));
    expect(c.onVote(LEASE + 100, 2, vote(2, 5)).reply.granted).toBe(false);
    const { reply, actions } = c.onVote(LEASE + 100, 0, vote(0, 5));
    expect(reply.granted).toBe(true);
    // Until the candidate's first leading heartbeat, there is no leader.
    expect(of(actions, 'leader-changed')).toEqual([expect.objectContaining({ leader: undefined, previous: 0 })]);
    expect(c.view(LEASE + 100).leader).toBeUndefined();
  });

  it('the leader refuses every vote', () => {
    const c = elected();
    expect(c.onVote(LEASE + 1, 1, vote(1, 9)).reply).toEqual(expect.objectContaining({ granted: false, promisedEpoch: 1 }));
    expect(c.onVote(LEASE + 1, 1, vote(1, 9)).reply.retryAfterMs).toBeUndefined();
  });
});

describe('standing for election', () => {
  it('rank delays: rank r stands r * candidateStepMs after its promise ran out', () => {
    for (const self of [0, 1, 2]) {
      const c = core(self);
      hear(c, LEASE - 50, [0, 1, 2].filter((p) => p !== self));
      expect(of(c.tick(LEASE + self * STEP - 1), 'send-vote'), `node ${self} too early`).toEqual([]);
      expect(of(c.tick(LEASE + self * STEP), 'send-vote').map((a) => a.to), `node ${self}`).toEqual([0, 1, 2].filter((p) => p !== self));
    }
  });

  it('ranks count only up nodes that run clusterd', () => {
    const c = core(2);
    hear(c, LEASE - 50, [1]);
    c.transportNodeState(LEASE - 50, 0, 'unreachable');
    expect(of(c.tick(LEASE + STEP - 1), 'send-vote')).toEqual([]);
    expect(of(c.tick(LEASE + STEP), 'send-vote')).toHaveLength(2);
  });

  it('does not stand when fewer than a majority are up in its view, nor when itself is not up', () => {
    const lonely = core(0);
    hear(lonely, 10, []);
    expect(of(lonely.tick(5 * LEASE), 'send-vote')).toEqual([]);
    const banned = core(0);
    hear(banned, LEASE - 10, [1, 2]);
    banned.legacyView(LEASE - 10, [{ pnn: 0, flags: 0x8 }, { pnn: 1, flags: 0 }, { pnn: 2, flags: 0 }]);
    expect(of(banned.tick(LEASE), 'send-vote')).toEqual([]);
  });

  it('candidate epoch = max(persisted, highest seen) + 1, persisted before the requests go out', () => {
    const c = core(0, { initialEpoch: 3 });
    hear(c, LEASE - 10, [1]);
    c.onHeartbeat(LEASE - 10, 2, hb(2, { epoch: 11 }));
    const a = c.tick(LEASE);
    expect(a.findIndex((x) => x.kind === 'persist-epoch')).toBeLessThan(a.findIndex((x) => x.kind === 'send-vote'));
    expect(of(a, 'persist-epoch')).toEqual([{ kind: 'persist-epoch', epoch: 12 }]);
    expect(of(a, 'send-vote').map((x) => x.body.epoch)).toEqual([12, 12]);
  });

  it('elected with a majority: leader-changed, a leading round at once, lease = send + leaseMs - margin', () => {
    const c = core(0);
    hear(c, LEASE - 10, [1, 2]);
    c.tick(LEASE);
    const a = c.onVoteReply(LEASE + 5, 1, grant(1, 1));
    expect(of(a, 'leader-changed')).toEqual([expect.objectContaining({ leader: 0, epoch: 1, previous: undefined })]);
    expect(of(a, 'send-heartbeat').map((x) => x.body)).toEqual([
      expect.objectContaining({ leading: true, epoch: 1 }), expect.objectContaining({ leading: true, epoch: 1 }),
    ]);
    const end = LEASE + LEASE - MARGIN;
    expect(c.view(end - 1)).toMatchObject({ iAmLeader: true, leader: 0, leaseRemainingMs: 1 });
    // Queries check `now` themselves: no tick needed for the lease to end.
    expect(c.view(end)).toMatchObject({ iAmLeader: false, leader: undefined });
    expect(of(c.tick(end), 'leader-changed')).toEqual([expect.objectContaining({ leader: undefined, previous: 0 })]);
  });

  it('votes arriving after the window do not elect', () => {
    const c = core(0);
    hear(c, LEASE - 10, [1, 2]);
    c.tick(LEASE);
    c.onVoteReply(2 * LEASE - MARGIN, 1, grant(1, 1));
    expect(c.view(2 * LEASE - MARGIN).iAmLeader).toBe(false);
  });

  it('a single-node cluster elects itself', () => {
    const c = core(0, { nodes: [0] });
    c.tick(LEASE);
    expect(c.view(LEASE).iAmLeader).toBe(true);
    for (let t = LEASE; t <= 3 * LEASE; t += 50) {
      c.tick(t);
      expect(c.view(t).iAmLeader).toBe(true);
    }
  });

  it('a refused voter with a running promise is asked again when it ends', () => {
    const c = core(0);
    hear(c, LEASE - 10, [1, 2]);
    c.tick(LEASE);
    c.onVoteReply(LEASE + 2, 1, { node: 1, bootId: 'b1', epoch: 1, granted: false, promisedEpoch: 0, retryAfterMs: 30 });
    expect(of(c.tick(LEASE + 31), 'send-vote')).toEqual([]);
    expect(of(c.tick(LEASE + 32), 'send-vote')).toEqual([expect.objectContaining({ to: 1, body: expect.objectContaining({ epoch: 1 }) })]);
  });
});

describe('rival candidates', () => {
  it('a candidate yields to a higher epoch and refuses its own or lower', () => {
    const c = core(0);
    hear(c, LEASE - 10, [1, 2]);
    c.tick(LEASE); // candidate at 1
    expect(c.onVote(LEASE + 1, 1, vote(1, 1)).reply).toMatchObject({ granted: false, promisedEpoch: 1 });
    expect(c.onVote(LEASE + 2, 1, vote(1, 2)).reply.granted).toBe(true);
    // Its own candidacy is over: late grants do not elect it.
    c.onVoteReply(LEASE + 3, 2, grant(2, 1));
    expect(c.view(LEASE + 3).iAmLeader).toBe(false);
  });

  it('a refusal naming an epoch at or above its own ends the candidacy', () => {
    const c = core(0);
    hear(c, LEASE - 10, [1, 2]);
    c.tick(LEASE);
    const refused = c.onVoteReply(LEASE + 1, 1, { node: 1, bootId: 'b1', epoch: 1, granted: false, promisedEpoch: 1 });
    c.onVoteReply(LEASE + 2, 2, grant(2, 1));
    expect(c.view(LEASE + 2).iAmLeader).toBe(false);
    // It stands again, higher, after its rank delay (rank 0: at once).
    expect(of(refused, 'send-vote').map((a) => a.body.epoch)).toEqual([2, 2]);
  });

  it('a candidate that lost touch accepts the live leader even below its own epoch (no disruption)', () => {
    const c = core(2);
    hear(c, LEASE - 10, [0, 1]);
    c.tick(LEASE + 2 * STEP); // candidate at 1 (nobody answers)
    const { reply } = c.onHeartbeat(LEASE + 2 * STEP + 5, 0, hb(0, { leading: true, epoch: 0, round: 9 }));
    // Epoch 0 is not below what it promised anyone: its own abandoned candidacy promised nothing.
    expect(reply).toMatchObject({ accepted: true, promisedEpoch: 0 });
    expect(c.view(LEASE + 2 * STEP + 5)).toMatchObject({ leader: 0, epoch: 0 });
  });
});

describe('following and renewal', () => {
  it('a follower accepts a leading heartbeat at or above its promise, persisting a higher epoch', () => {
    const c = core(1, { initialEpoch: 2 });
    const a = c.onHeartbeat(100, 0, hb(0, { leading: true, epoch: 3 }));
    expect(a.reply).toMatchObject({ accepted: true, promisedEpoch: 3, round: 1 });
    expect(a.actions[0]).toEqual({ kind: 'persist-epoch', epoch: 3 });
    expect(of(a.actions, 'leader-changed')).toEqual([expect.objectContaining({ leader: 0, epoch: 3 })]);
    const stale = c.onHeartbeat(200, 2, hb(2, { leading: true, epoch: 2 }));
    expect(stale.reply).toMatchObject({ accepted: false, promisedEpoch: 3 });
    expect(of(stale.actions, 'bad-input')).toHaveLength(1);
    expect(c.view(200).leader).toBe(0);
  });

  it('the followed leader is reported while the promise runs, not after', () => {
    const c = core(1);
    c.onHeartbeat(100, 0, hb(0, { leading: true, epoch: 1 }));
    expect(c.view(100 + LEASE - 1)).toMatchObject({ leader: 0, leaseRemainingMs: 1 });
    expect(c.view(100 + LEASE).leader).toBeUndefined();
    expect(of(c.tick(100 + LEASE), 'leader-changed')).toEqual([expect.objectContaining({ leader: undefined, previous: 0 })]);
  });

  it('followers promise longer than the leader leases (receipt >= send, minus margin)', () => {
    const leader = elected();
    const follower = core(1);
    const round = of(leader.tick(LEASE + 250), 'send-heartbeat')[0];
    const r = follower.onHeartbeat(LEASE + 250 + 3, 0, round.body).reply;
    leader.onHeartbeatReply(LEASE + 250 + 6, 1, r);
    const leaseEnd = LEASE + 250 + LEASE - MARGIN;
    expect(leader.view(leaseEnd - 1).iAmLeader).toBe(true);
    expect(leader.view(leaseEnd).iAmLeader).toBe(false);
    expect(follower.onVote(leaseEnd + MARGIN + 2, 2, vote(2, 9)).reply.granted).toBe(false);
    expect(follower.onVote(LEASE + 250 + 3 + LEASE, 2, vote(2, 9)).reply.granted).toBe(true);
  });

  it('renewal needs a majority of one round', () => {
    const leader = elected(LEASE, [0, 1, 2, 3, 4]);
    const hbAt = LEASE + 250;
    const bodies = of(leader.tick(hbAt), 'send-heartbeat');
    const round = bodies[0].body.round;
    const ok = (n: number) => ({ node: n, bootId: `b${n}`, round, accepted: true, promisedEpoch: 1 });
    leader.onHeartbeatReply(hbAt + 2, 1, ok(1));
    expect(leader.view(2 * LEASE - MARGIN).iAmLeader).toBe(false); // self + 1 of 5
    leader.onHeartbeatReply(hbAt + 3, 2, { ...ok(2), round: round - 1 }); // another round does not count
    expect(leader.view(2 * LEASE - MARGIN).iAmLeader).toBe(false);
    leader.onHeartbeatReply(hbAt + 4, 3, ok(3));
    expect(leader.view(hbAt + LEASE - MARGIN - 1).iAmLeader).toBe(true);
    expect(leader.view(hbAt + LEASE - MARGIN).iAmLeader).toBe(false);
  });

  it('a reply with a higher promised epoch makes the leader step down at once', () => {
    const leader = elected();
    const a = leader.onHeartbeatReply(LEASE + 10, 2, { node: 2, bootId: 'b2', round: 1, accepted: false, promisedEpoch: 2 });
    expect(leader.view(LEASE + 10).iAmLeader).toBe(false);
    expect(of(a, 'leader-changed')).toEqual([expect.objectContaining({ leader: undefined, previous: 0, reason: expect.stringContaining('higher epoch 2') })]);
  });

  it('a leader that ctdbd bans or stops steps down', () => {
    const leader = elected();
    const a = leader.legacyView(LEASE + 10, [{ pnn: 0, flags: 0x20 }, { pnn: 1, flags: 0 }, { pnn: 2, flags: 0 }]);
    expect(leader.view(LEASE + 10).iAmLeader).toBe(false);
    expect(a).toContainEqual(expect.objectContaining({ kind: 'leader-changed', leader: undefined, reason: 'stepped down: this node is not up' }));
  });

  it('a leader hearing a leader at a higher epoch follows it; at its own epoch it is bad input', () => {
    const leader = elected();
    const same = leader.onHeartbeat(LEASE + 10, 1, hb(1, { leading: true, epoch: 1 }));
    expect(same.reply.accepted).toBe(false);
    expect(of(same.actions, 'bad-input')).toHaveLength(1);
    expect(leader.view(LEASE + 10).iAmLeader).toBe(true);
    leader.onHeartbeat(LEASE + 20, 1, hb(1, { leading: true, epoch: 2 }));
    expect(leader.view(LEASE + 20)).toMatchObject({ iAmLeader: false, leader: 1, epoch: 2 });
  });
});

describe('cluster lock', () => {
  function winner(): { c: ClusterdCore; a: Action[] } {
    const c = core(0, { cfg: { lockRequired: true } });
    hear(c, LEASE - 10, [1, 2]);
    c.tick(LEASE);
    return { c, a: c.onVoteReply(LEASE + 1, 1, grant(1, 1)) };
  }

  it('leads only once the lock is held within the lease; losing it steps down and releases', () => {
    const { c, a } = winner();
    expect(of(a, 'acquire-lock')).toEqual([{ kind: 'acquire-lock', epoch: 1 }]);
    expect(c.view(LEASE + 1).iAmLeader).toBe(false);
    expect(c.onVote(LEASE + 2, 2, vote(2, 5)).reply.granted).toBe(false);
    const held = c.lockState(LEASE + 20, 'held');
    expect(c.view(LEASE + 20).iAmLeader).toBe(true);
    expect(of(held, 'leader-changed')).toHaveLength(1);
    expect(of(held, 'send-heartbeat')[0].body.leading).toBe(true);
    const lost = c.lockState(LEASE + 30, 'lost');
    expect(c.view(LEASE + 30).iAmLeader).toBe(false);
    expect(of(lost, 'release-lock')).toHaveLength(1);
  });

  it('a lock that comes after the lease ran out is released, not used', () => {
    const { c } = winner();
    const late = c.lockState(2 * LEASE - MARGIN, 'held');
    expect(c.view(2 * LEASE - MARGIN).iAmLeader).toBe(false);
    expect(of(late, 'release-lock').length).toBeGreaterThan(0);
  });

  it('an unavailable lock ends the candidacy and puts this node last in the ranks', () => {
    const { c } = winner();
    c.lockState(LEASE + 5, 'unavailable');
    expect(c.view(LEASE + 5).iAmLeader).toBe(false);
    hear(c, LEASE + 5, [1, 2]);
    // rank 0 + 3 up nodes
    expect(of(c.tick(LEASE + 5 + 3 * STEP - 1), 'send-vote')).toEqual([]);
    expect(of(c.tick(LEASE + 5 + 3 * STEP), 'send-vote')).toHaveLength(2);
  });
});
