import { join } from 'node:path';
import type { Logger } from 'pino';
import { CTDB_PORT } from '../protocol/constants.ts';
import {
  loadCtdbConf, loadNodesFile, loadPublicAddresses, nodeByAddress, OperatorFileError, parseCtdbAddress, parseCtdbDebugLevel,
  readOperatorFile, type CtdbConf, type LoadPublicAddressesOptions, type NodeEntry, type OperatorFileWarning, type PublicAddress,
} from '../config/index.ts';
import { DaemonConfigError } from './errors.ts';

export type { NodeEntry, PublicAddress } from '../config/index.ts';

/**
 * The files ctdbd reads, read by the shared readers in legacy/config with
 * ctdbd 4.17's rules: CTDB_BASE/ctdb.conf, CTDB_BASE/nodes,
 * CTDB_BASE/public_addresses and CTDB_BASE/ctdb.tunables. Paths follow
 * ctdbd's test mode: the socket and the pid file live in CTDB_BASE/run.
 * Where ctdb.conf does not set a path, the embedded daemon keeps its own
 * files under CTDB_BASE (ctdbd would use /var/lib/ctdb and /var/log/ctdb).
 */

export interface DaemonConfig {
  base: string;
  confFile: string;
  socketPath: string;
  pidFile: string;
  nodes: NodeEntry[];
  /** `[cluster] node address` (inet_ntop spelling); undefined = first nodes-list address that binds. */
  nodeAddress: string | undefined;
  /** TCP port of every node (4379 unless injected for tests). */
  port: number;
  /** ctdb's location syntax: file[:PATH] or syslog[:OPTION]. */
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
  /** What ctdbd accepts but an operator should hear about (ignored keys, duplicates, ...). */
  warnings: OperatorFileWarning[];
}

export interface LoadConfigOptions {
  /** Override the TCP port (tests); ctdbd 4.17 always uses 4379. */
  port?: number;
  /** Override `[cluster] node address`. */
  nodeAddress?: string;
  /** How public_addresses interfaces are checked; default 'host' (they must exist here, as for ctdbd). */
  interfaces?: LoadPublicAddressesOptions['interfaces'];
  /** Each warning is logged here (one line per warning) as well as returned. */
  logger?: Logger;
}

/** Reads CTDB_BASE-style directory `base`. Throws DaemonConfigError naming file, line and reason. */
export async function loadDaemonConfig(base: string, opts: LoadConfigOptions = {}): Promise<DaemonConfig> {
  try {
    return await load(base, opts);
  } catch (err) {
    if (err instanceof OperatorFileError) throw new DaemonConfigError(err.file, err.line, err.reason);
    throw err;
  }
}

async function load(base: string, opts: LoadConfigOptions): Promise<DaemonConfig> {
  const confFile = join(base, 'ctdb.conf');
  const conf = await loadCtdbConf(confFile, { unknown: 'ignore' });
  const nodesFile = join(base, 'nodes');
  const nodes = await loadNodesFile(nodesFile);
  const publicAddresses = await loadPublicAddresses(join(base, 'public_addresses'), { interfaces: opts.interfaces });
  const tunFile = join(base, 'ctdb.tunables');
  const tunables = parseTunablesFile((await readOperatorFile(tunFile)) ?? '', tunFile);
  const warnings = [...conf.warnings, ...nodes.warnings, ...publicAddresses.warnings];
  for (const w of warnings) opts.logger?.warn({ file: w.file, line: w.line }, w.reason);

  const nodeAddress = resolveNodeAddress(opts.nodeAddress, conf, confFile);
  if (nodeAddress !== undefined && !nodeByAddress(nodes.nodes, nodeAddress)) {
    throw new OperatorFileError(confFile, conf.lines['cluster/node address'], `node address ${nodeAddress} is not in the nodes list ${nodesFile}`);
  }
  if (!nodes.nodes.some((n) => !n.deleted)) throw new OperatorFileError(nodesFile, undefined, 'no nodes listed (ctdbd: no address to bind to)');
  const port = opts.port ?? CTDB_PORT;
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new OperatorFileError(confFile, undefined, `invalid port ${port}`);
  }
  return {
    ...daemonSettings(conf, base),
    base,
    confFile,
    socketPath: join(base, 'run', 'ctdbd.socket'),
    pidFile: join(base, 'run', 'ctdbd.pid'),
    nodes: nodes.nodes,
    nodeAddress,
    port,
    publicAddresses: publicAddresses.addresses,
    tunables,
    warnings,
  };
}

/** The override or `[cluster] node address`, spelled as the nodes list spells it (ctdb_parse_address). */
function resolveNodeAddress(override: string | undefined, conf: CtdbConf, confFile: string): string | undefined {
  const text = override ?? conf.values['cluster/node address'];
  if (text === undefined) return undefined;
  const addr = parseCtdbAddress(text);
  if (!addr) throw new OperatorFileError(confFile, override === undefined ? conf.lines['cluster/node address'] : undefined, `node address "${text}" is not an IP address`);
  return addr.text;
}

type ConfPart = Pick<DaemonConfig, 'logLocation' | 'logLevel' | 'clusterLock' | 'leaderTimeoutSec' | 'leaderCapability'
  | 'lmasterCapability' | 'startAsStopped' | 'startAsDisabled' | 'failoverDisabled' | 'volatileDbDir' | 'persistentDbDir' | 'stateDbDir'>;

function daemonSettings(conf: CtdbConf, base: string): ConfPart {
  const v = conf.values;
  const set = (key: keyof typeof conf.lines) => conf.lines[key] !== undefined;
  return {
    logLocation: set('logging/location') ? v['logging/location'] : 'file:' + join(base, 'log.ctdb'),
    // parseCtdbConf has validated the text, so this is a number.
    logLevel: parseCtdbDebugLevel(v['logging/log level'])!,
    clusterLock: v['cluster/cluster lock'] ?? v['cluster/recovery lock'] ?? '',
    leaderTimeoutSec: v['cluster/leader timeout'],
    leaderCapability: v['cluster/leader capability'],
    lmasterCapability: v['legacy/lmaster capability'],
    startAsStopped: v['legacy/start as stopped'],
    startAsDisabled: v['legacy/start as disabled'],
    failoverDisabled: v['failover/disabled'],
    volatileDbDir: set('database/volatile database directory') ? v['database/volatile database directory'] : join(base, 'var', 'volatile'),
    persistentDbDir: set('database/persistent database directory') ? v['database/persistent database directory'] : join(base, 'var', 'persistent'),
    stateDbDir: set('database/state database directory') ? v['database/state database directory'] : join(base, 'var', 'state'),
  };
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
