// The five stages of a rolling upgrade (DESIGN.md "Rolling upgrade") and
// what a node runs at each; the stage of a node is read from what its
// services report (observe.ts), never from a file of the CLI.

import type { FailoverdMode } from '../../../components/framework/bridge-conf.ts';

export const STAGES = [0, 1, 2, 3, 4] as const;
export type Stage = (typeof STAGES)[number];
export const STAGE_NAMES: Readonly<Record<Stage, string>> = { 0: 'legacy', 1: 'bridge', 2: 'shadow', 3: 'handover', 4: 'native' };

export type ServiceHealth = 'running' | 'stopped' | 'failed' | 'unknown';

/** One node as the cluster reports it (observe.ts). */
export interface NodeObservation {
  pnn: number;
  /** ctdbd's node flags for it (NodeFlag bits); null when no ctdbd answered. */
  ctdbFlags: number | null;
  services: { transportd: ServiceHealth; clusterd: ServiceHealth; failoverd: ServiceHealth };
  /** The uplink its transportd reports ("tunnel", "ws"); null without an answer. */
  uplink: string | null;
  /** Its failoverd's mode; null without an answer. Any mode but shadow does failover (stage 3 or 4). */
  failoverdMode: FailoverdMode | null;
  versions: { ours: string | null; protocol: number[] | null };
  /** What its clusterd reports: the leader it follows and the nodes it cannot hear (failoverd moves their addresses); null without an answer. */
  clusterd: { leader: number | null; lost: number[] } | null;
  /** Why a service state is a guess ("transportd does not answer"); shown by status. */
  notes: string[];
}

/** The deciding failoverd's view (on clusterd's leader). */
export interface DecidingView {
  pnn: number;
  mode: FailoverdMode;
  /** Shadow differences with ctdbd right now. */
  differences: number;
  /** Addresses whose host is not where failoverd's allocation puts them. */
  offPlan: string[];
  leaseHeld: boolean;
}

export interface ClusterObservation {
  nodes: NodeObservation[];
  deciding: DecidingView | null;
  /** The node whose transportd answered the CLI; null when none did. */
  observer: number | null;
  /** What the versions must match: ours and our transport protocol versions. */
  ours: { software: string; protocol: readonly number[] };
  /** Whether this host's service manager can restart transportd with another uplink (stage 4). */
  uplinkSwitch: { supported: true } | { supported: false; why: string };
}

/** What runs on a node at each stage. */
export interface StageServices {
  transportd: 'tunnel' | 'ws' | null;
  components: boolean;
  failoverd: FailoverdMode | null;
}

export const STAGE_SERVICES: Readonly<Record<Stage, StageServices>> = {
  0: { transportd: null, components: false, failoverd: null },
  1: { transportd: 'tunnel', components: false, failoverd: null },
  2: { transportd: 'tunnel', components: true, failoverd: 'shadow' },
  3: { transportd: 'tunnel', components: true, failoverd: 'active' },
  4: { transportd: 'ws', components: true, failoverd: 'active' },
};

/** Stages 3 and 4 are switched on every node at once (one failover authority; tunnel and ws links do not meet). */
export const CLUSTER_WIDE_FROM: Stage = 3;

export class StageArgumentError extends Error {
  override name = 'StageArgumentError';
  constructor(text: string) {
    super(`unknown stage "${text}" (0-4 or ${Object.values(STAGE_NAMES).join(', ')})`);
  }
}

export function parseStage(text: string): Stage {
  const n = Number(text);
  if (Number.isInteger(n) && (STAGES as readonly number[]).includes(n)) return n as Stage;
  const named = STAGES.find((s) => STAGE_NAMES[s] === text.toLowerCase());
  if (named === undefined) throw new StageArgumentError(text);
  return named;
}

export interface NodeStage {
  stage: Stage;
  /** What is left half-done on the way to (or back from) the next stage; null when the node is cleanly in `stage`. */
  partial: string | null;
}

const up = (h: ServiceHealth) => h === 'running';

/**
 * Every answering clusterd follows the same leader and hears every node:
 * nothing an active failoverd would move addresses for. (Nodes without a
 * clusterd are judged by ctdbd's flags alone, by clusterd and here.)
 */
export function clusterdConverged(o: ClusterObservation): boolean {
  const views = o.nodes.filter((n) => n.services.clusterd === 'running').map((n) => n.clusterd);
  if (views.length === 0 || views.some((v) => v === null)) return false;
  const leader = views[0]!.leader;
  return leader !== null && views.every((v) => v!.leader === leader && v!.lost.length === 0);
}

/**
 * Whether a node runs (or may run: failed, unknown) our services. A legacy
 * node (stage 0) runs neither: cluster-wide steps leave it out, and its
 * ctdbd follows the deciding failoverd's controls.
 */
export const runsTransportd = (n: NodeObservation): boolean => n.services.transportd !== 'stopped';
export const runsFailoverd = (n: NodeObservation): boolean => n.services.failoverd !== 'stopped';

/** failoverd does failover (active, or whatever non-shadow mode it reports), not ctdbd. */
export const doesFailover = (mode: FailoverdMode | null): boolean => mode !== null && mode !== 'shadow';

/** The highest stage whose services all run as that stage wants; anything more is "half-done". */
export function stageOf(n: NodeObservation): NodeStage {
  const t = up(n.services.transportd);
  const c = up(n.services.clusterd);
  const f = up(n.services.failoverd);
  if (!t) return { stage: 0, partial: c || f ? 'components run without transportd' : null };
  if (!c || !f) {
    const extra = [c && 'clusterd', f && 'failoverd'].filter(Boolean);
    const partial = [
      extra.length > 0 ? `${extra.join(' and ')} without ${c ? 'failoverd' : 'clusterd'}` : null,
      n.uplink === 'ws' ? 'ws uplink before stage 4' : null,
    ].filter(Boolean).join('; ');
    return { stage: 1, partial: partial || null };
  }
  if (n.failoverdMode === null) return { stage: 2, partial: 'failoverd does not answer' };
  if (n.failoverdMode === 'shadow') return { stage: 2, partial: n.uplink === 'ws' ? 'ws uplink before stage 4' : null };
  return { stage: n.uplink === 'ws' ? 4 : 3, partial: null };
}
