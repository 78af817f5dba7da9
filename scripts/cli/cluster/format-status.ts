// `ctdb-bridge cluster status` / `leader` in the style of `ctdb status`:
// clusterd's state per node with ctdbd's flags beside it.

import type { ClusterStatus } from '../../../components/clusterd/status.ts';
import { prettyFlags } from '../legacy/format-nodes.ts';
import { left } from '../legacy/text.ts';

export function formatClusterStatus(s: ClusterStatus): string {
  let out = `Number of nodes:${s.nodes.length}\n`;
  for (const n of s.nodes) {
    const state = n.state.toUpperCase() + (n.clusterd ? '' : ' (NO CLUSTERD)') + (n.pnn === s.node ? ' (THIS NODE)' : '');
    const legacy = n.legacyFlags === null ? 'legacy:UNKNOWN' : `legacy:${prettyFlags(n.legacyFlags)}`;
    out += `pnn:${n.pnn} ${left(n.address, 16)} ${left(state, 30)} ${legacy}\n`;
  }
  out += formatLeader(s);
  out += `Mode:${s.mode}\n`;
  if (s.clusterLock !== null) out += `Cluster lock:${s.clusterLock === 'held' ? 'HELD' : 'NOT HELD'}\n`;
  out += `Legacy leader:${s.legacy.reachable ? (s.legacy.leader ?? 'UNKNOWN') : 'UNKNOWN (ctdbd not reachable)'}\n`;
  out += `Differences from ctdbd:${s.differences.current.length} now, ${s.differences.total} since start\n`;
  for (const d of s.differences.current) out += `  ${d.subject}: clusterd ${d.ours}, ctdbd ${d.legacy}\n`;
  return out;
}

export function formatLeader(s: Pick<ClusterStatus, 'leader' | 'epoch' | 'leaseRemainingMs'>): string {
  const lease = s.leaseRemainingMs === null ? '' : ` (lease ${Math.round(s.leaseRemainingMs)} ms)`;
  return `Leader:${s.leader ?? 'NONE'} epoch:${s.epoch}${lease}\n`;
}
