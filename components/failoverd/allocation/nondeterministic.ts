import { basicAllocateUnassigned, coverage, findTakeoverNode, unassignUnsuitable } from './common.ts';
import { canTakeover, type IpallocState } from './state.ts';

/**
 * ipalloc_nondeterministic: keep what may stay, give each unassigned
 * address to the least loaded node, then (unless NoIPFailback) even out
 * address counts with basic_failback.
 */
export function allocateNondeterministic(s: IpallocState): void {
  unassignUnsuitable(s);
  const counts = coverage(s);
  basicAllocateUnassigned(s, counts);
  if (s.noIpFailback) return;
  basicFailback(s, counts);
}

/**
 * basic_failback: walking the list, the first address whose possible hosts
 * differ by more than one in address count makes the busiest of them
 * (lowest PNN among equals) hand its first listed address to the least
 * loaded node that may take it; then the walk restarts. At most
 * count + 5 hand-overs, as in ctdbd.
 */
function basicFailback(s: IpallocState, counts: Int32Array): void {
  const maxRetries = s.count + 5;
  let retries = 0;
  restart: for (;;) {
    for (let i = 0; i < s.count; i++) {
      if (s.owners[i] === -1) continue;
      let maxNode = -1;
      let maxNum = 0;
      let minNum = 0;
      for (let k = 0; k < s.numNodes; k++) {
        if (!canTakeover(s, i, k)) continue;
        const num = counts[k];
        if (maxNode === -1) {
          maxNode = k;
          maxNum = num;
          minNum = num;
          continue;
        }
        if (num > maxNum) {
          maxNode = k;
          maxNum = num;
        }
        if (num < minNum) minNum = num;
      }
      if (maxNode === -1) {
        s.log.write('warning', `Could not find maxnode. May not be able to serve ip '${s.ips[i]}'`);
        continue;
      }
      if (maxNum > minNum + 1 && retries < maxRetries) {
        const victim = s.owners.indexOf(maxNode);
        if (victim !== -1) {
          findTakeoverNode(s, victim, counts);
          retries++;
          continue restart;
        }
      }
    }
    return;
  }
}
