import { describe, expect, test } from 'vitest';
import { NodeFlag } from '../../legacy/protocol/constants.ts';
import { DifferenceCounter } from '../framework/differences.ts';
import { differences } from './shadow.ts';
import { Subscribers } from './subscribers.ts';

const nodes = (states: string[]) => states.map((state, pnn) => ({ pnn, state, clusterd: true }));

describe('shadow comparison with ctdbd', () => {
  test('a node up for one side and down for the other, and another leader, are differences', () => {
    const legacy = { nodes: [{ pnn: 0, flags: 0 }, { pnn: 1, flags: 0 }, { pnn: 2, flags: NodeFlag.DISCONNECTED | NodeFlag.INACTIVE }], leader: 1 };
    expect(differences({ nodes: nodes(['ok', 'unreachable', 'disconnected']), leader: 0, legacy })).toEqual([
      { subject: 'node 1', ours: 'unreachable', legacy: 'connected' },
      { subject: 'leader', ours: '0', legacy: '1' },
    ]);
    expect(differences({ nodes: nodes(['ok', 'ok', 'disconnected']), leader: 1, legacy })).toEqual([]);
    // Without ctdbd's view there is nothing to compare; unhealthy is still up.
    expect(differences({ nodes: nodes(['ok']), leader: 0, legacy: undefined })).toEqual([]);
    expect(differences({ nodes: nodes(['unhealthy']), leader: undefined, legacy: { nodes: [{ pnn: 0, flags: NodeFlag.UNHEALTHY }], leader: 0 } })).toEqual([]);
  });

  test('the running count counts a difference once while it lasts, and again when it comes back', () => {
    const c = new DifferenceCounter();
    const d = { subject: 'leader', ours: '0', legacy: '1' };
    expect(c.update([d])).toEqual([d]);
    expect(c.update([d])).toEqual([]);
    expect(c.total).toBe(1);
    c.update([]);
    c.update([d]);
    expect(c.total).toBe(2);
    expect(c.current).toEqual([d]);
  });
});

describe('subscribers', () => {
  test('renewal keeps a subscription, silence drops it, the table is bounded', () => {
    const s = new Subscribers(1000, 2);
    s.add({ node: 0, service: 0x80000001 }, 0);
    s.add({ node: 0, service: 0x80000002 }, 500);
    s.add({ node: 0, service: 0x80000001 }, 900);
    expect(s.current(1200)).toEqual([{ node: 0, service: 0x80000002 }, { node: 0, service: 0x80000001 }]);
    expect(s.current(1600)).toEqual([{ node: 0, service: 0x80000001 }]);
    s.add({ node: 1, service: 5 }, 1600);
    s.add({ node: 2, service: 5 }, 1600);
    expect(s.size).toBe(2);
    expect(s.current(1600)).toEqual([{ node: 1, service: 5 }, { node: 2, service: 5 }]);
  });
});
