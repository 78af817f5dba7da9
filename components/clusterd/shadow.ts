// Where clusterd's view differs from ctdbd's: per node, whether it is up
// (clusterd by its heartbeats, ctdbd by its node links), and who leads.
// Pure: the caller passes both views; framework/differences.ts counts them.

import { NodeFlag } from '../../legacy/protocol/constants.ts';
import type { Difference } from '../framework/differences.ts';

export interface ShadowInput {
  nodes: Array<{ pnn: number; state: string; clusterd: boolean }>;
  leader: number | undefined;
  legacy: { nodes: Array<{ pnn: number; flags: number }>; leader: number | undefined } | undefined;
}

const DOWN_STATES = new Set(['disconnected', 'unreachable']);

export function differences(input: ShadowInput): Difference[] {
  const legacy = input.legacy;
  if (!legacy) return [];
  const out: Difference[] = [];
  const flagsOf = new Map(legacy.nodes.map((n) => [n.pnn, n.flags]));
  for (const node of input.nodes) {
    const flags = flagsOf.get(node.pnn);
    if (flags === undefined || !node.clusterd) continue;
    const legacyUp = (flags & NodeFlag.DISCONNECTED) === 0;
    const oursUp = !DOWN_STATES.has(node.state);
    if (legacyUp !== oursUp) {
      out.push({ subject: `node ${node.pnn}`, ours: node.state, legacy: legacyUp ? 'connected' : 'disconnected' });
    }
  }
  if (legacy.leader !== undefined && input.leader !== undefined && legacy.leader !== input.leader) {
    out.push({ subject: 'leader', ours: String(input.leader), legacy: String(legacy.leader) });
  }
  return out;
}
