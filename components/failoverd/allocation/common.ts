import { canTakeover, type IpallocState } from './state.ts';

/** Shared steps of ipalloc_common.c. */

/** unassign_unsuitable_ips: an owner that may no longer host its address loses it. */
export function unassignUnsuitable(s: IpallocState): void {
  const { owners, numNodes, available } = s;
  for (let i = 0; i < s.count; i++) {
    const pnn = owners[i];
    if (pnn === -1 || available[i * numNodes + pnn] === 1) continue;
    if (s.log.debug) s.log.write('debug', `Unassign IP: ${s.ips[i]} from ${pnn}`);
    owners[i] = -1;
  }
}

/** node_ip_coverage for every node at once; the callers keep it current as owners change. */
export function coverage(s: IpallocState): Int32Array {
  const counts = new Int32Array(s.numNodes);
  for (let i = 0; i < s.count; i++) if (s.owners[i] !== -1) counts[s.owners[i]]++;
  return counts;
}

/**
 * find_takeover_node: the node with the fewest addresses among those that
 * may take this one (lowest PNN among equals). Returns false, leaving the
 * owner as it was, when there is none.
 */
export function findTakeoverNode(s: IpallocState, ip: number, counts: Int32Array): boolean {
  let pnn = -1;
  let min = 0;
  for (let k = 0; k < s.numNodes; k++) {
    if (!canTakeover(s, ip, k)) continue;
    if (pnn === -1 || counts[k] < min) {
      pnn = k;
      min = counts[k];
    }
  }
  if (pnn === -1) {
    s.log.write('warning', `Could not find node to take over public address '${s.ips[ip]}'`);
    return false;
  }
  const old = s.owners[ip];
  if (old !== -1) counts[old]--;
  counts[pnn]++;
  s.owners[ip] = pnn;
  return true;
}

/** basic_allocate_unassigned: each unassigned address in list order to the least loaded node. */
export function basicAllocateUnassigned(s: IpallocState, counts: Int32Array): void {
  for (let i = 0; i < s.count; i++) {
    if (s.owners[i] !== -1) continue;
    if (!findTakeoverNode(s, i, counts)) s.log.write('warning', `Failed to find node to cover ip ${s.ips[i]}`);
  }
}
