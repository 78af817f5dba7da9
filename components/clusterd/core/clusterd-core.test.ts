import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { NodeFlag } from '../../../legacy/protocol/constants.ts';
import { createRegistry } from '../../../transport/schemas.ts';
import { ClusterdCore, CoreConfigError, DEFAULT_TIMINGS, heartbeatSchemas, voteSchemas, type Action, type CoreConfig } from './index.ts';

const config = (over: Partial<CoreConfig> = {}): CoreConfig => ({ self: 0, nodes: [0, 1, 2], ...DEFAULT_TIMINGS, lockRequired: false, ...over });
const kinds = (a: Action[]) => a.map((x) => x.kind);

describe('configuration', () => {
  it.each<[Partial<CoreConfig>, string]>([
    [{ self: 3 }, 'self'],
    [{ nodes: [0, 1, 1] }, 'nodes'],
    [{ leaseMarginMs: 800 }, 'leaseMarginMs'],
    [{ heartbeatIntervalMs: 750 }, 'heartbeatIntervalMs'],
    [{ deadAfterMs: 0 }, 'deadAfterMs'],
  ])('refuses %j', (over, field) => {
    expect(() => new ClusterdCore(config(over), { now: 0, initialEpoch: 0 })).toThrow(expect.objectContaining({ name: 'CoreConfigError', field }));
  });

  it('refuses a damaged persisted epoch and a long boot id', () => {
    expect(() => new ClusterdCore(config(), { now: 0, initialEpoch: -1 })).toThrow(CoreConfigError);
    expect(() => new ClusterdCore(config(), { now: 0, initialEpoch: 0, bootId: 'x'.repeat(65) })).toThrow(CoreConfigError);
    expect(new ClusterdCore(config(), { now: 0, initialEpoch: 0 }).bootId).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('wiring', () => {
  it('first call reports every node; ctdbd flags and transportd states become node-changed actions', () => {
    const c = new ClusterdCore(config(), { now: 0, initialEpoch: 0, bootId: 'b0' });
    expect(kinds(c.tick(0)).filter((k) => k === 'node-changed')).toHaveLength(3);
    const a = c.legacyView(10, [{ pnn: 0, flags: 0 }, { pnn: 1, flags: NodeFlag.BANNED }, { pnn: 2, flags: 0 }]);
    expect(a.filter((x) => x.kind === 'node-changed').map((x) => x.kind === 'node-changed' && [x.node.pnn, x.node.state, x.previous]))
      .toEqual([[1, 'banned', 'unknown'], [2, 'ok', 'unknown']]);
    const t = c.transportNodeState(20, 2, 'unreachable');
    expect(t).toEqual([expect.objectContaining({ kind: 'node-changed', previous: 'ok', reason: 'transportd: unreachable' })]);
    expect(c.legacyView(30, undefined).filter((x) => x.kind === 'node-changed')).toHaveLength(1); // node 1: banned -> unknown
  });

  it('heartbeats go to every other clusterd node each interval, non-leading before any election', () => {
    const c = new ClusterdCore(config(), { now: 0, initialEpoch: 0, bootId: 'b0' });
    const first = c.tick(0).filter((a) => a.kind === 'send-heartbeat');
    expect(first).toEqual([
      { kind: 'send-heartbeat', to: 1, body: { node: 0, bootId: 'b0', round: 1, leading: false, epoch: 0 } },
      { kind: 'send-heartbeat', to: 2, body: { node: 0, bootId: 'b0', round: 1, leading: false, epoch: 0 } },
    ]);
    expect(kinds(c.tick(249))).not.toContain('send-heartbeat');
    expect(kinds(c.tick(250))).toContain('send-heartbeat');
    c.transportNodeState(260, 2, 'legacy-only');
    expect(c.tick(500).filter((a) => a.kind === 'send-heartbeat').map((a) => a.kind === 'send-heartbeat' && a.to)).toEqual([1]);
  });

  it('a time earlier than one already seen counts as that one', () => {
    const c = new ClusterdCore(config({ self: 1 }), { now: 0, initialEpoch: 0, bootId: 'b1' });
    c.onHeartbeat(500, 0, { node: 0, bootId: 'b0', round: 1, leading: true, epoch: 1 });
    c.tick(100);
    expect(c.view(100).leader).toBe(0);
    expect(c.view(100).nodes[0].heartbeatAgeMs).toBe(0);
  });

  it('replies naming another node are bad input', () => {
    const c = new ClusterdCore(config(), { now: 0, initialEpoch: 0, bootId: 'b0' });
    const a = c.onVoteReply(10, 1, { node: 2, bootId: 'b2', epoch: 1, granted: true, promisedEpoch: 1 });
    expect(a).toContainEqual({ kind: 'bad-input', from: 1, reason: 'vote reply from node 1 names node 2' });
  });
});

describe('message schemas', () => {
  const ajv = new Ajv({ strict: true });
  const hb = ajv.compile(heartbeatSchemas.body);
  const hbReply = ajv.compile(heartbeatSchemas.reply);
  const vote = ajv.compile(voteSchemas.body);
  const voteReply = ajv.compile(voteSchemas.reply);

  it('accept what the core sends and answers', () => {
    const c = new ClusterdCore(config({ self: 1 }), { now: 0, initialEpoch: 0 });
    const body = { node: 0, bootId: 'b0', round: 3, leading: true, epoch: Number.MAX_SAFE_INTEGER };
    expect(hb(body)).toBe(true);
    expect(hbReply(c.onHeartbeat(1, 0, body).reply)).toBe(true);
    expect(vote({ node: 0, bootId: 'b0', epoch: 4 })).toBe(true);
    const fresh = new ClusterdCore(config({ self: 1 }), { now: 0, initialEpoch: 0 });
    const refused = fresh.onVote(2, 2, { node: 2, bootId: 'b2', epoch: 4 }).reply;
    expect(refused.retryAfterMs).toBe(DEFAULT_TIMINGS.leaseMs - 2);
    expect(voteReply(refused)).toBe(true);
    const { retryAfterMs: _, ...granted } = refused;
    expect(voteReply(granted)).toBe(true);
  });

  it('refuse extra fields and out-of-range values', () => {
    const ok = { node: 0, bootId: 'b0', epoch: 4 };
    expect(vote({ ...ok, extra: 1 })).toBe(false);
    expect(vote({ ...ok, node: 0xf0000000 })).toBe(false);
    expect(vote({ ...ok, epoch: -1 })).toBe(false);
    expect(vote({ ...ok, epoch: 2 ** 53 })).toBe(false);
    expect(vote({ ...ok, bootId: 'x'.repeat(65) })).toBe(false);
    expect(hb({ node: 0, bootId: 'b0', round: 1, leading: 'yes', epoch: 0 })).toBe(false);
  });

  it('register as transport message types, every schema compiling', () => {
    const registry = createRegistry();
    registry.define({ type: 'clusterd.heartbeat', versions: { 1: heartbeatSchemas } });
    registry.define({ type: 'clusterd.vote', versions: { 1: voteSchemas } });
    // Schemas compile lazily: compileAll() is where a bad one would throw.
    expect(() => registry.compileAll()).not.toThrow();
  });
});
