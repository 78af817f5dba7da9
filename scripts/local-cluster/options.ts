import type { Logger } from '../../legacy/common/log.ts';
import { createLogger } from '../../legacy/common/log.ts';

/** Every time limit of the harness, in milliseconds (all injectable). */
export interface ClusterTimeouts {
  /** up(): from spawning the daemons until every node reports all nodes OK. */
  upMs: number;
  /** One node: from spawn until its pid file, process and socket exist. */
  nodeSpawnMs: number;
  /** startNode(): from spawn until the node reports itself OK. */
  nodeOkMs: number;
  /** After `ctdb shutdown`: how long to wait for the processes before SIGKILL. */
  stopMs: number;
  /** Interval between status polls. */
  pollMs: number;
  /** Limit for one run of the ctdb CLI. */
  commandMs: number;
  /** A previous incarnation's event daemon may linger this long before we kill it. */
  eventdLingerMs: number;
}

export const defaultTimeouts: ClusterTimeouts = {
  upMs: 60_000,
  nodeSpawnMs: 15_000,
  nodeOkMs: 45_000,
  stopMs: 15_000,
  pollMs: 300,
  commandMs: 10_000,
  eventdLingerMs: 10_000,
};

export interface RealClusterOptions {
  /** Directory for cluster.json, the cluster lock and node.N dirs. */
  dir: string;
  /** Number of nodes (default 3). */
  nodes?: number;
  /** First node's address, e.g. 127.0.7.1; nodes get consecutive last octets. */
  baseAddress?: string;
  /** Third-octet range scanned for a free 127.0.S.x subnet (default [100, 250]). */
  subnetRange?: [number, number];
  ctdbdPath?: string;
  ctdbPath?: string;
  /** Port probed for "address free" (ctdbd 4.17 always listens on 4379). */
  port?: number;
  /** ctdb.conf [logging] log level. */
  logLevel?: string;
  /** How many times a node start is retried when ctdbd exits during startup. */
  startRetries?: number;
  timeouts?: Partial<ClusterTimeouts>;
  logger?: Logger;
  /** Recorded in cluster.json so orphaned test clusters can be reaped by PID. */
  ownerPid?: number;
  /** Lines of every node's public_addresses (`10.0.0.1/24 lo`); default none. */
  publicAddresses?: string[];
}

export interface ResolvedClusterOptions {
  dir: string;
  nodeCount: number;
  baseAddress?: string;
  subnetRange: [number, number];
  ctdbdPath: string;
  ctdbPath: string;
  port: number;
  logLevel: string;
  startRetries: number;
  timeouts: ClusterTimeouts;
  logger: Logger;
  ownerPid?: number;
  publicAddresses: string[];
}

export const CTDB_PORT = 4379;
export const DEFAULT_CTDBD_PATH = '/usr/sbin/ctdbd';
export const DEFAULT_CTDB_PATH = '/usr/bin/ctdb';

export function resolveOptions(opts: RealClusterOptions): ResolvedClusterOptions {
  return {
    dir: opts.dir,
    nodeCount: opts.nodes ?? 3,
    baseAddress: opts.baseAddress,
    subnetRange: opts.subnetRange ?? [100, 250],
    ctdbdPath: opts.ctdbdPath ?? process.env.CTDB_BRIDGE_CTDBD ?? DEFAULT_CTDBD_PATH,
    ctdbPath: opts.ctdbPath ?? process.env.CTDB_BRIDGE_CTDB ?? DEFAULT_CTDB_PATH,
    port: opts.port ?? CTDB_PORT,
    logLevel: opts.logLevel ?? 'NOTICE',
    startRetries: opts.startRetries ?? 3,
    timeouts: { ...defaultTimeouts, ...opts.timeouts },
    logger: opts.logger ?? createLogger({ component: 'local-cluster' }),
    ownerPid: opts.ownerPid,
    publicAddresses: opts.publicAddresses ?? [],
  };
}
