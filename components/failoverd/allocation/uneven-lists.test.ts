import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { NodeFlag, RunState } from '../../../legacy/protocol/constants.ts';
import { allocate, type AllocationAlgorithm, type AllocationInput, type NodeReport } from './index.ts';

/**
 * Issue 10, case d: nodes whose public_addresses files differ. An address
 * only some nodes list can only go to those nodes; when none of them may
 * host it, it is hosted by nobody (-1); when none of them is connected it
 * is not in the run at all (ctdbd asks disconnected nodes nothing). Each
 * address is placed once. Observed the same on Debian's ctdbd 4.17
 * (compat-tests/public-addresses-bad-input.test.ts).
 */

const ALGORITHMS: AllocationAlgorithm[] = ['lcp2', 'deterministic', 'nondeterministic'];

function node(pnn: number, ips: Array<[string, number]>, flags = 0, runstate: number = RunState.RUNNING): NodeReport {
  return { pnn, flags, runstate, ips: ips.map(([ip, owner]) => ({ ip, pnn: owner, available: true })) };
}

function input(algorithm: AllocationAlgorithm, nodes: NodeReport[]): AllocationInput {
  return { algorithm, tunables: { NoIPFailback: 0, NoIPTakeover: 0, NoIPHostOnAllDisabled: 0 }, nodes };
}

const placed = (i: AllocationInput) => new Map(allocate(i).map((p) => [p.ip, p.pnn]));

describe('allocation with nodes that list different addresses', () => {
  for (const algorithm of ALGORITHMS) {
    it(`${algorithm}: an address only node 0 lists goes to node 0, also when it already sits elsewhere`, () => {
      const shared: Array<[string, number]> = [['10.1.1.1', -1], ['10.1.1.2', -1]];
      const p = placed(input(algorithm, [
        node(0, [...shared, ['10.1.1.3', -1]]),
        node(1, shared),
        node(2, shared),
      ]));
      expect(p.get('10.1.1.3')).toBe(0);
      // Node 1 claims it without listing it: the claim does not count.
      const claimed = placed(input(algorithm, [node(0, [['10.1.1.3', -1]]), node(1, [['10.1.1.4', 1]]), node(2, [])]));
      expect(claimed.get('10.1.1.3')).toBe(0);
    });

    it(`${algorithm}: nobody (-1) when the only node listing it may not host; absent when it is disconnected`, () => {
      const lists = (flags: number) => [
        node(0, [['10.1.1.1', 0], ['10.1.1.3', 0]], flags),
        node(1, [['10.1.1.1', -1]]),
        node(2, [['10.1.1.1', -1]]),
      ];
      for (const flags of [NodeFlag.UNHEALTHY, NodeFlag.BANNED, NodeFlag.STOPPED, NodeFlag.PERMANENTLY_DISABLED]) {
        const p = placed(input(algorithm, lists(flags)));
        expect(p.get('10.1.1.3'), `flags ${flags}`).toBe(-1);
        expect([1, 2]).toContain(p.get('10.1.1.1'));
      }
      const gone = placed(input(algorithm, lists(NodeFlag.DISCONNECTED)));
      expect(gone.has('10.1.1.3')).toBe(false);
      expect([1, 2]).toContain(gone.get('10.1.1.1'));
    });
  }

  it('property: every address once, on a node that lists it and may host, or -1 when there is none', () => {
    const pool = Array.from({ length: 8 }, (_, i) => `10.1.1.${i + 1}`);
    const nodeArb = fc.record({
      ips: fc.subarray(pool),
      flags: fc.constantFrom(0, 0, 0, NodeFlag.UNHEALTHY, NodeFlag.BANNED, NodeFlag.DISCONNECTED),
      owners: fc.array(fc.integer({ min: -1, max: 3 }), { minLength: 8, maxLength: 8 }),
    });
    fc.assert(fc.property(fc.constantFrom(...ALGORITHMS), fc.array(nodeArb, { minLength: 1, maxLength: 4 }), (algorithm, specs) => {
      const nodes = specs.map((s, pnn) => node(pnn, s.ips.map((ip, i) => [ip, s.owners[i]!]), s.flags));
      const out = allocate(input(algorithm, nodes));
      const ips = out.map((p) => p.ip);
      expect(new Set(ips).size).toBe(ips.length);
      const connected = nodes.filter((n) => (n.flags & NodeFlag.DISCONNECTED) === 0);
      expect(new Set(ips)).toEqual(new Set(connected.flatMap((n) => n.ips.map((i) => i.ip))));
      for (const { ip, pnn } of out) {
        const hosts = connected.filter((n) => n.flags === 0 && n.ips.some((i) => i.ip === ip)).map((n) => n.pnn);
        if (hosts.length === 0) expect(pnn, ip).toBe(-1);
        else expect(hosts, ip).toContain(pnn);
      }
    }), { numRuns: 400 });
  });
});
