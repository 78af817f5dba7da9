import { randomInt } from 'node:crypto';

/**
 * Namespace names of a netns cluster: `ctdbb-<id>-cl` (client, holds the
 * bridge) and `ctdbb-<id>-n<pnn>` (one per node). The id is two random
 * base-36 characters followed by the owner PID in base 36 ('0': no owner),
 * so a later run can sweep the namespaces of a dead owner from their names
 * alone, without the cluster directory.
 */

export const NETNS_PREFIX = 'ctdbb-';

export type NamespaceRole = { role: 'client' } | { role: 'node'; pnn: number };

export function clusterId(ownerPid: number | undefined, random: () => number = () => randomInt(36 * 36)): string {
  return random().toString(36).padStart(2, '0') + (ownerPid ?? 0).toString(36);
}

/** The owner PID encoded in an id, undefined when the cluster has none (CLI clusters). */
export function ownerOfId(id: string): number | undefined {
  const owner = parseInt(id.slice(2), 36);
  return Number.isInteger(owner) && owner > 0 ? owner : undefined;
}

export function clientNamespace(id: string): string {
  return `${NETNS_PREFIX}${id}-cl`;
}

export function nodeNamespace(id: string, pnn: number): string {
  return `${NETNS_PREFIX}${id}-n${pnn}`;
}

/** Id and role of one of our namespace names; null for any other name. */
export function parseNamespace(name: string): ({ id: string } & NamespaceRole) | null {
  const m = /^ctdbb-([0-9a-z]{3,})-(cl|n(\d+))$/.exec(name);
  if (!m) return null;
  return m[2] === 'cl' ? { id: m[1], role: 'client' } : { id: m[1], role: 'node', pnn: Number(m[3]) };
}
