import { describe, expect, it } from 'vitest';
import { NodeFlag } from '../../../legacy/protocol/constants.ts';
import { Membership } from './membership.ts';
import type { Action } from './types.ts';

const DEAD = 2000;
const members = (): Membership => new Membership(0, [0, 1, 2], DEAD);
const flags = (f1: number, f0 = 0, f2 = 0) => [{ pnn: 0, flags: f0 }, { pnn: 1, flags: f1 }, { pnn: 2, flags: f2 }];

describe('node state merge (first rule that matches)', () => {
  it('never heard and no ctdbd: unknown; self: ok', () => {
    const m = members();
    expect(m.stateOf(0, 1)).toBe('unknown');
    expect(m.stateOf(0, 0)).toBe('ok');
    expect(m.view(0, 1)).toMatchObject({ legacyFlags: undefined, heartbeatAgeMs: undefined, clusterd: true });
  });

  it('heard within deadAfterMs: ok; silent longer: unreachable', () => {
    const m = members();
    m.heard(100, 1, 'b1');
    expect(m.stateOf(100 + DEAD, 1)).toBe('ok');
    expect(m.view(100 + DEAD, 1)).toMatchObject({ heartbeatAgeMs: DEAD, bootId: 'b1' });
    expect(m.stateOf(100 + DEAD + 1, 1)).toBe('unreachable');
  });

  it('ctdbd DISCONNECTED wins over a fresh heartbeat', () => {
    const m = members();
    m.heard(0, 1, 'b1');
    m.legacy(flags(NodeFlag.DISCONNECTED | NodeFlag.BANNED));
    expect(m.stateOf(1, 1)).toBe('disconnected');
  });

  it('heartbeat silence wins over ctdbd flags other than DISCONNECTED', () => {
    const m = members();
    m.heard(0, 1, 'b1');
    m.legacy(flags(NodeFlag.BANNED));
    expect(m.stateOf(DEAD, 1)).toBe('banned');
    expect(m.stateOf(DEAD + 1, 1)).toBe('unreachable');
  });

  it('flags in order: banned, stopped, disabled, unhealthy, then heartbeat ok', () => {
    const m = members();
    m.heard(0, 1, 'b1');
    const order: Array<[number, string]> = [
      [NodeFlag.BANNED | NodeFlag.STOPPED | NodeFlag.PERMANENTLY_DISABLED | NodeFlag.UNHEALTHY, 'banned'],
      [NodeFlag.STOPPED | NodeFlag.PERMANENTLY_DISABLED | NodeFlag.UNHEALTHY, 'stopped'],
      [NodeFlag.PERMANENTLY_DISABLED | NodeFlag.UNHEALTHY, 'disabled'],
      [NodeFlag.UNHEALTHY, 'unhealthy'],
      [0, 'ok'],
    ];
    for (const [f, state] of order) {
      m.legacy(flags(f));
      expect(m.stateOf(1, 1), `flags 0x${f.toString(16)}`).toBe(state);
    }
  });

  it('transportd unreachable marks a node until a message arrives after it (repeated reports are one event)', () => {
    const m = members();
    m.heard(0, 1, 'b1');
    m.transport(1, 'unreachable');
    expect(m.stateOf(10, 1)).toBe('unreachable');
    m.heard(20, 1, 'b1');
    m.transport(1, 'unreachable'); // the host polls: same state again
    expect(m.stateOf(30, 1)).toBe('ok');
    m.transport(1, 'transport');
    m.transport(1, 'unreachable');
    expect(m.stateOf(40, 1)).toBe('unreachable');
  });

  it('legacy-only: follows ctdbd flags, never unreachable for silence, not a clusterd', () => {
    const m = members();
    m.heard(0, 1, 'b1');
    m.transport(1, 'legacy-only');
    m.legacy(flags(0));
    expect(m.view(10 * DEAD, 1)).toMatchObject({ state: 'ok', clusterd: false });
    m.legacy(flags(NodeFlag.UNHEALTHY));
    expect(m.stateOf(10 * DEAD, 1)).toBe('unhealthy');
    m.legacy(undefined);
    expect(m.stateOf(10 * DEAD, 1)).toBe('unknown');
    expect(m.peers()).toEqual([2]);
    expect(m.upClusterd(0)).not.toContain(1);
    // A clusterd that speaks up is one, whatever transportd said before.
    m.heard(10 * DEAD, 1, 'b1');
    expect(m.view(10 * DEAD, 1).clusterd).toBe(true);
  });

  it('self follows its own ctdbd flags only', () => {
    const m = members();
    m.legacy(flags(0, NodeFlag.STOPPED));
    expect(m.stateOf(10 * DEAD, 0)).toBe('stopped');
    m.legacy(flags(0, 0));
    expect(m.stateOf(10 * DEAD, 0)).toBe('ok');
  });

  it('up for ranks: ok, unhealthy, disabled and running clusterd; sorted by pnn', () => {
    const m = new Membership(3, [5, 3, 1, 7], DEAD);
    for (const p of [1, 5, 7]) m.heard(0, p, `b${p}`);
    m.legacy([{ pnn: 1, flags: NodeFlag.UNHEALTHY }, { pnn: 5, flags: NodeFlag.STOPPED }, { pnn: 7, flags: NodeFlag.PERMANENTLY_DISABLED }]);
    expect(m.upClusterd(0)).toEqual([1, 3, 7]);
  });
});

describe('node-changed actions', () => {
  it('first view of every node, then only changes, and a restart (new boot id)', () => {
    const m = members();
    const out: Action[] = [];
    m.changes(0, out);
    expect(out.map((a) => a.kind === 'node-changed' && [a.node.pnn, a.node.state, a.previous])).toEqual([
      [0, 'ok', undefined], [1, 'unknown', undefined], [2, 'unknown', undefined],
    ]);
    out.length = 0;
    m.heard(5, 1, 'b1');
    m.changes(5, out);
    m.changes(6, out);
    expect(out).toEqual([expect.objectContaining({ kind: 'node-changed', previous: 'unknown', reason: 'heartbeat', node: expect.objectContaining({ pnn: 1, state: 'ok' }) })]);
    out.length = 0;
    m.heard(7, 1, 'b1-again');
    m.changes(7, out);
    expect(out).toEqual([expect.objectContaining({ previous: 'ok', reason: 'restarted (new boot id)' })]);
    out.length = 0;
    m.changes(8 + DEAD, out);
    expect(out).toEqual([expect.objectContaining({ previous: 'ok', reason: `no heartbeat for ${DEAD + 1} ms`, node: expect.objectContaining({ state: 'unreachable' }) })]);
  });
});
