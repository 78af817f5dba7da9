import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { parse as parseIni } from 'ini';
import { CTDB_PORT } from '../protocol/constants.ts';
import { DaemonConfigError } from './errors.ts';
import { DebugLevel, parseDebugLevel } from './debug-levels.ts';

/**
 * The files ctdbd reads, read the same way (behaviour.md §2, local-cluster.md):
 * CTDB_BASE/ctdb.conf (INI), CTDB_BASE/nodes, CTDB_BASE/public_addresses and
 * CTDB_BASE/ctdb.tunables. Paths follow ctdbd's test mode: the socket and the
 * pid file live in CTDB_BASE/run.
 */

export interface NodeEntry {
  pnn: number;
  /** Dotted address; "0.0.0.0" for a deleted (commented-out) entry. */
  address: string;
  deleted: boolean;
}

export interface PublicAddress {
  address: string;
  prefixLength: number;
  interfaces: string[];
}

export interface DaemonConfig {
  base: string;
  confFile: string;
  socketPath: string;
  pidFile: string;
  nodes: NodeEntry[];
  /** `[cluster] node address`; undefined = first nodes-list address that binds. */
  nodeAddress: string | undefined;
  /** TCP port of every node (4379 unless injected for tests). */
  port: number;
  logLocation: string;
  /** Numeric CTDB debug level (debug-levels.ts). */
  logLevel: number;
  /** `[cluster] cluster lock` (or the older `recovery lock`); '' when not configured. */
  clusterLock: string;
  leaderTimeoutSec: number;
  leaderCapability: boolean;
  lmasterCapability: boolean;
  startAsStopped: boolean;
  startAsDisabled: boolean;
  failoverDisabled: boolean;
  volatileDbDir: string;
  persistentDbDir: string;
  stateDbDir: string;
  publicAddresses: PublicAddress[];
  /** Tunable name (as written) -> value, from ctdb.tunables. */
  tunables: Array<{ name: string; value: number; line: number }>;
}

export interface LoadConfigOptions {
  /** Override the TCP port (tests); ctdbd 4.17 always uses 4379. */
  port?: number;
  /** Override `[cluster] node address`. */
  nodeAddress?: string;
}

/** Reads CTDB_BASE-style directory `base`. Throws DaemonConfigError. */
export async function loadDaemonConfig(base: string, opts: LoadConfigOptions = {}): Promise<DaemonConfig> {
  const confFile = join(base, 'ctdb.conf');
  const confText = await readOptional(confFile);
  const conf = parseCtdbConf(confText ?? '', confFile, base);
  const nodesFile = join(base, 'nodes');
  const nodesText = await readOptional(nodesFile);
  if (nodesText === undefined) throw new DaemonConfigError(nodesFile, undefined, 'nodes file not found');
  const nodes = parseNodesFile(nodesText, nodesFile);
  const paFile = join(base, 'public_addresses');
  const publicAddresses = parsePublicAddresses((await readOptional(paFile)) ?? '', paFile);
  const tunFile = join(base, 'ctdb.tunables');
  const tunables = parseTunablesFile((await readOptional(tunFile)) ?? '', tunFile);

  const nodeAddress = opts.nodeAddress ?? conf.nodeAddress;
  if (nodeAddress !== undefined && !nodes.some((n) => !n.deleted && n.address === nodeAddress)) {
    throw new DaemonConfigError(confFile, undefined, `node address ${nodeAddress} is not in the nodes list ${nodesFile}`);
  }
  const port = opts.port ?? CTDB_PORT;
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new DaemonConfigError(confFile, undefined, `invalid port ${port}`);
  }
  return {
    ...conf,
    base,
    confFile,
    socketPath: join(base, 'run', 'ctdbd.socket'),
    pidFile: join(base, 'run', 'ctdbd.pid'),
    nodes,
    nodeAddress,
    port,
    publicAddresses,
    tunables,
  };
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DaemonConfigError(path, undefined, `cannot read: ${(err as Error).message}`);
  }
}

type ConfPart = Omit<DaemonConfig, 'base' | 'confFile' | 'socketPath' | 'pidFile' | 'nodes' | 'port' | 'publicAddresses' | 'tunables'>;

/** Known settings per section; anything else is an error as in ctdbd. */
const KNOWN: Record<string, string[]> = {
  logging: ['location', 'log level'],
  cluster: ['transport', 'node address', 'cluster lock', 'recovery lock', 'leader timeout', 'leader capability'],
  database: ['volatile database directory', 'persistent database directory', 'state database directory',
    'lock debug script', 'tdb mutexes'],
  event: ['debug script'],
  failover: ['disabled'],
  legacy: ['realtime scheduling', 'lmaster capability', 'start as stopped', 'start as disabled', 'script log level'],
};

export function parseCtdbConf(text: string, file: string, base: string): ConfPart {
  let ini: Record<string, unknown>;
  try {
    ini = parseIni(text);
  } catch (err) {
    throw new DaemonConfigError(file, undefined, `not valid INI: ${(err as Error).message}`);
  }
  const section = (name: string): Record<string, unknown> => {
    const s = ini[name];
    return s && typeof s === 'object' ? (s as Record<string, unknown>) : {};
  };
  for (const [name, value] of Object.entries(ini)) {
    if (!(name in KNOWN)) {
      const what = value && typeof value === 'object' ? `unknown section [${name}]` : `setting "${name}" outside any section`;
      throw new DaemonConfigError(file, lineOf(text, name), what);
    }
    for (const key of Object.keys(value as object)) {
      if (!KNOWN[name].includes(key)) throw new DaemonConfigError(file, lineOf(text, key), `unknown setting "${key}" in [${name}]`);
    }
  }
  const str = (sec: string, key: string, dflt: string): string => {
    const v = section(sec)[key];
    if (v === undefined) return dflt;
    return String(v).trim();
  };
  const bool = (sec: string, key: string, dflt: boolean): boolean => {
    const v = section(sec)[key];
    if (v === undefined) return dflt;
    if (typeof v === 'boolean') return v;
    const s = String(v).trim().toLowerCase();
    if (['true', 'yes', '1', 'on'].includes(s)) return true;
    if (['false', 'no', '0', 'off'].includes(s)) return false;
    throw new DaemonConfigError(file, lineOf(text, key), `[${sec}] ${key}: "${String(v)}" is not a boolean`);
  };
  const int = (sec: string, key: string, dflt: number): number => {
    const v = section(sec)[key];
    if (v === undefined) return dflt;
    const s = String(v).trim();
    if (!/^\d+$/.test(s)) throw new DaemonConfigError(file, lineOf(text, key), `[${sec}] ${key}: "${s}" is not a number`);
    return Number(s);
  };

  const transport = str('cluster', 'transport', 'tcp');
  if (transport !== 'tcp') throw new DaemonConfigError(file, lineOf(text, 'transport'), `[cluster] transport "${transport}" is not supported (only tcp)`);
  const nodeAddressText = section('cluster')['node address'];
  let nodeAddress: string | undefined;
  if (nodeAddressText !== undefined) {
    nodeAddress = String(nodeAddressText).trim();
    if (isIP(nodeAddress) === 0) throw new DaemonConfigError(file, lineOf(text, 'node address'), `[cluster] node address "${nodeAddress}" is not an IP address`);
  }
  const logLevelText = str('logging', 'log level', 'NOTICE');
  const logLevel = parseDebugLevel(logLevelText);
  if (logLevel === undefined) {
    throw new DaemonConfigError(file, lineOf(text, 'log level'),
      `[logging] log level "${logLevelText}" is not one of ${Object.keys(DebugLevel).join(', ')}`);
  }
  const logLocation = str('logging', 'location', 'file:' + join(base, 'log.ctdb'));
  if (!(logLocation === 'syslog' || logLocation.startsWith('syslog:') || logLocation.startsWith('file:'))) {
    throw new DaemonConfigError(file, lineOf(text, 'location'), `[logging] location "${logLocation}" must be file:PATH or syslog`);
  }
  const leaderTimeoutSec = int('cluster', 'leader timeout', 5);
  if (leaderTimeoutSec < 1) throw new DaemonConfigError(file, lineOf(text, 'leader timeout'), '[cluster] leader timeout must be at least 1');
  return {
    nodeAddress,
    logLocation,
    logLevel,
    clusterLock: str('cluster', 'cluster lock', str('cluster', 'recovery lock', '')),
    leaderTimeoutSec,
    leaderCapability: bool('cluster', 'leader capability', true),
    lmasterCapability: bool('legacy', 'lmaster capability', true),
    startAsStopped: bool('legacy', 'start as stopped', false),
    startAsDisabled: bool('legacy', 'start as disabled', false),
    failoverDisabled: bool('failover', 'disabled', false),
    volatileDbDir: str('database', 'volatile database directory', join(base, 'var', 'volatile')),
    persistentDbDir: str('database', 'persistent database directory', join(base, 'var', 'persistent')),
    stateDbDir: str('database', 'state database directory', join(base, 'var', 'state')),
  };
}

/** Line of the first occurrence of `word` (for error messages only). */
function lineOf(text: string, word: string): number | undefined {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => l.includes(word));
  return i === -1 ? undefined : i + 1;
}

/**
 * Nodes list: one IP per line; blank lines skipped; a line starting with '#'
 * is a DELETED placeholder that keeps the later PNNs stable.
 */
export function parseNodesFile(text: string, file: string): NodeEntry[] {
  const nodes: NodeEntry[] = [];
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      nodes.push({ pnn: nodes.length, address: '0.0.0.0', deleted: true });
      continue;
    }
    if (isIP(line) === 0) throw new DaemonConfigError(file, i + 1, `"${line}" is not an IP address`);
    if (nodes.some((n) => !n.deleted && n.address === line)) throw new DaemonConfigError(file, i + 1, `duplicate node address ${line}`);
    nodes.push({ pnn: nodes.length, address: line, deleted: false });
  }
  if (nodes.filter((n) => !n.deleted).length === 0) throw new DaemonConfigError(file, undefined, 'no nodes listed');
  return nodes;
}

/** public_addresses: `ADDRESS/PREFIX IFACE[,IFACE...]` per line, '#' comments. */
export function parsePublicAddresses(text: string, file: string): PublicAddress[] {
  const out: PublicAddress[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const [cidr, ifaces, ...rest] = line.split(/\s+/);
    const m = /^(.+)\/(\d+)$/.exec(cidr);
    if (!m || isIP(m[1]) === 0 || rest.length > 0) {
      throw new DaemonConfigError(file, i + 1, `expected "ADDRESS/PREFIX IFACE[,IFACE...]", got "${line}"`);
    }
    const prefixLength = Number(m[2]);
    if (prefixLength > (isIP(m[1]) === 4 ? 32 : 128)) throw new DaemonConfigError(file, i + 1, `bad prefix length /${prefixLength}`);
    out.push({ address: m[1], prefixLength, interfaces: ifaces ? ifaces.split(',').filter(Boolean) : [] });
  }
  return out;
}

/** ctdb.tunables: `Name=value` per line, '#' comments. Names are checked by the daemon. */
export function parseTunablesFile(text: string, file: string): DaemonConfig['tunables'] {
  const out: DaemonConfig['tunables'] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const m = /^([A-Za-z0-9_]+)\s*=\s*(\d+)$/.exec(line);
    if (!m) throw new DaemonConfigError(file, i + 1, `expected "Name=value", got "${line}"`);
    out.push({ name: m[1], value: Number(m[2]), line: i + 1 });
  }
  return out;
}

/** Addresses this node may be: the configured one, else every listed address in order. */
export function candidateAddresses(config: DaemonConfig): string[] {
  if (config.nodeAddress) return [config.nodeAddress];
  return config.nodes.filter((n) => !n.deleted).map((n) => n.address);
}
