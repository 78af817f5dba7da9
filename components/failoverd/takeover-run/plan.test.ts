import { describe, expect, it } from 'vitest';
import type { AllocationInput, NodeReport } from '../allocation/types.ts';
import { DEFAULT_ALLOCATION_TUNABLES } from '../allocation/types.ts';
import { BanCredits } from './ban-credits.ts';
import { canHostIps, compareHelperOrder, currentOwners, movesOf, planIpreallocatedOnly, planTakeoverRun } from './plan.ts';

function node(pnn: number, flags: number, ips: Array<[string, number, boolean?]>): NodeReport {
  return { pnn, flags, runstate: 5, ips: ips.map(([ip, owner, available]) => ({ ip, pnn: owner, available: available ?? true })) };
}

function input(nodes: NodeReport[]): AllocationInput {
  return { algorithm: 'lcp2', tunables: DEFAULT_ALLOCATION_TUNABLES, nodes };
}

describe('takeover plan', () => {
  it('orders addresses as ctdb\'s merged list: descending key, IPv6 above IPv4', () => {
    const ips = ['10.0.0.2', 'fd00::1', '10.0.0.10', '9.255.255.255', 'fd00::0:2', '::ffff:1.2.3.4'];
    expect([...ips].sort(compareHelperOrder)).toEqual(['fd00::0:2', 'fd00::1', '::ffff:1.2.3.4', '10.0.0.10', '10.0.0.2', '9.255.255.255']);
  });

  it('releases every address (moving or not) on every connected node that knows it except the new owner; takes every assigned one', () => {
    const cluster = input([
      node(0, 0, [['10.0.0.1', 0], ['10.0.0.2', 1]]),
      node(1, 0x02, [['10.0.0.1', 0], ['10.0.0.2', 1], ['10.0.0.3', -1]]),
      node(2, 0x01, []), // disconnected: never asked, knows nothing
      node(3, 0x08, [['10.0.0.2', 1], ['10.0.0.3', -1]]), // banned but connected: told too
    ]);
    const plan = planTakeoverRun(cluster, [{ ip: '10.0.0.1', pnn: 0 }, { ip: '10.0.0.2', pnn: 0 }, { ip: '10.0.0.3', pnn: -1 }]);
    expect(plan.releases).toEqual([
      { ip: '10.0.0.3', pnn: -1, nodes: [1, 3] },
      { ip: '10.0.0.2', pnn: 0, nodes: [1, 3] },
      { ip: '10.0.0.1', pnn: 0, nodes: [1] },
    ]);
    expect(plan.takeovers).toEqual([{ ip: '10.0.0.2', pnn: 0 }, { ip: '10.0.0.1', pnn: 0 }]);
    expect(plan.ipreallocated).toEqual([0, 1, 3]);
    expect(movesOf(cluster, [{ ip: '10.0.0.1', pnn: 0 }, { ip: '10.0.0.2', pnn: 0 }, { ip: '10.0.0.3', pnn: -1 }]))
      .toEqual([{ ip: '10.0.0.2', from: 1, to: 0 }]);
  });

  it('an address the placement does not name is released to -1 and not taken', () => {
    const plan = planTakeoverRun(input([node(0, 0, [['fd00::5', 0]])]), []);
    expect(plan).toEqual({ releases: [{ ip: 'fd00::5', pnn: -1, nodes: [0] }], takeovers: [], ipreallocated: [0] });
  });

  it('only IPREALLOCATED when failover is disabled or nobody can host yet', () => {
    expect(planIpreallocatedOnly([0, 2])).toEqual({ releases: [], takeovers: [], ipreallocated: [0, 2] });
  });

  it('owner: a node naming itself; of several, the highest PNN; reports about others and disconnected nodes do not count', () => {
    const owners = currentOwners(input([
      node(0, 0, [['10.0.0.1', 0], ['10.0.0.2', 2], ['10.0.0.3', 1]]),
      node(1, 0, [['10.0.0.1', 1], ['10.0.0.2', 2]]),
      node(2, 0x01, [['10.0.0.2', 2]]),
    ]));
    expect(owners).toEqual(new Map([['10.0.0.1', 1], ['10.0.0.2', -1], ['10.0.0.3', -1]]));
  });

  it('can host: an address is hosted, or none is and some node has one available', () => {
    expect(canHostIps(input([node(0, 0, []), node(1, 0, [])]))).toBe(false);
    expect(canHostIps(input([node(0, 0, [['10.0.0.1', -1, false]])]))).toBe(false);
    expect(canHostIps(input([node(0, 0, [['10.0.0.1', -1, false]]), node(1, 0, [['10.0.0.1', -1, true]])]))).toBe(true);
    expect(canHostIps(input([node(0, 0x02, [['10.0.0.1', 0, false]])]))).toBe(true);
    expect(canHostIps(input([node(0, 0, [['10.0.0.1', 1, false]])]))).toBe(false);
  });
});

describe('banning credits', () => {
  it('the culprit has the most credits; the lowest PNN among equals', () => {
    const c = new BanCredits();
    expect(c.culprit()).toBeUndefined();
    c.add(2);
    c.add(1);
    expect(c.culprit()).toBe(1);
    c.add(2);
    expect(c.culprit()).toBe(2);
    expect(c.toObject()).toEqual({ 1: 1, 2: 2 });
  });
});
