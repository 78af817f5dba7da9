// The checks a plan must pass before anything is touched: every node
// reachable, versions compatible, nobody unhealthy, nothing left half-done
// by an earlier run outside what this run finishes or undoes, no shadow
// differences before a handover, nodes left out of a cluster-wide step
// left as they are (legacy or already there), and
// a service manager that can switch uplinks for stage 4. Pure.

import { NodeFlag } from '../../../legacy/protocol/constants.ts';
import { doesFailover, runsFailoverd, runsTransportd, stageOf, type ClusterObservation, type NodeObservation } from './stages.ts';
import { CLUSTER_STEPS, startedBy, type Direction, type Step, type StepKind } from './planner.ts';

export type CheckId = 'reachable' | 'healthy' | 'versions' | 'half-done' | 'cluster-scope' | 'every-node-ready' | 'shadow-differences' | 'uplink-switch';

export interface Check {
  id: CheckId;
  ok: boolean;
  /** What was found: the reason for a refusal, or what passed. */
  detail: string;
}

export interface PreflightScope {
  direction: Direction;
  target: number;
  nodes: number[];
  /** The request covers every node (--all). */
  all: boolean;
}

/** ctdbd flags that make a node unfit for a step (DISCONNECTED is "unreachable"). */
const UNFIT = NodeFlag.UNHEALTHY | NodeFlag.BANNED | NodeFlag.STOPPED | NodeFlag.PERMANENTLY_DISABLED;

const list = (pnns: number[]) => pnns.join(', ');
const check = (id: CheckId, bad: string[], passed: string): Check => ({ id, ok: bad.length === 0, detail: bad.length === 0 ? passed : bad.join('; ') });

function reachable(obs: ClusterObservation, steps: Step[]): Check {
  const bad: string[] = [];
  const noCtdbd = obs.nodes.filter((n) => n.ctdbFlags === null || (n.ctdbFlags & NodeFlag.DISCONNECTED) !== 0).map((n) => n.pnn);
  if (noCtdbd.length > 0) bad.push(`ctdbd reports node(s) ${list(noCtdbd)} disconnected or does not answer`);
  // Mixed uplinks cannot reach each other: a cluster-wide uplink step in the plan is what fixes that.
  const fixingUplinks = steps.some((s) => s.kind === 'uplink-ws' || s.kind === 'uplink-tunnel');
  const silent = obs.nodes.filter((n) => n.services.transportd === 'running' && n.uplink === null).map((n) => n.pnn);
  if (silent.length > 0 && !fixingUplinks) bad.push(`transportd on node(s) ${list(silent)} runs but does not answer over the transport`);
  return check('reachable', bad, `ctdbd answers for all ${obs.nodes.length} nodes; every running transportd answers`);
}

function healthy(obs: ClusterObservation, scope: PreflightScope): Check {
  const bad: string[] = [];
  const unfit = obs.nodes.filter((n) => n.ctdbFlags !== null && (n.ctdbFlags & UNFIT) !== 0).map((n) => n.pnn);
  if (unfit.length > 0) bad.push(`ctdbd reports node(s) ${list(unfit)} unhealthy, banned, stopped or disabled`);
  // A rollback may undo a failed service on a node it covers; anything else failed blocks.
  const failed = obs.nodes.filter((n) => Object.values(n.services).includes('failed'))
    .filter((n) => scope.direction === 'advance' || !scope.nodes.includes(n.pnn));
  for (const n of failed) {
    const which = Object.entries(n.services).filter(([, h]) => h === 'failed').map(([s]) => s);
    bad.push(`node ${n.pnn}: ${which.join(', ')} failed`);
  }
  return check('healthy', bad, 'no node unhealthy, no service failed');
}

function versions(obs: ClusterObservation): Check {
  const bad: string[] = [];
  for (const n of obs.nodes) {
    const p = n.versions.protocol;
    if (p && !p.some((v) => obs.ours.protocol.includes(v))) {
      bad.push(`node ${n.pnn} speaks transport protocol ${p.join(',')}, this CLI ${obs.ours.protocol.join(',')}`);
    }
  }
  const others = [...new Set(obs.nodes.map((n) => n.versions.ours).filter((v): v is string => v !== null && v !== obs.ours.software))];
  return check('versions', bad, `transport protocol ${obs.ours.protocol.join(',')} everywhere${others.length > 0 ? ` (also running: ${others.join(', ')})` : ''}`);
}

function halfDone(obs: ClusterObservation, scope: PreflightScope, steps: Step[]): Check {
  const bad: string[] = [];
  for (const n of obs.nodes) {
    const { partial } = stageOf(n);
    if (partial && !scope.nodes.includes(n.pnn)) {
      bad.push(`node ${n.pnn} is half-done (${partial}): finish it with advance --node ${n.pnn} or undo it with rollback --node ${n.pnn}`);
    }
  }
  const kinds = new Set(steps.map((s) => s.kind));
  const withFailoverd = obs.nodes.filter((n) => n.failoverdMode !== null);
  const active = withFailoverd.filter((n) => doesFailover(n.failoverdMode)).map((n) => n.pnn);
  if (active.length > 0 && active.length < withFailoverd.length && !kinds.has('handover') && !kinds.has('handback')) {
    bad.push(`failoverd is active on node(s) ${list(active)} only: finish with advance --all --to 3 or undo with rollback --all --to 2`);
  }
  const ws = obs.nodes.filter((n) => n.uplink === 'ws').map((n) => n.pnn);
  const answering = obs.nodes.filter((n) => n.uplink !== null || n.services.transportd === 'running');
  if (ws.length > 0 && ws.length < answering.length && !kinds.has('uplink-ws') && !kinds.has('uplink-tunnel')) {
    bad.push(`only node(s) ${list(ws)} use the ws uplink: finish with advance --all --to 4 or undo with rollback --all --to 3`);
  }
  return check('half-done', bad, 'nothing left half-done outside this run');
}

/** Why a cluster-wide step would change node `n` too (null: it leaves it as it is). */
function changedBy(kind: StepKind, n: NodeObservation): string | null {
  switch (kind) {
    case 'handover': return runsFailoverd(n) && !doesFailover(n.failoverdMode) ? 'its failoverd would go active' : null;
    case 'handback': return runsFailoverd(n) && n.failoverdMode !== 'shadow' ? 'its failoverd would go back to shadow' : null;
    case 'uplink-ws':
    case 'uplink-tunnel': {
      const uplink = kind === 'uplink-ws' ? 'ws' : 'tunnel';
      return runsTransportd(n) && n.uplink !== uplink ? `its transportd would move to the ${uplink} uplink` : null;
    }
    default: return null;
  }
}

/**
 * Cluster-wide steps switch every node that runs our services at once. A
 * node the request leaves out must be one they leave as it is: legacy
 * (stage 0, its ctdbd follows failoverd's controls) or already there.
 */
function clusterScope(obs: ClusterObservation, scope: PreflightScope, steps: Step[]): Check {
  const wide = [...new Set(steps.filter((s) => CLUSTER_STEPS.has(s.kind)).map((s) => s.kind))];
  const bad: string[] = [];
  for (const n of obs.nodes.filter((x) => !scope.nodes.includes(x.pnn))) {
    const why = wide.map((k) => changedBy(k, n)).filter((w): w is string => w !== null);
    if (why.length > 0) bad.push(`${wide.join(', ')} switch${wide.length === 1 ? 'es' : ''} every node at once and node ${n.pnn} is left out (${why.join(', ')}): add it to --node or use --all`);
  }
  return check('cluster-scope', bad, wide.length === 0 ? 'no cluster-wide step'
    : scope.all ? 'cluster-wide steps with --all' : 'the nodes left out stay as they are (legacy or already there)');
}

/**
 * After this run's node steps: a handover needs failoverd on every node that
 * runs transportd (a legacy node, without either, is driven through its
 * ctdbd); the ws uplink needs transportd on every node (a legacy node is
 * known to the others only through ctdbd, over the tunnel).
 */
function everyNodeReady(obs: ClusterObservation, steps: Step[]): Check {
  const kinds = new Set(steps.map((s) => s.kind));
  if (!kinds.has('handover') && !kinds.has('uplink-ws')) return check('every-node-ready', [], 'no handover or ws uplink in this run');
  const bad: string[] = [];
  if (kinds.has('handover')) {
    const transportdOnly = obs.nodes.filter((n) => stageOf(n).stage === 1 && !startedBy(steps, 'start-components').has(n.pnn)).map((n) => n.pnn);
    if (transportdOnly.length > 0) {
      bad.push(`handover needs failoverd on every node running transportd; node(s) ${list(transportdOnly)} in stage 1: advance them to 2 in this run or roll them back to 0`);
    }
  }
  if (kinds.has('uplink-ws')) {
    const legacy = obs.nodes.filter((n) => !runsTransportd(n) && !startedBy(steps, 'start-transportd').has(n.pnn)).map((n) => n.pnn);
    if (legacy.length > 0) bad.push(`the ws uplink needs transportd on every node; node(s) ${list(legacy)} legacy (reached only through ctdbd): include them or stay in stage 3`);
  }
  return check('every-node-ready', bad, 'every node runs failoverd by the handover, or stays legacy');
}

function shadowDifferences(obs: ClusterObservation, steps: Step[]): Check {
  if (!steps.some((s) => s.kind === 'handover')) return check('shadow-differences', [], 'no handover in this run');
  if (steps.some((s) => s.kind === 'start-components')) {
    return check('shadow-differences', [], 'failoverd starts in this run: checked again right before the handover');
  }
  const d = obs.deciding;
  if (d === null) return check('shadow-differences', ['no deciding failoverd answers (clusterd has no leader?)'], '');
  const bad: string[] = [];
  if (d.differences > 0) bad.push(`the deciding failoverd (node ${d.pnn}) reports ${d.differences} shadow difference(s) with ctdbd`);
  if (d.offPlan.length > 0) bad.push(`ctdbd's placement differs from failoverd's for ${d.offPlan.join(', ')}: handover would move them`);
  return check('shadow-differences', bad, `the deciding failoverd (node ${d.pnn}) agrees with ctdbd`);
}

function uplinkSwitch(obs: ClusterObservation, steps: Step[]): Check {
  const needs = steps.some((s) => s.kind === 'uplink-ws' || s.kind === 'uplink-tunnel');
  if (!needs) return check('uplink-switch', [], 'no uplink switch in this run');
  return obs.uplinkSwitch.supported
    ? check('uplink-switch', [], 'the service manager restarts transportd with the other uplink')
    : check('uplink-switch', [obs.uplinkSwitch.why], '');
}

export function preflight(obs: ClusterObservation, scope: PreflightScope, steps: Step[]): Check[] {
  return [
    reachable(obs, steps), healthy(obs, scope), versions(obs), halfDone(obs, scope, steps), clusterScope(obs, scope, steps),
    everyNodeReady(obs, steps), shadowDifferences(obs, steps), uplinkSwitch(obs, steps),
  ];
}
