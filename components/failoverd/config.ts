// failoverd's configuration: [failoverd] in ctdb-bridge.conf, and the nodes
// file for who is in the cluster. Every rejection names file, line and key.

import { OperatorFileError } from '../../legacy/config/errors.ts';
import type { FailoverdMode } from '../framework/bridge-conf.ts';
import type { OperatorConfig } from '../framework/config-files.ts';

export interface FailoverdConfig {
  mode: FailoverdMode;
  /** PNNs of the live nodes in the nodes file. */
  nodes: number[];
  /** How often the leader compares the placement with its allocation. */
  checkIntervalMs: number;
  /** How long ctdbd's takeover runs stay off without a renewal (active mode). */
  takeoverLeaseMs: number;
  /** A difference must last this long before shadow mode counts it (takeover runs in flight). */
  settleMs: number;
  /** Without a majority for this long, the node releases every address it hosts (quorum-guard.ts). */
  quorumLossMs: number;
  stateDir: string;
}

export function configureFailoverd(files: OperatorConfig): FailoverdConfig {
  const v = files.bridge.values;
  const nodes = files.nodes.nodes.filter((n) => !n.deleted).map((n) => n.pnn);
  if (nodes.length === 0) throw new OperatorFileError(files.paths.nodes, undefined, 'no live node in the nodes file');
  const lease = v['failoverd/takeover lease'];
  const check = v['failoverd/check interval'];
  if (lease < 3 * check) {
    const line = files.bridge.lines['failoverd/takeover lease'] ?? files.bridge.lines['failoverd/check interval'];
    throw new OperatorFileError(files.paths.bridgeConf, line,
      `[failoverd] takeover lease: ${lease} ms must be at least three check intervals (${check} ms), or ctdbd's takeover runs come back between renewals`);
  }
  return {
    mode: v['failoverd/mode'], nodes, checkIntervalMs: check, takeoverLeaseMs: lease,
    settleMs: v['failoverd/settle time'], quorumLossMs: v['failoverd/quorum loss'], stateDir: v['components/state directory'],
  };
}

/** ctdbd counts the takeover-run lease in whole seconds (ctdb_disable_message.timeout). */
export function leaseSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
