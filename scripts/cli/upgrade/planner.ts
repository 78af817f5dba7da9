// plan(observation, request) -> the ordered steps that take the chosen nodes
// to the target stage, with the preflight checks that must pass first.
// Pure: the steps follow from what the cluster reports, so a rerun after a
// crash plans only what is still missing (or still to undo).

import { STAGE_NAMES, doesFailover, runsFailoverd, runsTransportd, stageOf, type ClusterObservation, type Stage } from './stages.ts';
import { preflight, type Check } from './preflight.ts';

export type StepKind =
  | 'start-transportd' | 'start-components' | 'handover' | 'uplink-ws'
  | 'uplink-tunnel' | 'handback' | 'stop-components' | 'stop-transportd';

/** Each step's undo (what a failed run does in reverse order). */
export const UNDO: Readonly<Record<StepKind, StepKind>> = {
  'start-transportd': 'stop-transportd', 'stop-transportd': 'start-transportd',
  'start-components': 'stop-components', 'stop-components': 'start-components',
  handover: 'handback', handback: 'handover',
  'uplink-ws': 'uplink-tunnel', 'uplink-tunnel': 'uplink-ws',
};

export const CLUSTER_STEPS: ReadonlySet<StepKind> = new Set(['handover', 'handback', 'uplink-ws', 'uplink-tunnel']);

/** What each step waits for (the progress line's "waiting for"). */
export const WAITS_FOR: Readonly<Record<StepKind, string>> = {
  'start-transportd': 'transportd answering over the tunnel',
  'start-components': 'clusterd and failoverd answering (shadow)',
  handover: 'ctdbd takeover runs held off on every node',
  'uplink-ws': 'every transportd linked over WebSocket (ctdbd does failover meanwhile), then failoverd active again',
  'uplink-tunnel': 'every transportd back on the tunnel (ctdbd does failover meanwhile), then failoverd active again',
  handback: 'takeover lease handed back to ctdbd',
  'stop-components': 'clusterd and failoverd gone',
  'stop-transportd': 'transportd gone (node legacy-only)',
};

export interface Step {
  kind: StepKind;
  /** null: a cluster-wide step (every node at once, through the transport). */
  node: number | null;
  from: Stage;
  to: Stage;
  waitsFor: string;
}

export type Direction = 'advance' | 'rollback';

export interface PlanRequest {
  direction: Direction;
  /** Default: one stage on from the lowest chosen node (advance), one back from the highest (rollback). */
  target?: Stage;
  nodes: number[] | 'all';
}

export interface Plan {
  direction: Direction;
  target: Stage;
  /** The nodes the request chose. */
  nodes: number[];
  steps: Step[];
  checks: Check[];
  /** Every check passed. */
  ok: boolean;
}

export class UnknownNodeArgumentError extends Error {
  override name = 'UnknownNodeArgumentError';
  constructor(readonly pnn: number, known: number[]) {
    super(`node ${pnn} is not in the cluster (nodes ${known.join(', ')})`);
  }
}

/** The nodes a node step of `kind` is planned for. */
export const startedBy = (steps: readonly Step[], kind: StepKind): Set<number | null> => new Set(steps.filter((s) => s.kind === kind).map((s) => s.node));

const step = (kind: StepKind, node: number | null, from: Stage, to: Stage): Step => ({ kind, node, from, to, waitsFor: WAITS_FOR[kind] });

export function defaultTarget(obs: ClusterObservation, direction: Direction, nodes: number[]): Stage {
  const stages = obs.nodes.filter((n) => nodes.includes(n.pnn)).map((n) => stageOf(n).stage);
  if (stages.length === 0) return 0;
  return (direction === 'advance' ? Math.min(4, Math.min(...stages) + 1) : Math.max(0, Math.max(...stages) - 1)) as Stage;
}

export function plan(obs: ClusterObservation, req: PlanRequest): Plan {
  const all = obs.nodes.map((n) => n.pnn);
  const nodes = req.nodes === 'all' ? all : [...new Set(req.nodes)].sort((a, b) => a - b);
  for (const pnn of nodes) if (!all.includes(pnn)) throw new UnknownNodeArgumentError(pnn, all);
  const target = req.target ?? defaultTarget(obs, req.direction, nodes);
  const steps: Step[] = [];
  const chosen = obs.nodes.filter((n) => nodes.includes(n.pnn));
  if (req.direction === 'advance') {
    for (const n of chosen) {
      const { stage } = stageOf(n);
      if (target >= 1 && n.services.transportd !== 'running') steps.push(step('start-transportd', n.pnn, 0, 1));
      if (target >= 2 && (stage < 2 || n.services.clusterd !== 'running' || n.services.failoverd !== 'running' || n.failoverdMode === null)) {
        steps.push(step('start-components', n.pnn, 1, 2));
      }
    }
    // A node left in stage 0 takes no part in the cluster-wide steps: its ctdbd follows failoverd's controls.
    const withFailoverd = obs.nodes.filter((n) => runsFailoverd(n) || startedBy(steps, 'start-components').has(n.pnn));
    const withTransportd = obs.nodes.filter((n) => runsTransportd(n) || startedBy(steps, 'start-transportd').has(n.pnn));
    if (target >= 3 && withFailoverd.some((n) => !doesFailover(n.failoverdMode))) steps.push(step('handover', null, 2, 3));
    if (target >= 4 && withTransportd.some((n) => n.uplink !== 'ws')) steps.push(step('uplink-ws', null, 3, 4));
  } else {
    if (target < 4 && obs.nodes.some((n) => n.uplink === 'ws')) steps.push(step('uplink-tunnel', null, 4, 3));
    // An uplink step ends with failoverd active (stages 3 and 4), so below 3 a handback follows it.
    if (target < 3 && (steps.length > 0 || obs.nodes.some((n) => doesFailover(n.failoverdMode)))) steps.push(step('handback', null, 3, 2));
    for (const n of chosen) {
      const present = (h: string) => h === 'running' || h === 'failed' || h === 'unknown';
      if (target < 2 && (present(n.services.clusterd) || present(n.services.failoverd))) steps.push(step('stop-components', n.pnn, 2, 1));
      if (target < 1 && present(n.services.transportd)) steps.push(step('stop-transportd', n.pnn, 1, 0));
    }
  }
  const checks = preflight(obs, { direction: req.direction, target, nodes, all: req.nodes === 'all' || all.every((p) => nodes.includes(p)) }, steps);
  return { direction: req.direction, target, nodes, steps, checks, ok: checks.every((c) => c.ok) };
}

export function describeStep(s: Step): string {
  const where = s.node === null ? 'all nodes' : `node ${s.node}`;
  return `${s.kind} (${where}: stage ${s.from} ${STAGE_NAMES[s.from]} -> ${s.to} ${STAGE_NAMES[s.to]})`;
}
