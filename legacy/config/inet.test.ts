import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inetNtop4, inetNtop6, inetPton4, inetPton6, parseCtdbAddress } from './inet.ts';
import { INET_GOLDENS } from './testing/goldens.ts';
import { address6, spell, spelling } from './testing/ipv6-spellings.ts';

const bytes16 = fc.uint8Array({ minLength: 16, maxLength: 16 });

describe('inet_pton / inet_ntop as glibc', () => {
  it('matches the glibc goldens', () => {
    for (const g of INET_GOLDENS) {
      const b = g.family === 4 ? inetPton4(g.text) : inetPton6(g.text);
      const text = b === undefined ? null : g.family === 4 ? inetNtop4(b) : inetNtop6(b);
      expect(text, JSON.stringify(g.text)).toBe(g.ntop);
    }
  });

  it('ntop output parses back to the same bytes and is a fixed point', () => {
    fc.assert(fc.property(bytes16, (b) => {
      const text = inetNtop6(b);
      expect(inetPton6(text)).toEqual(b);
      expect(inetNtop6(inetPton6(text)!)).toBe(text);
    }), { numRuns: 1000 });
  });

  it('every spelling of one address normalises to the same text', () => {
    fc.assert(fc.property(address6, spelling, spelling, (b, s1, s2) => {
      const a = inetPton6(spell(b, s1));
      const c = inetPton6(spell(b, s2));
      expect(a, spell(b, s1)).toEqual(b);
      expect(c, spell(b, s2)).toEqual(b);
      expect(inetNtop6(a!)).toBe(inetNtop6(c!));
    }), { numRuns: 1500 });
  });

  it('ctdb reads an IPv4-mapped address as IPv4 only when it is written dotted', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), spelling, (v4, s) => {
      const b = new Uint8Array(16);
      b[10] = 0xff; b[11] = 0xff; b.set(v4, 12);
      const text = spell(b, s);
      const addr = parseCtdbAddress(text);
      if (s.dotted) expect(addr).toEqual({ family: 4, bytes: v4, text: inetNtop4(v4) });
      else expect(addr, text).toBeUndefined();
    }), { numRuns: 1000 });
  });

  it('ctdb accepts IPv6 in brackets but not IPv4', () => {
    expect(parseCtdbAddress('[FD00::1]')?.text).toBe('fd00::1');
    expect(parseCtdbAddress('[::ffff:1.2.3.4]')?.text).toBe('1.2.3.4');
    expect(parseCtdbAddress('[1.2.3.4]')).toBeUndefined();
    expect(parseCtdbAddress('[fd00::1')).toBeUndefined();
  });
});
