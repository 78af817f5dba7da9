import { DebugLevel } from '../daemon/debug-levels.ts';
import { OperatorFileError, type OperatorFileWarning } from './errors.ts';
import { isInetAddress } from './inet.ts';

/**
 * ctdb.conf, read with ctdbd 4.17's rules (Samba's tini INI reader under
 * ctdb's conf layer; facts from ctdb/common/conf.c, lib/util/tini.c and the
 * *_conf.c option tables, checked against Debian's ctdbd and ctdb-config):
 *
 * Syntax (tini): leading whitespace is skipped; a line whose first
 * character is then '#' or ';' is a comment (there are no trailing
 * comments: "x = 1 # c" has the value "1 # c"); a line ending in '\' (or
 * '\' and one blank) continues on the next; every run of whitespace inside
 * a line shrinks to its first character; "[name]" opens a section (text
 * after ']' is ignored; section names are case-insensitive); "key = value"
 * loses one blank on each side of key and value (keys are case-sensitive);
 * a line without '=' is ignored. A "[" line without "]" or a line starting
 * with "=" stops the reader: ctdbd then keeps its defaults for everything
 * and starts anyway (unless an earlier line was already refused).
 *
 * Values: an empty value is refused; booleans are true/yes/false/no in any
 * case; integers are strtol(base 0) of the text ("7x" is 7, "abc" is 0,
 * "0x10" is 16) and must lie in 0..INT_MAX. A value equal to the default is
 * not validated and does not replace an earlier value of the same key.
 *
 * Unknown sections and keys: ctdbd ignores them ('ignore'), `ctdb-config
 * validate` refuses them ('reject').
 *
 * Checks that need the file system (directories, script files) are
 * returned as `pathChecks` for the loader to run.
 */

/** Every option ctdbd 4.17 knows, as "section/key", with its value type. */
export interface CtdbConfValues {
  'logging/location': string;
  'logging/log level': string;
  'cluster/transport': string;
  'cluster/node address': string | undefined;
  'cluster/cluster lock': string | undefined;
  'cluster/recovery lock': string | undefined;
  'cluster/leader timeout': number;
  'cluster/leader capability': boolean;
  'database/volatile database directory': string;
  'database/persistent database directory': string;
  'database/state database directory': string;
  'database/lock debug script': string | undefined;
  'database/tdb mutexes': boolean;
  'event/debug script': string | undefined;
  'failover/disabled': boolean;
  'legacy/realtime scheduling': boolean;
  'legacy/lmaster capability': boolean;
  'legacy/start as stopped': boolean;
  'legacy/start as disabled': boolean;
  'legacy/script log level': string;
}
export type CtdbConfKey = keyof CtdbConfValues;

/** A check the loader runs against the file system, in file order. */
export type CtdbConfPathCheck =
  /** `path` must be an existing directory. */
  | { kind: 'directory'; key: CtdbConfKey; line: number; path: string; value: string }
  /** `name` (a basename) must be an executable regular file in ctdb's etc directory. */
  | { kind: 'etc-script'; key: CtdbConfKey; line: number; name: string; value: string };

export interface CtdbConf {
  /** Effective values: the file's where it set them, else ctdbd 4.17's defaults. */
  values: CtdbConfValues;
  /** The line of every value the file set (absent: the default applies). */
  lines: Partial<Record<CtdbConfKey, number>>;
  warnings: OperatorFileWarning[];
  pathChecks: CtdbConfPathCheck[];
}

export interface ParseCtdbConfOptions {
  file?: string;
  /** 'ignore' as ctdbd does (each one becomes a warning), 'reject' as `ctdb-config validate` does. */
  unknown?: 'ignore' | 'reject';
}

/** Debian ctdbd 4.17's built-in values. */
export const CTDB_CONF_DEFAULTS: Readonly<CtdbConfValues> = {
  'logging/location': 'file:/var/log/ctdb/log.ctdb',
  'logging/log level': 'NOTICE',
  'cluster/transport': 'tcp',
  'cluster/node address': undefined,
  'cluster/cluster lock': undefined,
  'cluster/recovery lock': undefined,
  'cluster/leader timeout': 5,
  'cluster/leader capability': true,
  'database/volatile database directory': '/var/lib/ctdb/volatile',
  'database/persistent database directory': '/var/lib/ctdb/persistent',
  'database/state database directory': '/var/lib/ctdb/state',
  'database/lock debug script': undefined,
  'database/tdb mutexes': true,
  'event/debug script': undefined,
  'failover/disabled': false,
  'legacy/realtime scheduling': true,
  'legacy/lmaster capability': true,
  'legacy/start as stopped': false,
  'legacy/start as disabled': false,
  'legacy/script log level': 'ERROR',
};

type ValueType = 'string' | 'integer' | 'boolean';
/** A refusal reason, a warning, or a file-system check for the loader. */
type CheckResult = { reason?: string; warning?: string; path?: CtdbConfPathCheck };
type Checks = { [K in CtdbConfKey]?: (value: NonNullable<CtdbConfValues[K]>, key: K, line: number) => CheckResult };

const TYPES: Record<CtdbConfKey, ValueType> = {
  'logging/location': 'string',
  'logging/log level': 'string',
  'cluster/transport': 'string',
  'cluster/node address': 'string',
  'cluster/cluster lock': 'string',
  'cluster/recovery lock': 'string',
  'cluster/leader timeout': 'integer',
  'cluster/leader capability': 'boolean',
  'database/volatile database directory': 'string',
  'database/persistent database directory': 'string',
  'database/state database directory': 'string',
  'database/lock debug script': 'string',
  'database/tdb mutexes': 'boolean',
  'event/debug script': 'string',
  'failover/disabled': 'boolean',
  'legacy/realtime scheduling': 'boolean',
  'legacy/lmaster capability': 'boolean',
  'legacy/start as stopped': 'boolean',
  'legacy/start as disabled': 'boolean',
  'legacy/script log level': 'string',
};

const SECTIONS = [...new Set(Object.keys(TYPES).map((k) => k.slice(0, k.indexOf('/'))))];

const directory = (value: string, key: CtdbConfKey, line: number): CheckResult =>
  ({ path: { kind: 'directory', key, line, path: value, value } });
// ctdb looks for the script's basename in its etc directory.
const etcScript = (value: string, key: CtdbConfKey, line: number): CheckResult =>
  ({ path: { kind: 'etc-script', key, line, name: value.slice(value.lastIndexOf('/') + 1), value } });
const debugLevel = (value: string): CheckResult =>
  parseCtdbDebugLevel(value) === undefined ? { reason: 'is not a debug level (a prefix of ERROR, WARNING, NOTICE, INFO or DEBUG, or 0 to 10)' } : {};

/** ctdbd's validators (those that are not a plain type check). */
const CHECKS: Checks = {
  'logging/location': (value, key, line) => {
    const loc = parseLogLocation(value);
    if (!loc) return { reason: 'is not a log location (file[:PATH] or syslog[:nonblocking|:udp|:udp-rfc5424])' };
    return loc.kind === 'file' && loc.path !== undefined && loc.path !== '-'
      ? { path: { kind: 'directory', key, line, path: posixDirname(loc.path), value } }
      : {};
  },
  'logging/log level': debugLevel,
  'legacy/script log level': debugLevel,
  'cluster/transport': (value) => (value === 'tcp' ? {} : { reason: 'is not supported (only tcp)' }),
  'cluster/node address': (value) => (isInetAddress(value) ? {} : { reason: 'is not an IP address' }),
  'cluster/recovery lock': () => ({ warning: 'is deprecated: use [cluster] cluster lock' }),
  'cluster/leader timeout': (value) => (value > 0 ? {} : { reason: 'must be at least 1' }),
  'database/volatile database directory': directory,
  'database/persistent database directory': directory,
  'database/state database directory': directory,
  'database/lock debug script': etcScript,
  'event/debug script': etcScript,
};

export function parseCtdbConf(text: string, opts: ParseCtdbConfOptions = {}): CtdbConf {
  const file = opts.file ?? 'ctdb.conf';
  const reject = opts.unknown === 'reject';
  const explicit: Partial<Record<CtdbConfKey, { value: unknown; line: number }>> = {};
  const warnings: OperatorFileWarning[] = [];
  const pathChecks: CtdbConfPathCheck[] = [];
  const fail = (line: number, reason: string): never => { throw new OperatorFileError(file, line, reason); };
  const warn = (line: number, reason: string) => warnings.push({ file, line, reason });
  let section: string | null = null;
  let sectionLine = 0;

  for (const { line, text: l } of tiniLines(text)) {
    if (l.startsWith('[')) {
      const close = l.indexOf(']');
      if (close === -1) return stopped(file, line, `"${l}" has no closing ']'`, warnings, pathChecks);
      const name = l.slice(1, close);
      section = SECTIONS.find((s) => s.toLowerCase() === name.toLowerCase()) ?? null;
      sectionLine = line;
      if (section === null) {
        if (reject) fail(line, `unknown section [${name}]`);
        warn(line, `unknown section [${name}] and its settings are ignored (ctdbd 4.17 ignores them; ctdb-config validate refuses them)`);
      }
      continue;
    }
    const eq = l.indexOf('=');
    if (eq === -1) {
      warn(line, `"${l}" has no '=' and is ignored`);
      continue;
    }
    if (eq === 0) return stopped(file, line, `"${l}" has no key before '='`, warnings, pathChecks);
    const name = trimOneBlank(l.slice(0, eq));
    const valueText = trimOneBlank(l.slice(eq + 1));
    if (section === null) {
      // Under an unknown section (already reported) or before any section.
      if (sectionLine === 0) {
        if (reject) fail(line, `"${name}" is outside any section`);
        warn(line, `"${name}" is outside any section and is ignored`);
      }
      continue;
    }
    const key = `${section}/${name}` as CtdbConfKey;
    if (!(key in TYPES)) {
      if (reject) fail(line, `unknown option "${name}" in [${section}]`);
      warn(line, `unknown option "${name}" in [${section}] is ignored (ctdbd 4.17 ignores it; ctdb-config validate refuses it)`);
      continue;
    }
    if (valueText === '') fail(line, `[${section}] ${name} has an empty value`);
    const value = convert(TYPES[key], valueText);
    if (value === undefined) {
      fail(line, `[${section}] ${name} = "${valueText}" is not ${TYPES[key] === 'boolean' ? 'true, yes, false or no' : 'a number from 0 to 2147483647'}`);
    }
    if (value === CTDB_CONF_DEFAULTS[key]) {
      if (explicit[key]) warn(line, `[${section}] ${name} = ${valueText} equals the default, so ctdbd 4.17 keeps the value from line ${explicit[key]!.line}`);
      continue;
    }
    const validate = CHECKS[key] as ((v: unknown, k: CtdbConfKey, l: number) => CheckResult) | undefined;
    const check = validate?.(value, key, line) ?? {};
    if (check.reason) fail(line, `[${section}] ${name} = "${valueText}" ${check.reason}`);
    if (check.warning) warn(line, `[${section}] ${name} ${check.warning}`);
    if (check.path) pathChecks.push(check.path);
    explicit[key] = { value, line };
  }

  const values = { ...CTDB_CONF_DEFAULTS } as Record<CtdbConfKey, unknown>;
  const lines: Partial<Record<CtdbConfKey, number>> = {};
  for (const [key, v] of Object.entries(explicit) as Array<[CtdbConfKey, { value: unknown; line: number }]>) {
    values[key] = v.value;
    lines[key] = v.line;
  }
  // Every checked value is checked, also one a later line overrides (as ctdbd does).
  return { values: values as unknown as CtdbConfValues, lines, warnings, pathChecks };
}

/**
 * tini gave up at `line`: ctdbd keeps every default (values read so far are
 * dropped) but has already checked the values before it.
 */
function stopped(file: string, line: number, what: string, warnings: OperatorFileWarning[], pathChecks: CtdbConfPathCheck[]): CtdbConf {
  warnings.push({ file, line, reason: `${what}: ctdbd 4.17 stops reading here and uses its defaults for every setting in this file` });
  return { values: { ...CTDB_CONF_DEFAULTS }, lines: {}, warnings, pathChecks };
}

function convert(type: ValueType, text: string): string | number | boolean | undefined {
  if (type === 'string') return text;
  if (type === 'boolean') {
    const t = text.toLowerCase();
    if (t === 'true' || t === 'yes') return true;
    if (t === 'false' || t === 'no') return false;
    return undefined;
  }
  const n = cStrtol(text);
  return n >= 0n && n <= 0x7fffffffn ? Number(n) : undefined;
}

const LONG_MAX = (1n << 63n) - 1n;
const LONG_MIN = -(1n << 63n);

/** C strtol(s, &end, 0) as used by ctdb's conf layer: the value of the longest valid prefix (0 when none), saturated. */
export function cStrtol(s: string): bigint {
  let i = 0;
  while (i < s.length && isCSpace(s[i])) i++;
  let negative = false;
  if (s[i] === '+' || s[i] === '-') negative = s[i++] === '-';
  let base = 10;
  if (s[i] === '0' && (s[i + 1] === 'x' || s[i + 1] === 'X') && /[0-9a-fA-F]/.test(s[i + 2] ?? '')) {
    base = 16;
    i += 2;
  } else if (s[i] === '0') {
    base = 8;
  }
  let v = 0n;
  for (; i < s.length; i++) {
    const d = parseInt(s[i], 16);
    if (Number.isNaN(d) || d >= base) break;
    v = v * BigInt(base) + BigInt(d);
    if (v > LONG_MAX + 1n) v = LONG_MAX + 1n; // saturate early; the sign decides below
  }
  if (negative) return -v < LONG_MIN ? LONG_MIN : -v;
  return v > LONG_MAX ? LONG_MAX : v;
}

/**
 * ctdb's debug_level_parse: a leading digit means atoi() in 0..10; otherwise
 * the text must be a case-insensitive prefix of ERROR, WARNING, NOTICE,
 * INFO or DEBUG ("inf" is INFO).
 */
export function parseCtdbDebugLevel(text: string): number | undefined {
  if (/^[0-9]/.test(text)) {
    const n = Number(/^[0-9]+/.exec(text)![0]);
    return n <= 10 ? n : undefined;
  }
  if (text === '') return undefined;
  const t = text.toUpperCase();
  const names = Object.keys(DebugLevel) as Array<keyof typeof DebugLevel>;
  const name = names.find((n) => n.startsWith(t));
  return name === undefined ? undefined : DebugLevel[name];
}

export type LogLocation = { kind: 'file'; path: string | undefined } | { kind: 'syslog'; option: string | undefined };

/** ctdb's logging location ("file:PATH", "file" = stderr, "syslog[:nonblocking|udp|udp-rfc5424]"), strtok(':')-split. */
export function parseLogLocation(text: string): LogLocation | undefined {
  const [backend, option] = text.split(':').filter((t) => t !== '');
  if (backend === 'file') return { kind: 'file', path: option };
  if (backend === 'syslog' && (option === undefined || ['nonblocking', 'udp', 'udp-rfc5424'].includes(option))) {
    return { kind: 'syslog', option };
  }
  return undefined;
}

/** C isspace() in the C locale. */
function isCSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r';
}

function trimOneBlank(s: string): string {
  let t = isCSpace(s[0]) ? s.slice(1) : s;
  if (t.length > 0 && isCSpace(t[t.length - 1])) t = t.slice(0, -1);
  return t;
}

function posixDirname(p: string): string {
  const t = p.replace(/\/+$/, '');
  if (t === '') return p.startsWith('/') ? '/' : '.';
  const i = t.lastIndexOf('/');
  if (i === -1) return '.';
  return t.slice(0, i).replace(/\/+$/, '') || '/';
}

/**
 * tini's logical lines: comments and blank lines dropped, continuations
 * joined, whitespace runs shrunk to their first character, text cut at a
 * NUL. `line` is where the logical line starts.
 */
export function tiniLines(text: string): Array<{ line: number; text: string }> {
  const out: Array<{ line: number; text: string }> = [];
  let i = 0;
  let line = 1;
  const next = (): string | undefined => (i < text.length ? text[i++] : undefined);
  for (;;) {
    let c = next();
    while (c !== undefined && c !== '\n' && isCSpace(c)) c = next();
    if (c === undefined) break;
    if (c === '#' || c === ';') {
      while (c !== undefined && c !== '\n') c = next();
      if (c === undefined) break;
      line++;
      continue;
    }
    if (c === '\n') {
      line++;
      continue;
    }
    const start = line;
    const buf: string[] = [];
    for (; c !== undefined; c = next()) {
      if (c === '\n') {
        line++;
        const n = buf.length;
        if (n > 0 && buf[n - 1] === '\\') { buf.pop(); continue; }
        if (n > 1 && buf[n - 2] === '\\' && isCSpace(buf[n - 1])) { buf.length -= 2; continue; }
        break;
      }
      if (buf.length > 0 && isCSpace(buf[buf.length - 1]) && isCSpace(c)) continue;
      buf.push(c);
    }
    const joined = buf.join('');
    const nul = joined.indexOf('\0');
    const logical = nul === -1 ? joined : joined.slice(0, nul);
    if (logical !== '') out.push({ line: start, text: logical });
    if (c === undefined) break;
  }
  return out;
}
