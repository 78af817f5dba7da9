import { describe, expect, it } from 'vitest';
import { NodeFlag, RunState } from '../../../legacy/protocol/constants.ts';
import { allocate, AllocationInputError, mergeReports, type AllocationInput, type NodeReport } from './index.ts';

function node(pnn: number, ips: Array<[string, number, boolean?]>, flags = 0, runstate: number = RunState.RUNNING): NodeReport {
  return { pnn, flags, runstate, ips: ips.map(([ip, owner, available]) => ({ ip, pnn: owner, available: available ?? true })) };
}

function input(nodes: NodeReport[], extra: Partial<AllocationInput> = {}): AllocationInput {
  return { algorithm: 'lcp2', tunables: { NoIPFailback: 0, NoIPTakeover: 0, NoIPHostOnAllDisabled: 0 }, nodes, ...extra };
}

describe('mergeReports (ctdb\'s merged address list)', () => {
  it('runs from the largest key down: IPv6 above IPv4, numeric not textual order', () => {
    const ips = ['10.0.0.2', 'fd00::1', '10.0.0.10', '9.255.255.255', 'fd00::0:2', '::ffff:1.2.3.4', '2001:db8::1'];
    expect(mergeReports(input([node(0, ips.map((ip) => [ip, -1]))])).map((k) => k.ip))
      .toEqual(['fd00::0:2', 'fd00::1', '2001:db8::1', '::ffff:1.2.3.4', '10.0.0.10', '10.0.0.2', '9.255.255.255']);
  });

  it('owner: only a node naming itself counts; of several, the highest PNN; disconnected nodes are not asked', () => {
    const known = mergeReports(input([
      node(0, [['10.0.0.1', 0], ['10.0.0.2', 2], ['10.0.0.3', 1], ['10.0.0.4', 0]]),
      node(1, [['10.0.0.1', 1], ['10.0.0.2', 2], ['10.0.0.4', -1]]),
      node(2, [['10.0.0.2', 2], ['10.0.0.5', 2]], NodeFlag.DISCONNECTED),
    ]));
    expect(known.map((k) => [k.ip, k.owner])).toEqual([['10.0.0.4', 0], ['10.0.0.3', -1], ['10.0.0.2', -1], ['10.0.0.1', 1]]);
  });

  it('known on every connected node that lists it; available only where the node reports it and may host at all', () => {
    const ip = '10.0.0.1';
    const known = mergeReports(input([
      node(0, [[ip, -1]]),
      node(1, [[ip, -1, false]]),
      node(2, [[ip, -1]], NodeFlag.UNHEALTHY),
      node(3, [[ip, -1]], NodeFlag.PERMANENTLY_DISABLED),
      node(4, [[ip, -1]], NodeFlag.BANNED),
      node(5, [[ip, -1]], NodeFlag.STOPPED),
      node(6, [[ip, -1]], NodeFlag.DISCONNECTED),
      node(7, [[ip, -1]], 0, RunState.STARTUP),
      node(8, []),
      node(9, [[ip, -1]]),
    ]));
    expect(known).toEqual([{ ip, owner: -1, knownOn: [0, 1, 2, 3, 4, 5, 7, 9], availableOn: [0, 9] }]);
  });

  it('an IPv4 address and the IPv6 ::a.b.c.d share a key: one entry, spelled as last reported; the other family is not "known"', () => {
    const known = mergeReports(input([node(0, [['10.0.0.1', 0]]), node(1, [['::10.0.0.1', -1]])]));
    expect(known).toEqual([{ ip: '::10.0.0.1', owner: 0, knownOn: [1], availableOn: [1] }]);
  });

  it('nodes may be listed in any order; missing PNNs count as nodes that know nothing', () => {
    const known = mergeReports(input([node(3, [['10.0.0.1', 3]]), node(1, [['10.0.0.1', -1]])]));
    expect(known).toEqual([{ ip: '10.0.0.1', owner: 3, knownOn: [1, 3], availableOn: [1, 3] }]);
    // Deterministic counts the missing nodes: position 0 goes "home" to node 0, which cannot host it.
    expect(allocate(input([node(3, [['10.0.0.1', 3]]), node(1, [['10.0.0.1', -1]])], { algorithm: 'deterministic' })))
      .toEqual([{ ip: '10.0.0.1', pnn: 1 }]);
  });

  it('rejects what ctdbd could not have sent, with AllocationInputError', () => {
    expect(() => mergeReports(input([node(0, [['10.0.0.300', -1]])]))).toThrow(AllocationInputError);
    expect(() => mergeReports(input([node(0, [['fd00::1', -1]]), node(0, [])]))).toThrow(/node 0 is reported twice/);
    expect(() => mergeReports(input([node(-1, [])]))).toThrow(/PNN must be an integer/);
    expect(() => mergeReports(input([node(1.5, [])]))).toThrow(AllocationInputError);
  });
});

describe('allocate', () => {
  it('an empty cluster, or addresses nobody hosts nor may host: nothing allocated, every owner -1, one notice', () => {
    const lines: string[] = [];
    const log = { level: 'debug' as const, write: (level: string, m: string) => lines.push(`${level}: ${m}`) };
    expect(allocate(input([node(0, [])]), { log })).toEqual([]);
    expect(allocate(input([node(0, [['10.0.0.1', -1, false]]), node(1, [['10.0.0.1', -1]], NodeFlag.BANNED)]), { log }))
      .toEqual([{ ip: '10.0.0.1', pnn: -1 }]);
    expect(lines).toEqual(['notice: No nodes available to host public IPs yet', 'notice: No nodes available to host public IPs yet']);
  });

  it('a hosted address keeps the run going even with nothing available: the owner loses it', () => {
    expect(allocate(input([node(0, [['10.0.0.1', 0]], NodeFlag.UNHEALTHY)]))).toEqual([{ ip: '10.0.0.1', pnn: -1 }]);
    expect(allocate(input([node(0, [['10.0.0.1', -1]]), node(1, [['10.0.0.1', 1]], NodeFlag.BANNED)])))
      .toEqual([{ ip: '10.0.0.1', pnn: 0 }]);
  });

  it('LCP2 forced rebalancing: announced per node, unknown nodes reported and ignored', () => {
    const lines: string[] = [];
    const ips: Array<[string, number]> = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'].map((ip) => [ip, 0]);
    const placed = allocate(input([node(0, ips), node(1, ips)], { forceRebalanceNodes: [1, 7] }),
      { log: { level: 'notice', write: (level, m) => lines.push(`${level}: ${m}`) } });
    expect(lines).toEqual(['notice: Forcing rebalancing of IPs to node 1', 'error: unknown node 7']);
    expect(placed.filter((p) => p.pnn === 1).length).toBe(2);
    // Without forcing, node 1 already hosting nothing is a candidate anyway; with both hosting, nothing moves.
    const both = ips.map(([ip], i): [string, number] => [ip, i === 0 ? 1 : 0]);
    expect(allocate(input([node(0, both), node(1, both)])).map((p) => p.pnn)).toEqual([0, 0, 0, 1]);
    expect(allocate(input([node(0, both), node(1, both)], { forceRebalanceNodes: [1] })).map((p) => p.pnn)).toEqual([0, 1, 0, 1]);
  });

  it('unknown algorithm names are a TypeError, not a silent default', () => {
    expect(() => allocate(input([node(0, [['10.0.0.1', -1]])], { algorithm: 'round-robin' as never }))).toThrow(TypeError);
  });
});
