import { ipalloc } from './ipalloc.ts';
import type { AllocationLog } from './log.ts';
import { canHostIps, knownAddresses, mergeAddresses, type KnownAddress } from './merge.ts';
import { ipallocState } from './state.ts';
import type { AllocationInput, Placement } from './types.ts';

/**
 * Public IP allocation exactly as ctdbd 4.17's takeover helper computes it:
 * the merged list of every node's addresses, then LCP2, deterministic or
 * non-deterministic allocation. Pure: no I/O, input untouched.
 */

export * from './types.ts';
export type { KnownAddress } from './merge.ts';
export type { AllocationLog, AllocationLogLevel } from './log.ts';
export { AllocationInputError } from './errors.ts';

export interface AllocateOptions {
  /** Receives ctdbd's allocation log lines (same text and levels). */
  log?: AllocationLog;
}

/**
 * One placement per known address, in ctdbd's list order (largest address
 * key first, IPv6 above IPv4); pnn -1 where no node may host it. When the
 * cluster cannot host addresses yet (ipalloc_can_host_ips), the helper
 * allocates nothing and every owner stays as merged, i.e. -1.
 * Throws AllocationInputError for malformed input.
 */
export function allocate(input: AllocationInput, options: AllocateOptions = {}): Placement[] {
  const merged = mergeAddresses(input);
  const state = ipallocState(merged, input.tunables, input.forceRebalanceNodes, options.log);
  if (canHostIps(merged)) ipalloc(state, input.algorithm);
  else state.log.write('notice', 'No nodes available to host public IPs yet');
  return merged.ips.map((ip, i) => ({ ip, pnn: state.owners[i] }));
}

/** ctdb's merged list: each known address with its current owner and the nodes that know it and may host it. */
export function mergeReports(input: AllocationInput): KnownAddress[] {
  return knownAddresses(mergeAddresses(input));
}
