/**
 * The input and output of one public IP allocation, as a takeover run of
 * ctdbd 4.17 gathers and computes it (ctdb_takeover_helper). Pure data: the
 * allocation modules read it, the takeover run fills it from ctdbd's
 * controls, and `ctdb-bridge failover allocate` reads it as JSON.
 */

export type AllocationAlgorithm = 'lcp2' | 'deterministic' | 'nondeterministic';

/** ctdbd's IPAllocAlgorithm tunable values. */
export const ALGORITHM_BY_TUNABLE: Record<number, AllocationAlgorithm> = {
  0: 'deterministic',
  1: 'nondeterministic',
  2: 'lcp2',
};

/** The tunables a takeover run reads (ctdbd's names and defaults). */
export interface AllocationTunables {
  NoIPFailback: number;
  NoIPTakeover: number;
  /** Carried for completeness: ctdbd 4.17 reads it but no allocation code consults it (no effect). */
  NoIPHostOnAllDisabled: number;
}

export const DEFAULT_ALLOCATION_TUNABLES: AllocationTunables = {
  NoIPFailback: 0,
  NoIPTakeover: 0,
  NoIPHostOnAllDisabled: 0,
};

/** One public address as one node reports it (GET_PUBLIC_IPS). */
export interface ReportedAddress {
  /** inet_ntop spelling (IPv4 or IPv6). */
  ip: string;
  /** The owner this node reports; -1 when none. */
  pnn: number;
  /** In this node's "available" list (GET_PUBLIC_IPS with the available flag). */
  available: boolean;
}

/** One node of the node map with what it reports. */
export interface NodeReport {
  pnn: number;
  /** ctdbd's node flags bitmask (NodeFlag in legacy/protocol/constants.ts). */
  flags: number;
  /** ctdbd's run state number (RunState; 5 = RUNNING). */
  runstate: number;
  ips: ReportedAddress[];
}

export interface AllocationInput {
  algorithm: AllocationAlgorithm;
  tunables: AllocationTunables;
  nodes: NodeReport[];
  /** PNNs given to the helper as force-rebalance nodes (LCP2 only). */
  forceRebalanceNodes?: number[];
}

/** Where one address goes; pnn -1 when no node may host it. */
export interface Placement {
  ip: string;
  pnn: number;
}
