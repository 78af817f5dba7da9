import { describe, expect, it } from 'vitest';
import { allocate } from './index.ts';
import { placementLines, readSambaCases, stepInput } from './testing/samba-cases.ts';

/**
 * IPv6 and mixed-family cases (Samba 4.17.12's unit cases have none):
 * inputs in the Samba case format, expected placements recorded from
 * Debian's ctdb_takeover_helper 4.17.12 run against a scripted ctdbd.
 */

const cases = readSambaCases(new URL('./helper-cases/', import.meta.url).pathname);

describe('cases recorded from the real ctdb_takeover_helper', () => {
  it('are all here', () => {
    expect(cases.map((c) => c.file)).toEqual(['001', '002', '003', '004', '005', '006', '007', '008'].map((n) => `ipv6.${n}.txt`));
  });

  for (const c of cases) {
    it(`${c.file}: ${c.title}`, () => {
      const [step] = c.steps;
      expect(allocate(stepInput(c, step)).map((p) => `${p.ip} ${p.pnn}`)).toEqual(placementLines(step.expected));
    });
  }
});
