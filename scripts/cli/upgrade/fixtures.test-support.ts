// Fixture observations for the planner, preflight and format tests.

import type { ClusterObservation, NodeObservation, Stage } from './stages.ts';

export function nodeAt(pnn: number, stage: Stage, over: Partial<NodeObservation> = {}): NodeObservation {
  const t = stage >= 1;
  const c = stage >= 2;
  return {
    pnn, ctdbFlags: 0,
    services: { transportd: t ? 'running' : 'stopped', clusterd: c ? 'running' : 'stopped', failoverd: c ? 'running' : 'stopped' },
    uplink: t ? (stage === 4 ? 'ws' : 'tunnel') : null,
    failoverdMode: c ? (stage >= 3 ? 'active' : 'shadow') : null,
    versions: t ? { ours: 'ctdb-bridge 1.0.0', protocol: [1] } : { ours: null, protocol: null },
    clusterd: c ? { leader: 0, lost: [] } : null,
    notes: [],
    ...over,
  };
}

export function clusterAt(stages: Stage[], over: Partial<ClusterObservation> = {}): ClusterObservation {
  const nodes = stages.map((s, pnn) => nodeAt(pnn, s));
  const withFailoverd = nodes.filter((n) => n.failoverdMode !== null);
  return {
    nodes,
    deciding: withFailoverd.length > 0
      ? { pnn: withFailoverd[0].pnn, mode: withFailoverd[0].failoverdMode!, differences: 0, offPlan: [], leaseHeld: withFailoverd[0].failoverdMode === 'active' }
      : null,
    observer: nodes.find((n) => n.uplink !== null)?.pnn ?? null,
    ours: { software: 'ctdb-bridge 1.0.0', protocol: [1] },
    uplinkSwitch: { supported: true },
    ...over,
  };
}
