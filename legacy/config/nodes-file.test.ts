import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OperatorFileError } from './errors.ts';
import { inetNtop4, inetNtop6 } from './inet.ts';
import { formatNodesFile, nodeByAddress, parseNodesFile, type NodeEntry } from './nodes-file.ts';
import { NODES_GOLDENS } from './testing/goldens.ts';

function entries(text: string): string[] {
  return parseNodesFile(text, 'nodes').nodes.map((n) => (n.deleted ? '#' : n.address));
}

/** A node as inet_ntop would print it, or a deleted one. */
const node = fc.oneof(
  fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => ({ address: inetNtop4(b), deleted: false })),
  fc.uint8Array({ minLength: 16, maxLength: 16 })
    // IPv4-mapped addresses are IPv4 to ctdb; they get their own test.
    .filter((b) => !(b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff))
    .map((b) => ({ address: inetNtop6(b), deleted: false })),
  fc.constant({ address: '0.0.0.0', deleted: true }),
);

const blanks = fc.array(fc.constantFrom(' ', '\t'), { maxLength: 3 }).map((a) => a.join(''));

/** The same list written with noise ctdb ignores: blank lines, blanks around, CRLF, comments on deleted lines. */
function noisy(nodes: Array<{ address: string; deleted: boolean }>, noise: Array<{ before: string; after: string; blankLines: number; crlf: boolean; comment: string }>): string {
  return nodes.map((n, i) => {
    const z = noise[i % noise.length];
    const eol = z.crlf ? '\r\n' : '\n';
    const text = n.deleted ? `#${z.comment}` : n.address;
    return `${z.before}${text}${z.after}${eol}` + (z.before + eol).repeat(z.blankLines);
  }).join('');
}

const noiseItem = fc.record({
  before: blanks,
  after: blanks,
  blankLines: fc.nat({ max: 2 }),
  crlf: fc.boolean(),
  comment: fc.constantFrom('', ' retired 10.0.0.9', '#', ' x y'),
});

describe('nodes file', () => {
  // Verified with `ctdb -X listnodes` (Debian ctdb 4.17.12); see testing/goldens.ts.
  for (const g of NODES_GOLDENS) {
    it(`golden: ${g.name}`, () => {
      if ('nodes' in g) {
        expect(entries(g.text)).toEqual(g.nodes);
      } else {
        const err = (() => { try { parseNodesFile(g.text, '/etc/ctdb/nodes'); } catch (e) { return e; } })();
        expect(err).toBeInstanceOf(OperatorFileError);
        expect(err).toMatchObject({ file: '/etc/ctdb/nodes', line: g.error.line, reason: g.error.reason, code: 'INVALID' });
      }
    });
  }

  it('numbers nodes by position, deleted ones included', () => {
    expect(parseNodesFile('10.0.0.1\n#\n10.0.0.3\n').nodes).toEqual<NodeEntry[]>([
      { pnn: 0, address: '10.0.0.1', deleted: false },
      { pnn: 1, address: '0.0.0.0', deleted: true },
      { pnn: 2, address: '10.0.0.3', deleted: false },
    ]);
  });

  it('warns about a duplicate, naming both lines', () => {
    const { warnings } = parseNodesFile('10.0.0.1\n\n::ffff:10.0.0.1\n', 'n');
    expect(warnings).toEqual([{ file: 'n', line: 3, reason: expect.stringMatching(/10\.0\.0\.1 is already node 0 \(line 1\)/) }]);
  });

  it('finds a node by any spelling of its address, first live entry first', () => {
    const { nodes } = parseNodesFile('fd00::1\n#\n10.0.0.2\n10.0.0.2\n');
    expect(nodeByAddress(nodes, 'FD00:0::1')?.pnn).toBe(0);
    expect(nodeByAddress(nodes, '::ffff:10.0.0.2')?.pnn).toBe(2);
    expect(nodeByAddress(nodes, '0.0.0.0')).toBeUndefined();
  });

  it('property: formatting a list and reading it back gives the list', () => {
    fc.assert(fc.property(fc.array(node, { maxLength: 20 }), (list) => {
      expect(entries(formatNodesFile(list))).toEqual(list.map((n) => (n.deleted ? '#' : n.address)));
    }), { numRuns: 500 });
  });

  it('property: blank lines, blanks, CRLF and comment text do not change the result', () => {
    fc.assert(fc.property(fc.array(node, { maxLength: 12 }), fc.array(noiseItem, { minLength: 1, maxLength: 5 }), (list, noise) => {
      expect(entries(noisy(list, noise))).toEqual(entries(formatNodesFile(list)));
    }), { numRuns: 500 });
  });

  it('property: a bad line is reported with its own line number', () => {
    const bad = fc.constantFrom('10.0.0.1 # x', 'host.example', '10.0.0.256', '1::2::3', '10.0.0.1/24');
    fc.assert(fc.property(fc.array(node, { maxLength: 8 }), fc.nat(), bad, (list, at, line) => {
      const lines = formatNodesFile(list).split('\n').slice(0, -1);
      const i = at % (lines.length + 1);
      lines.splice(i, 0, line);
      expect(() => parseNodesFile(lines.join('\n') + '\n')).toThrow(expect.objectContaining({ line: i + 1, reason: `Invalid IP address ${line}` }));
    }), { numRuns: 300 });
  });
});
