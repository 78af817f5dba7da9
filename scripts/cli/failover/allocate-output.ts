import type { Placement } from '../../../components/failoverd/allocation/types.ts';

/**
 * What `ctdb-bridge failover allocate` prints, in allocate()'s order (ctdb's
 * merged list: largest address first): JSON `[{"ip":...,"pnn":...}]`, or
 * one `IP PNN` line per address (PNN -1: no node may host it).
 */

export function formatPlacementJson(placement: readonly Placement[]): string {
  return `${JSON.stringify(placement.map((p) => ({ ip: p.ip, pnn: p.pnn })))}\n`;
}

export function formatPlacementText(placement: readonly Placement[]): string {
  return placement.map((p) => `${p.ip} ${p.pnn}\n`).join('');
}
