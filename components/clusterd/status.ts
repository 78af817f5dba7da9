// The shapes clusterd.status / clusterd.subscribe answer with and
// clusterd.event carries (schemas in messages.ts).

import type { ClusterdMode } from '../framework/bridge-conf.ts';
import type { Difference } from '../framework/differences.ts';
import type { NodeState } from './core/types.ts';

export interface NodeStatus {
  pnn: number;
  address: string;
  state: NodeState;
  /** ctdbd's flags for the node; null while ctdbd cannot be asked. */
  legacyFlags: number | null;
  /** A clusterd answers on that node. */
  clusterd: boolean;
  heartbeatAgeMs: number | null;
}

export interface ClusterStatus {
  node: number;
  mode: ClusterdMode;
  leader: number | null;
  epoch: number;
  /** Only on the leader: how long its lease still runs without renewal. */
  leaseRemainingMs: number | null;
  nodes: NodeStatus[];
  legacy: { reachable: boolean; leader: number | null };
  differences: { current: Difference[]; total: number };
  clusterLock: 'held' | 'not-held' | null;
}

export interface ClusterEvent {
  seq: number;
  /** The node whose clusterd sent the event. */
  node: number;
  kind: 'node' | 'leader' | 'mode';
  reason: string;
  epoch: number;
  view?: NodeStatus;
  previousState?: NodeState | null;
  leader?: number | null;
  previousLeader?: number | null;
  mode?: ClusterdMode;
}
