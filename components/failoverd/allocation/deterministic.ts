import { basicAllocateUnassigned, coverage, unassignUnsuitable } from './common.ts';
import type { IpallocState } from './state.ts';

/**
 * ipalloc_deterministic: the address at list position i goes "home" to node
 * i mod node count, then homes that may not host it give it to the least
 * loaded node that may. No failback: the homes are the balance.
 */
export function allocateDeterministic(s: IpallocState): void {
  s.log.write('notice', 'Deterministic IPs enabled. Resetting all ip allocations');
  for (let i = 0; i < s.count; i++) s.owners[i] = i % s.numNodes;
  if (s.noIpFailback) {
    s.log.write('warning', "WARNING: 'NoIPFailback' set but ignored - incompatible with 'Deterministic IPs");
  }
  unassignUnsuitable(s);
  basicAllocateUnassigned(s, coverage(s));
}
