// ctdb-bridge.conf: the one file of our own, beside ctdb.conf, in the same
// ini syntax (tini's logical lines, comments, continuations). Unlike ctdbd,
// which ignores what it does not know, every unknown section, unknown key and
// bad value is refused with file, line and key: a component never starts
// half-configured. Keys never go into ctdb.conf (ctdb-config validate
// refuses unknown options there).

import { OperatorFileError } from '../../legacy/config/errors.ts';
import { tiniLines } from '../../legacy/config/ctdb-conf.ts';

export const BRIDGE_CONF_NAME = 'ctdb-bridge.conf';

type ValueKind =
  | { kind: 'ms'; min: number; max: number }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'text' }
  | { kind: 'path' };

const ms = (min: number, max: number): ValueKind => ({ kind: 'ms', min, max });

export const CLUSTERD_MODES = ['shadow', 'active'] as const;
export type ClusterdMode = (typeof CLUSTERD_MODES)[number];

/**
 * shadow: observe ctdbd's failover (stage 2); active: perform ctdbd's takeover
 * runs (stage 3); native: as active, and carry the embedded daemon's public IP
 * events out on this host (stage 4, failoverd/native/).
 */
export const FAILOVERD_MODES = ['shadow', 'active', 'native'] as const;
export type FailoverdMode = (typeof FAILOVERD_MODES)[number];

/** Does failoverd perform the takeover runs in this mode (ctdbd's own held off)? */
export function performsTakeoverRuns(mode: FailoverdMode): boolean {
  return mode !== 'shadow';
}

/** Every key, its kind and its default; `undefined` default = not set. */
const KEYS = {
  'components/state directory': { type: { kind: 'path' }, default: '/var/lib/ctdb-bridge' },
  'clusterd/mode': { type: { kind: 'enum', values: CLUSTERD_MODES }, default: 'shadow' },
  'clusterd/heartbeat interval': { type: ms(10, 60_000), default: 250 },
  'clusterd/dead after': { type: ms(50, 600_000), default: 2000 },
  'clusterd/lease': { type: ms(50, 600_000), default: 800 },
  'clusterd/legacy poll interval': { type: ms(10, 60_000), default: 250 },
  'clusterd/cluster lock': { type: { kind: 'text' }, default: undefined },
  'failoverd/mode': { type: { kind: 'enum', values: FAILOVERD_MODES }, default: 'shadow' },
  'failoverd/check interval': { type: ms(50, 600_000), default: 1000 },
  'failoverd/takeover lease': { type: ms(3000, 3_600_000), default: 15_000 },
  'failoverd/settle time': { type: ms(0, 600_000), default: 3000 },
  'failoverd/quorum loss': { type: ms(0, 600_000), default: 1000 },
} as const satisfies Record<string, { type: ValueKind; default: string | number | undefined }>;

export type BridgeConfKey = keyof typeof KEYS;

export interface BridgeConfValues {
  'components/state directory': string;
  'clusterd/mode': ClusterdMode;
  'clusterd/heartbeat interval': number;
  'clusterd/dead after': number;
  'clusterd/lease': number;
  'clusterd/legacy poll interval': number;
  'clusterd/cluster lock': string | undefined;
  'failoverd/mode': FailoverdMode;
  'failoverd/check interval': number;
  'failoverd/takeover lease': number;
  'failoverd/settle time': number;
  'failoverd/quorum loss': number;
}

export interface BridgeConf {
  values: BridgeConfValues;
  /** Line of each key set in the file. */
  lines: Partial<Record<BridgeConfKey, number>>;
}

export function bridgeConfDefaults(): BridgeConfValues {
  const values: Record<string, unknown> = {};
  for (const [key, def] of Object.entries(KEYS)) values[key] = def.default;
  return values as unknown as BridgeConfValues;
}

const SECTIONS = [...new Set(Object.keys(KEYS).map((k) => k.slice(0, k.indexOf('/'))))];

/** Parses the text of ctdb-bridge.conf; throws OperatorFileError (file, line, key) on anything it does not know. */
export function parseBridgeConf(text: string, file = BRIDGE_CONF_NAME): BridgeConf {
  const values = bridgeConfDefaults() as unknown as Record<string, unknown>;
  const lines: Partial<Record<BridgeConfKey, number>> = {};
  let section: string | undefined;
  for (const { line, text: l } of tiniLines(text)) {
    if (l.startsWith('[')) {
      const close = l.indexOf(']');
      if (close === -1) throw new OperatorFileError(file, line, `"${l}" has no closing ']'`);
      const name = l.slice(1, close).trim().toLowerCase();
      if (!SECTIONS.includes(name)) throw new OperatorFileError(file, line, `unknown section [${name}] (known: ${SECTIONS.join(', ')})`);
      section = name;
      continue;
    }
    const eq = l.indexOf('=');
    if (eq === -1) throw new OperatorFileError(file, line, `"${l}" is not "key = value"`);
    const name = l.slice(0, eq).trim().toLowerCase();
    const valueText = l.slice(eq + 1).trim();
    if (section === undefined) throw new OperatorFileError(file, line, `key "${name}" is outside any section`);
    const key = `${section}/${name}`;
    if (!(key in KEYS)) {
      const known = Object.keys(KEYS).filter((k) => k.startsWith(`${section}/`)).map((k) => k.slice(section!.length + 1));
      throw new OperatorFileError(file, line, `unknown key "${name}" in [${section}] (known: ${known.join(', ')})`);
    }
    const def = KEYS[key as BridgeConfKey];
    values[key] = convert(def.type, valueText, (reason) => new OperatorFileError(file, line, `[${section}] ${name} = "${valueText}": ${reason}`));
    lines[key as BridgeConfKey] = line;
  }
  return { values: values as unknown as BridgeConfValues, lines };
}

function convert(type: ValueKind, text: string, bad: (reason: string) => OperatorFileError): string | number {
  if (text === '') throw bad('empty value');
  switch (type.kind) {
    case 'ms': {
      if (!/^\d+$/.test(text)) throw bad('not a whole number of milliseconds');
      const n = Number(text);
      if (n < type.min || n > type.max) throw bad(`must be from ${type.min} to ${type.max} ms`);
      return n;
    }
    case 'enum':
      if (!type.values.includes(text)) throw bad(`must be one of ${type.values.join(', ')}`);
      return text;
    case 'path':
      if (!text.startsWith('/')) throw bad('must be an absolute path');
      return text;
    case 'text':
      return text;
  }
}

/** One line per key, as the file would set it (for docs and tests). */
export function formatBridgeConf(values: Partial<BridgeConfValues>): string {
  const bySection = new Map<string, string[]>();
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue;
    const [section, name] = key.split('/');
    if (!bySection.has(section)) bySection.set(section, []);
    bySection.get(section)!.push(`\t${name} = ${value}`);
  }
  return [...bySection].map(([s, ls]) => `[${s}]\n${ls.join('\n')}\n`).join('\n');
}
