// clusterd's configuration: the nodes file (who is in the cluster), ctdb.conf
// (ctdbd's own cluster lock, which ours must not be) and [clusterd] in
// ctdb-bridge.conf. Every rejection names file, line and key.

import { OperatorFileError } from '../../legacy/config/errors.ts';
import type { ClusterdMode } from '../framework/bridge-conf.ts';
import type { OperatorConfig } from '../framework/config-files.ts';

export interface ClusterdNode {
  pnn: number;
  address: string;
}

export interface ClusterdConfig {
  /** Live nodes of the nodes file (deleted entries left out; their PNNs are never reused). */
  nodes: ClusterdNode[];
  /** How many nodes the nodes file counts for a majority (deleted ones excluded). */
  mode: ClusterdMode;
  heartbeatIntervalMs: number;
  deadAfterMs: number;
  leaseMs: number;
  legacyPollMs: number;
  /** `cluster lock` value from [clusterd], when the operator set one. */
  clusterLock: string | undefined;
  stateDir: string;
}

export function configureClusterd(files: OperatorConfig): ClusterdConfig {
  const v = files.bridge.values;
  const lines = files.bridge.lines;
  const file = files.paths.bridgeConf;
  /** Names the key's line, or the line of the key it conflicts with when it was left at its default. */
  const fail = (key: keyof typeof lines, reason: string, other?: keyof typeof lines): never => {
    const line = lines[key] ?? (other ? lines[other] : undefined);
    throw new OperatorFileError(file, line, `[clusterd] ${key.split('/')[1]}: ${reason}`);
  };
  const nodes = files.nodes.nodes.filter((n) => !n.deleted).map((n) => ({ pnn: n.pnn, address: n.address }));
  if (nodes.length === 0) throw new OperatorFileError(files.paths.nodes, undefined, 'no live node in the nodes file');
  const heartbeat = v['clusterd/heartbeat interval'];
  if (v['clusterd/dead after'] < 2 * heartbeat) {
    fail('clusterd/dead after', `${v['clusterd/dead after']} ms must be at least twice the heartbeat interval (${heartbeat} ms)`, 'clusterd/heartbeat interval');
  }
  if (v['clusterd/lease'] < 2 * heartbeat) {
    fail('clusterd/lease', `${v['clusterd/lease']} ms must be at least twice the heartbeat interval (${heartbeat} ms)`, 'clusterd/heartbeat interval');
  }
  const lock = v['clusterd/cluster lock'];
  if (lock !== undefined) {
    const ctdbLocks = [files.ctdbConf.values['cluster/cluster lock'], files.ctdbConf.values['cluster/recovery lock']];
    if (ctdbLocks.includes(lock)) {
      fail('clusterd/cluster lock', `"${lock}" is ctdbd's own cluster lock (${files.paths.ctdbConf}); clusterd needs a lock of its own`);
    }
    if (lock.startsWith('!') && lock.slice(1).trim() === '') fail('clusterd/cluster lock', '"!" names no helper');
  }
  return {
    nodes, mode: v['clusterd/mode'], heartbeatIntervalMs: heartbeat, deadAfterMs: v['clusterd/dead after'],
    leaseMs: v['clusterd/lease'], legacyPollMs: v['clusterd/legacy poll interval'], clusterLock: lock,
    stateDir: v['components/state directory'],
  };
}
