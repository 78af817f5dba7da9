import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OperatorFileError } from './errors.ts';
import { inetNtop4, inetNtop6 } from './inet.ts';
import { formatPublicAddresses, parsePublicAddresses, type PublicAddress } from './public-addresses.ts';
import { PUBLIC_ADDRESSES_GOLDENS } from './testing/goldens.ts';

/** The host the goldens were verified on: 'lo' is its only interface we rely on. */
const onlyLo = (name: string) => name === 'lo';

function summary(text: string, interfaceExists?: (n: string) => boolean): string[] {
  return parsePublicAddresses(text, { interfaceExists }).addresses.map((a) => `${a.address}/${a.prefixLength} ${a.interfaces.join(',')}`);
}

const ifaceName = fc.constantFrom('eth0', 'eth1', 'bond0', 'ens3', 'lo', 'br-public', 'veth.12');

const publicAddress = fc.record({
  v6: fc.boolean(),
  b: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  mask: fc.integer({ min: 0, max: 128 }),
  interfaces: fc.array(ifaceName, { minLength: 1, maxLength: 3 }),
}).map(({ v6, b, mask, interfaces }): PublicAddress => {
  b[0] = 0xfd; // never IPv4-mapped
  return v6
    ? { address: inetNtop6(b), prefixLength: mask, interfaces }
    : { address: inetNtop4(b), prefixLength: mask % 33, interfaces };
});

/** Distinct addresses (the same address twice is refused). */
const addressList = fc.uniqueArray(publicAddress, { selector: (a) => a.address, maxLength: 12 });

describe('public_addresses', () => {
  // Verified by starting Debian's ctdbd 4.17.12 in test mode with each file; see testing/goldens.ts.
  for (const g of PUBLIC_ADDRESSES_GOLDENS) {
    it(`golden: ${g.name}`, () => {
      if ('addresses' in g) {
        expect(summary(g.text, onlyLo)).toEqual(g.addresses);
      } else {
        const err = (() => { try { parsePublicAddresses(g.text, { file: 'pa', interfaceExists: onlyLo }); } catch (e) { return e; } })();
        expect(err).toBeInstanceOf(OperatorFileError);
        expect(err).toMatchObject({ file: 'pa', line: g.error.line, code: 'INVALID' });
        expect((err as OperatorFileError).reason).toMatch(g.error.reason);
      }
    });
  }

  it('warns about what ctdbd accepts silently', () => {
    const { warnings } = parsePublicAddresses('10.0.0.1/40 eth0 x\nfd00::1/64 ,\n', { file: 'pa' });
    expect(warnings.map((w) => [w.line, w.reason.replace(/ .*/, '')])).toEqual([[1, 'ignoring'], [1, 'mask'], [2, 'fd00::1']]);
  });

  it('without a host check every interface name is taken', () => {
    expect(summary('10.0.0.1/24 eth99,eth98\n')).toEqual(['10.0.0.1/24 eth99,eth98']);
    expect(() => parsePublicAddresses('10.0.0.1/24 abcdefghijklmnopq\n')).toThrow(/longer than 16/);
  });

  it('property: formatting a list and reading it back gives the list', () => {
    fc.assert(fc.property(addressList, (list) => {
      expect(parsePublicAddresses(formatPublicAddresses(list)).addresses).toEqual(list);
    }), { numRuns: 500 });
  });

  it('property: comments, blank lines, blanks, extra fields and CRLF do not change the result', () => {
    const noise = fc.record({
      lead: fc.constantFrom('', ' ', '\t', ' \t '),
      sep: fc.constantFrom(' ', '\t', '  ', ' \t'),
      tail: fc.constantFrom('', ' ', ' # note', '\tspare field'),
      eol: fc.constantFrom('\n', '\r\n'),
      comment: fc.constantFrom('', '# comment\n', '  #x\n', '\n', ' \t\n'),
    });
    fc.assert(fc.property(addressList, fc.array(noise, { minLength: 1, maxLength: 4 }), (list, noises) => {
      const text = list.map((a, i) => {
        const z = noises[i % noises.length];
        return `${z.comment}${z.lead}${a.address}/${a.prefixLength}${z.sep}${a.interfaces.join(',')}${z.tail}${z.eol}`;
      }).join('');
      expect(parsePublicAddresses(text).addresses).toEqual(list);
    }), { numRuns: 500 });
  });
});
