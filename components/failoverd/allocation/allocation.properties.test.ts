import { describe, expect, it } from 'vitest';
import { prng } from '../../../legacy/common/testing/prng.ts';
import { addressKey, compareKeys } from './address-key.ts';
import { allocate, mergeReports, type AllocationInput } from './index.ts';
import type { AllocationLogLevel } from './log.ts';
import { randomInput } from './testing/random-input.ts';
import { referenceAllocate } from './testing/reference-ipalloc.ts';

/**
 * Properties of allocate() over seeded random inputs (IPv4 and IPv6 pools,
 * every node flag and run state, owners nodes disagree about, NoIPTakeover,
 * NoIPFailback, forced rebalancing). The oracle is testing/reference-ipalloc.ts,
 * a plain port of ctdbd's C (helper-cases.test.ts holds placements recorded
 * from the real ctdb_takeover_helper).
 */

const SEEDS = Array.from({ length: 300 }, (_, i) => i + 1);

function infoLines(input: AllocationInput, level: AllocationLogLevel = 'info'): { placements: string[]; info: string[] } {
  const lines: Array<[AllocationLogLevel, string]> = [];
  const placements = allocate(input, { log: { level, write: (l, m) => lines.push([l, m]) } }).map((p) => `${p.ip} ${p.pnn}`);
  return { placements, info: lines.filter(([l]) => l === 'info').map(([, m]) => m) };
}

describe('allocation properties', () => {
  it('places every address and logs every LCP2 move as the plain port of ctdbd does (small clusters)', () => {
    for (const seed of SEEDS) {
      const input = randomInput(prng(seed), { outOfRangeForce: true });
      const ref = referenceAllocate(input);
      const got = infoLines(input);
      expect(got.placements, `seed ${seed}`).toEqual(ref.placements.map((p) => `${p.ip} ${p.pnn}`));
      if (input.algorithm === 'lcp2') expect(got.info, `seed ${seed}`).toEqual(ref.info);
    }
  });

  it('the same on larger clusters', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const input = randomInput(prng(seed * 104729), { maxNodes: 12, maxAddresses: 90 });
      expect(allocate(input).map((p) => `${p.ip} ${p.pnn}`), `seed ${seed}`)
        .toEqual(referenceAllocate(input).placements.map((p) => `${p.ip} ${p.pnn}`));
    }
  });

  it('ctdbd\'s full scan (taken when debug logging) and the per-node heaps choose alike', () => {
    for (const seed of SEEDS) {
      const input = { ...randomInput(prng(seed), { maxNodes: 10, maxAddresses: 60 }), algorithm: 'lcp2' as const };
      expect(infoLines(input, 'debug'), `seed ${seed}`).toEqual(infoLines(input, 'info'));
    }
  });

  it('one placement per merged address, in ctdb\'s order, only on nodes that may host it; -1 only where nobody may', () => {
    for (const seed of SEEDS) {
      const input = randomInput(prng(seed));
      const known = mergeReports(input);
      const placed = allocate(input);
      expect(placed.map((p) => p.ip), `seed ${seed}`).toEqual(known.map((k) => k.ip));
      for (let i = 1; i < known.length; i++) {
        expect(compareKeys(addressKey(known[i - 1].ip), addressKey(known[i].ip)), `seed ${seed}`).toBe(1);
      }
      placed.forEach((p, i) => {
        const k = known[i];
        if (p.pnn !== -1) expect(k.availableOn, `seed ${seed} ${p.ip}`).toContain(p.pnn);
        else if (!input.tunables.NoIPTakeover) expect(k.availableOn, `seed ${seed} ${p.ip}`).toEqual([]);
      });
    }
  });

  it('NoIPTakeover (LCP2, non-deterministic): owners that may still host keep their addresses, nobody gains one', () => {
    for (const seed of SEEDS) {
      const base = randomInput(prng(seed));
      if (base.algorithm === 'deterministic') continue;
      const input = { ...base, tunables: { ...base.tunables, NoIPTakeover: 1 } };
      const known = mergeReports(input);
      allocate(input).forEach((p, i) => {
        const { owner, availableOn } = known[i];
        expect(p.pnn, `seed ${seed} ${p.ip}`).toBe(owner !== -1 && availableOn.includes(owner) ? owner : -1);
      });
    }
  });

  it('NoIPFailback (LCP2, non-deterministic): owners that may still host keep their addresses', () => {
    for (const seed of SEEDS) {
      const base = randomInput(prng(seed));
      if (base.algorithm === 'deterministic') continue;
      const input = { ...base, tunables: { ...base.tunables, NoIPFailback: 1 } };
      const known = mergeReports(input);
      allocate(input).forEach((p, i) => {
        const { owner, availableOn } = known[i];
        if (owner !== -1 && availableOn.includes(owner)) expect(p.pnn, `seed ${seed} ${p.ip}`).toBe(owner);
      });
    }
  });

  it('deterministic: the address at list position i is on node i mod n whenever that node may host it', () => {
    for (const seed of SEEDS) {
      const base = randomInput(prng(seed));
      const input = { ...base, algorithm: 'deterministic' as const, tunables: { ...base.tunables, NoIPTakeover: 0 } };
      const numNodes = Math.max(...input.nodes.map((n) => n.pnn)) + 1;
      const known = mergeReports(input);
      allocate(input).forEach((p, i) => {
        if (known[i].availableOn.includes(i % numNodes)) expect(p.pnn, `seed ${seed} ${p.ip}`).toBe(i % numNodes);
      });
    }
  });

  it('pure: the input is left as it was, the same input gives the same answer, report order does not matter', () => {
    for (const seed of SEEDS.slice(0, 100)) {
      const rand = prng(seed);
      const input = randomInput(rand);
      const copy = structuredClone(input);
      const first = allocate(input);
      expect(input).toEqual(copy);
      expect(allocate(input)).toEqual(first);
      const shuffled = { ...input, nodes: [...input.nodes].reverse().map((n) => ({ ...n, ips: [...n.ips].reverse() })) };
      expect(allocate(shuffled), `seed ${seed}`).toEqual(first);
    }
  });
});
