import { NodeFlag } from '../../../legacy/protocol/constants.ts';
import { addressKey, compareKeys } from '../allocation/address-key.ts';
import { canHostIps as canHostMerged, knownAddresses, mergeAddresses } from '../allocation/merge.ts';
import type { AllocationInput, Placement } from '../allocation/types.ts';

/**
 * What ctdb_takeover_helper sends once the allocation is known (pure): the
 * control lists of its three phases, in its order. Addresses come in the
 * order of ctdb's merged list (descending address key, IPv6 before IPv4);
 * nodes in PNN order.
 *
 * - RELEASE_IP for every address (moving or not) to every connected node
 *   that knows it, except its new owner, carrying the new owner (-1 when
 *   nobody may host it). Most are redundant; they tell each node who hosts
 *   the address, which `ctdb ip` shows.
 * - TAKEOVER_IP for every assigned address to its owner, also when it does
 *   not move.
 * - IPREALLOCATED to every connected node.
 *
 * The input is what gather() collected: a node's `ips` are what it answered
 * (a disconnected node is never asked and knows nothing).
 */

export interface PlannedRelease {
  ip: string;
  /** The new owner carried in the request; -1 when nobody may host the address. */
  pnn: number;
  /** Nodes the release goes to, in PNN order. */
  nodes: number[];
}

export interface PlannedTakeover {
  ip: string;
  pnn: number;
}

export interface TakeoverPlan {
  releases: PlannedRelease[];
  takeovers: PlannedTakeover[];
  ipreallocated: number[];
}

export interface Move {
  ip: string;
  /** The owner before the run (-1 none). */
  from: number;
  to: number;
}

export function connectedNodes(input: AllocationInput): number[] {
  return input.nodes.filter((n) => (n.flags & NodeFlag.DISCONNECTED) === 0).map((n) => n.pnn);
}

/** Not disconnected, banned, stopped or deleted. */
export function activeNodes(input: AllocationInput): number[] {
  return input.nodes.filter((n) => (n.flags & NodeFlag.INACTIVE) === 0).map((n) => n.pnn);
}

/** The order of ctdb's merged address list: descending key. */
export function compareHelperOrder(a: string, b: string): number {
  return compareKeys(addressKey(b), addressKey(a));
}

/**
 * Who hosts each address now, by ctdb's merge rule (allocation/merge.ts): a
 * report counts only from the node naming itself; of several, the highest
 * PNN wins. Every address a connected node knows is present (-1 when nobody
 * claims it).
 */
export function currentOwners(input: AllocationInput): Map<string, number> {
  return new Map(knownAddresses(mergeAddresses(input)).map((k) => [k.ip, k.owner]));
}

/**
 * ipalloc_can_host_ips: some address is hosted, or none is but some node
 * has an address available. When false the helper skips allocation and
 * sends only IPREALLOCATED.
 */
export function canHostIps(input: AllocationInput): boolean {
  return canHostMerged(mergeAddresses(input));
}

/** The three phases for `placement` (addresses it does not name go nowhere: -1). */
export function planTakeoverRun(input: AllocationInput, placement: readonly Placement[]): TakeoverPlan {
  const target = new Map(placement.map((p) => [p.ip, p.pnn]));
  // The merged list is already in the helper's order (largest key first).
  const known = knownAddresses(mergeAddresses(input));
  const releases: PlannedRelease[] = [];
  const takeovers: PlannedTakeover[] = [];
  for (const { ip, knownOn } of known) {
    const pnn = target.get(ip) ?? -1;
    const nodes = knownOn.filter((n) => n !== pnn);
    if (nodes.length > 0) releases.push({ ip, pnn, nodes });
  }
  for (const { ip } of known) {
    const pnn = target.get(ip) ?? -1;
    if (pnn >= 0) takeovers.push({ ip, pnn });
  }
  return { releases, takeovers, ipreallocated: connectedNodes(input) };
}

/** Failover disabled, or no node can host an address yet: only IPREALLOCATED, to every connected node. */
export function planIpreallocatedOnly(connected: readonly number[]): TakeoverPlan {
  return { releases: [], takeovers: [], ipreallocated: [...connected] };
}

/** Addresses whose owner changes, in helper order. */
export function movesOf(input: AllocationInput, placement: readonly Placement[]): Move[] {
  const before = currentOwners(input);
  return placement
    .map((p) => ({ ip: p.ip, from: before.get(p.ip) ?? -1, to: p.pnn }))
    .filter((m) => m.from !== m.to)
    .sort((a, b) => compareHelperOrder(a.ip, b.ip));
}
