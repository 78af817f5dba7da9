import { describe, expect, it } from 'vitest';
import { NodeFlag } from '../../../legacy/protocol/constants.ts';
import { allocate } from './index.ts';
import { ipalloc } from './ipalloc.ts';
import type { AllocationLogLevel } from './log.ts';
import { mergeAddresses } from './merge.ts';
import { placementLines, readSambaCases, stepInput } from './testing/samba-cases.ts';
import { ipallocState } from './state.ts';

/**
 * Samba 4.17.12's own IP allocation unit cases: the whole output of its
 * ctdb_takeover_tests tool (log lines at the case's level, LCP2 imbalance
 * figures included, then each address and its new owner) must come out
 * the same, and allocate() must place every address the same way.
 */

const cases = readSambaCases();

/** What ctdb_takeover_tests prints: ipalloc over the merged list, no can-host check. */
function toolOutput(input: ReturnType<typeof stepInput>, level: AllocationLogLevel): string[] {
  const out: string[] = [];
  const merged = mergeAddresses(input, { knownFromDisconnected: true });
  const state = ipallocState(merged, input.tunables, input.forceRebalanceNodes, { level, write: (_l, m) => out.push(m) });
  ipalloc(state, input.algorithm);
  merged.ips.forEach((ip, i) => out.push(`${ip} ${state.owners[i]}`));
  return out;
}

describe('Samba 4.17.12 takeover unit cases', () => {
  it('all 33 case files are here', () => {
    expect(cases.length).toBe(33);
    expect(cases.reduce((n, c) => n + c.steps.length, 0)).toBe(50);
  });

  for (const c of cases) {
    it(`${c.file}: ${c.title}`, () => {
      let previous: string[] = [];
      for (const step of c.steps) {
        const input = stepInput(c, step, previous);
        expect(toolOutput(input, c.logLevel)).toEqual(step.expected);
        // The helper never asks disconnected nodes, so only addresses some connected node knows are placed.
        const connectedKnow = new Set(input.nodes.filter((n) => (n.flags & NodeFlag.DISCONNECTED) === 0)
          .flatMap((n) => n.ips.map((r) => r.ip)));
        const expected = placementLines(step.expected);
        expect(allocate(input).map((p) => `${p.ip} ${p.pnn}`)).toEqual(expected.filter((l) => connectedKnow.has(l.split(' ')[0])));
        previous = expected;
      }
    });
  }
});
