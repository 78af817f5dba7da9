import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunState } from '../../../../legacy/protocol/constants.ts';
import type { AllocationLogLevel } from '../log.ts';
import type { AllocationAlgorithm, AllocationInput, NodeReport } from '../types.ts';

/**
 * Reads samba-cases/*.txt: Samba 4.17.12's ctdb/tests/UNIT/takeover cases
 * as data, and turns each step into an AllocationInput the way Samba's
 * ctdb_takeover_tests tool builds its ipalloc state:
 * - `nodes:` gives each node's flags (C strtol base 0: "0x20" is hex);
 *   `runstate:` each node's run state (default RUNNING);
 * - input lines are "IP CURRENT_PNN [ALLOWED_PNN,...]": every node (or only
 *   the allowed ones) knows the address and reports that owner; with
 *   `multi`, each node's own list follows, separated by blank lines;
 * - `input: previous` is the previous step's output;
 * - every known address is available on its node (interfaces up); the
 *   node's flags and run state decide the rest, as in the tool.
 * `expected:` is the tool's whole output: log lines at `loglevel` or
 * above, then "IP PNN" per address. helper-cases/*.txt use the same format
 * (expectations recorded from the real helper by record-helper-cases.ts).
 */

export interface SambaStep {
  flags: number[];
  multi: boolean;
  /** Input lines, or undefined for "the previous step's output". */
  input?: string[];
  expected: string[];
}

export interface SambaCase {
  file: string;
  title: string;
  algorithm: AllocationAlgorithm;
  logLevel: AllocationLogLevel;
  runstates?: number[];
  noIpTakeover: boolean;
  steps: SambaStep[];
}

export class SambaCaseFormatError extends Error {
  override name = 'SambaCaseFormatError';
}

const LOG_LEVELS: Record<string, AllocationLogLevel> = {
  ERR: 'error', WARNING: 'warning', NOTICE: 'notice', INFO: 'info', DEBUG: 'debug',
};

export const SAMBA_CASES_DIR = new URL('../samba-cases/', import.meta.url).pathname;

export function readSambaCases(dir = SAMBA_CASES_DIR): SambaCase[] {
  return readdirSync(dir).filter((f) => f.endsWith('.txt')).sort().map((f) => parseSambaCase(f, readFileSync(join(dir, f), 'utf8')));
}

export function parseSambaCase(file: string, text: string): SambaCase {
  const fail = (line: number, why: string): never => { throw new SambaCaseFormatError(`${file}:${line + 1}: ${why}`); };
  const lines = text.split('\n');
  const c: SambaCase = { file, title: '', algorithm: 'lcp2', logLevel: 'debug', noIpTakeover: false, steps: [] };
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line === '' || line.startsWith('#')) { i++; continue; }
    const [key, ...restParts] = line.split(': ');
    const rest = restParts.join(': ');
    if (key === 'title') c.title = rest;
    else if (key === 'algorithm') c.algorithm = rest as AllocationAlgorithm;
    else if (key === 'loglevel') c.logLevel = LOG_LEVELS[rest] ?? fail(i, `unknown log level ${rest}`);
    else if (key === 'runstate') c.runstates = rest.split(',').map(Number);
    else if (key === 'NoIPTakeover') c.noIpTakeover = Number(rest) !== 0;
    else if (key === 'nodes') {
      const [states, mode] = rest.split(' ');
      const step: SambaStep = { flags: states.split(',').map(cNumber), multi: mode === 'multi', expected: [] };
      i++;
      if (lines[i] === 'input: previous') {
        i++;
      } else {
        if (lines[i] !== 'input:') fail(i, 'expected "input:"');
        step.input = [];
        for (i++; lines[i] !== 'expected:'; i++) {
          if (i >= lines.length) fail(i, 'no "expected:"');
          step.input.push(lines[i]);
        }
      }
      if (lines[i] !== 'expected:') fail(i, 'expected "expected:"');
      for (i++; lines[i] !== 'end'; i++) {
        if (i >= lines.length) fail(i, 'no "end"');
        step.expected.push(lines[i]);
      }
      c.steps.push(step);
    } else {
      fail(i, `unknown line ${JSON.stringify(line)}`);
    }
    i++;
  }
  return c;
}

/** C's strtol(s, NULL, 0) for the values these files hold. */
function cNumber(s: string): number {
  return /^0x/i.test(s) ? parseInt(s.slice(2), 16) : parseInt(s, 10);
}

/** The step's allocation input; `previous` is the previous step's "IP PNN" lines. */
export function stepInput(c: SambaCase, step: SambaStep, previous: string[] = []): AllocationInput {
  const lines = step.input ?? previous;
  const nodes: NodeReport[] = step.flags.map((flags, pnn) => ({
    pnn, flags, runstate: c.runstates?.[pnn] ?? RunState.RUNNING, ips: [],
  }));
  let node = 0;
  for (const line of lines) {
    if (line === '') {
      if (!step.multi) break; // the tool stops reading at an empty line
      node++;
      continue;
    }
    const [ip, owner, allowed] = line.trim().split(/\s+/);
    const report = { ip, pnn: owner === undefined ? -1 : Number(owner), available: true };
    if (step.multi) {
      nodes[node].ips.push(report);
    } else {
      const on = allowed ? allowed.split(',').map(Number) : nodes.map((n) => n.pnn);
      for (const pnn of on) nodes[pnn].ips.push({ ...report });
    }
  }
  return {
    algorithm: c.algorithm,
    tunables: { NoIPFailback: 0, NoIPTakeover: c.noIpTakeover ? 1 : 0, NoIPHostOnAllDisabled: 0 },
    nodes,
  };
}

/** The "IP PNN" lines of an expected output (its log lines dropped). */
export function placementLines(output: string[]): string[] {
  return output.filter((l) => /^\S+ -?\d+$/.test(l));
}
