import fc from 'fast-check';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cStrtol, parseCtdbConf, parseCtdbDebugLevel, parseLogLocation, tiniLines, type CtdbConfKey } from './ctdb-conf.ts';
import { OperatorFileError } from './errors.ts';
import { loadCtdbConf } from './load.ts';
import { CTDB_CONF_GOLDENS } from './testing/goldens.ts';

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'ctdb-conf-')); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

/** Loads `text` as DIR/ctdb.conf (path checks included) or returns the error. */
async function load(text: string, unknown: 'ignore' | 'reject') {
  const file = join(dir, 'ctdb.conf');
  await writeFile(file, text);
  return loadCtdbConf(file, { unknown }).catch((e: unknown) => e as OperatorFileError);
}

/** What `ctdb-config get` prints for a value. */
function printed(v: unknown): string {
  return v === undefined ? '' : String(v);
}

describe('ctdb.conf', () => {
  // Verified with `ctdb-config validate` / `ctdb-config get` and, for the ctdbd column,
  // by starting ctdbd 4.17.12 in test mode; see testing/goldens.ts.
  for (const g of CTDB_CONF_GOLDENS) {
    it(`golden: ${g.name}`, async () => {
      const strict = await load(g.text, 'reject');
      if (g.validate === 'accept') {
        expect(strict).not.toBeInstanceOf(Error);
        if (strict instanceof Error) return;
        for (const [key, value] of Object.entries(g.values ?? {})) expect(printed(strict.values[key as CtdbConfKey]), key).toBe(value);
      } else {
        expect(strict).toBeInstanceOf(OperatorFileError);
        expect((strict as OperatorFileError).line).toBe(g.validate.line);
        expect((strict as OperatorFileError).reason).toMatch(g.validate.reason);
      }
      const lenient = await load(g.text, 'ignore');
      const ctdbd = g.ctdbd ?? (g.validate === 'accept' ? 'accept' : undefined);
      if (ctdbd === 'accept') expect(lenient).not.toBeInstanceOf(Error);
      if (ctdbd === 'refuse') expect(lenient).toBeInstanceOf(OperatorFileError);
    });
  }

  it('turns what ctdbd ignores into warnings with lines', () => {
    const { warnings, lines } = parseCtdbConf('[bogus]\nx = 1\n[cluster]\nnode adress = 1.2.3.4\njunk\nrecovery lock = /l\n', { file: 'c' });
    expect(warnings.map((w) => w.line)).toEqual([1, 4, 5, 6]);
    expect(warnings[3].reason).toMatch(/deprecated/);
    expect(lines).toEqual({ 'cluster/recovery lock': 6 });
  });

  it('reports the line where a dropped file stops', () => {
    const conf = parseCtdbConf('[cluster]\nleader timeout = 3\n\n[cluster\n', { file: 'c' });
    expect(conf.lines).toEqual({});
    expect(conf.warnings).toEqual([{ file: 'c', line: 4, reason: expect.stringMatching(/no closing '\]'.*defaults for every setting/) }]);
  });

  it('numbers logical lines from where they start', () => {
    expect(tiniLines('a\\\nb\n\n  ; c\n\tx  =  y \n')).toEqual([{ line: 1, text: 'ab' }, { line: 5, text: 'x = y ' }]);
  });

  it('reads numbers, debug levels and log locations like ctdb', () => {
    expect(['7x', '0x10', '010', '08', ' -3', 'abc', '0x', '99999999999999999999'].map((s) => cStrtol(s))).toEqual([7n, 16n, 8n, 0n, -3n, 0n, 0n, (1n << 63n) - 1n]);
    expect(['ERROR', 'w', 'Notice', 'inf', 'DEBUG', '4x', '10', '11', 'NOTICEX', 'loud'].map(parseCtdbDebugLevel))
      .toEqual([0, 1, 3, 5, 10, 4, 10, undefined, undefined, undefined]);
    expect(parseLogLocation('file:/var/log/x:y')).toEqual({ kind: 'file', path: '/var/log/x' });
    expect(parseLogLocation('::syslog::udp')).toEqual({ kind: 'syslog', option: 'udp' });
    expect(parseLogLocation('stderr')).toBeUndefined();
  });

  it('property: comments, blank lines, blanks and section case do not change the values', () => {
    const setting = fc.constantFrom<[string, string, string]>(
      ['cluster', 'leader timeout', '7'], ['cluster', 'node address', '10.1.2.3'], ['cluster', 'cluster lock', '/shared/lock'],
      ['legacy', 'start as disabled', 'yes'], ['failover', 'disabled', 'true'], ['logging', 'log level', 'INFO'],
      ['database', 'tdb mutexes', 'false'], ['cluster', 'leader capability', 'no'],
    );
    const noise = fc.record({
      lead: fc.constantFrom('', ' ', '\t', '  \t'),
      aroundEq: fc.constantFrom(['', ''], [' ', ' '], ['\t', '  '], ['  ', '\t']),
      trail: fc.constantFrom('', ' ', '\t'),
      comment: fc.constantFrom('', '# c\n', '; c\n', '   # indented\n', '\n', ' \t\n'),
      upper: fc.boolean(),
    });
    fc.assert(fc.property(fc.uniqueArray(setting, { selector: (s) => `${s[0]}/${s[1]}`, maxLength: 8 }), fc.array(noise, { minLength: 1, maxLength: 4 }), (settings, noises) => {
      const plain = settings.map(([s, k, v]) => `[${s}]\n${k} = ${v}\n`).join('');
      const messy = settings.map(([s, k, v], i) => {
        const z = noises[i % noises.length];
        return `${z.comment}${z.lead}[${z.upper ? s.toUpperCase() : s}]\n${z.comment}${z.lead}${k}${z.aroundEq[0]}=${z.aroundEq[1]}${v}${z.trail}\n`;
      }).join('');
      const a = parseCtdbConf(plain, { unknown: 'reject' });
      const b = parseCtdbConf(messy, { unknown: 'reject' });
      expect(b.values).toEqual(a.values);
      for (const [s, k, v] of settings) expect(printed(a.values[`${s}/${k}` as CtdbConfKey])).toBe(v === 'yes' ? 'true' : v === 'no' ? 'false' : v);
    }), { numRuns: 300 });
  });
});
