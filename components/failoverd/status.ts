// What failoverd.status answers (schemas in messages.ts).

import type { FailoverdMode } from '../framework/bridge-conf.ts';
import type { Difference } from '../framework/differences.ts';

export interface AddressStatus {
  ip: string;
  /** Who hosts it now, as the nodes report it (-1: nobody). */
  host: number;
  /** Where the leader's allocation puts it (-1: nobody may host it). */
  plan: number;
}

export interface TakeoverRunSummary {
  /** Wall-clock time the run ended (ms since the epoch). */
  at: number;
  durationMs: number;
  reason: string;
  /** Addresses whose host changed. */
  moved: number;
  /** null when it completed. */
  error: string | null;
}

export interface FailoverStatus {
  node: number;
  mode: FailoverdMode;
  leader: number | null;
  epoch: number;
  /** This node's failoverd decides (its clusterd leads). */
  deciding: boolean;
  /** Filled on the deciding node; empty elsewhere. */
  addresses: AddressStatus[];
  drained: number[];
  differences: { current: Difference[]; total: number };
  /** Active mode on the deciding node: ctdbd's takeover runs held off, and on which nodes. */
  takeoverLease: { held: boolean; nodes: number[]; renewedAgoMs: number | null } | null;
  lastRun: TakeoverRunSummary | null;
  runs: number;
}
