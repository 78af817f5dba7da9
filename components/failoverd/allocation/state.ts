import { Log, type AllocationLog } from './log.ts';
import type { MergedAddresses } from './merge.ts';
import type { AllocationTunables } from './types.ts';

/**
 * ipalloc_state: the merged list being allocated in place. `owners` is the
 * algorithms' working copy; everything else is read-only.
 */
export interface IpallocState {
  numNodes: number;
  /** Addresses in ctdbd's order. */
  count: number;
  ips: string[];
  owners: Int32Array;
  words: Uint32Array;
  /** address * numNodes + pnn: 1 when the node may host the address. */
  available: Uint8Array;
  noIpTakeover: boolean;
  noIpFailback: boolean;
  forceRebalanceNodes?: readonly number[];
  log: Log;
}

export function ipallocState(m: MergedAddresses, tunables: AllocationTunables, forceRebalanceNodes?: readonly number[],
  log?: AllocationLog): IpallocState {
  return {
    numNodes: m.numNodes,
    count: m.ips.length,
    ips: m.ips,
    owners: Int32Array.from(m.owners),
    words: m.words,
    available: m.available,
    noIpTakeover: tunables.NoIPTakeover !== 0,
    noIpFailback: tunables.NoIPFailback !== 0,
    forceRebalanceNodes,
    log: new Log(log),
  };
}

/** can_node_takeover_ip: NoIPTakeover forbids every move, else the node must have the address available. */
export function canTakeover(s: IpallocState, ip: number, pnn: number): boolean {
  return !s.noIpTakeover && s.available[ip * s.numNodes + pnn] === 1;
}
