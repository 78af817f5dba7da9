import type { Logger } from '../../../legacy/common/log.ts';
import { isAlive, killAll, processesWithEnv } from '../processes.ts';
import { LocalClusterError } from '../errors.ts';
import { listNamespaces, removeNamespaces } from './network.ts';
import { ownerOfId, parseNamespace } from './names.ts';
import { NETNS_ENV } from './fabric.ts';

/**
 * Removing the leftovers of netns clusters whose owner died (a crashed test
 * run): the owner PID is part of every namespace name (names.ts), so no
 * cluster directory is needed. Clusters without an owner (CLI `up`) are
 * only removed by their own `down`, or here with `includeOwnerless`.
 */

export interface SweepOptions {
  logger?: Logger;
  /** Also remove clusters started without an owner PID. */
  includeOwnerless?: boolean;
  /** Owner liveness check (injectable for tests). */
  isOwnerAlive?: (pid: number) => boolean;
}

export interface SweepResult {
  /** Cluster ids removed. */
  removed: string[];
  /** Namespaces that could not be deleted. */
  failed: string[];
}

/** Namespaces of our clusters, grouped by cluster id. */
export function namespacesById(names = listNamespaces()): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const name of names) {
    const parsed = parseNamespace(name);
    if (!parsed) continue;
    out.set(parsed.id, [...(out.get(parsed.id) ?? []), name]);
  }
  return out;
}

export function isStale(id: string, opts: SweepOptions = {}): boolean {
  const owner = ownerOfId(id);
  if (owner === undefined) return opts.includeOwnerless === true;
  return !(opts.isOwnerAlive ?? isAlive)(owner);
}

/** Kills the processes of every stale cluster (by environment tag and by namespace), then deletes its namespaces. */
export async function sweepStaleNetns(opts: SweepOptions = {}): Promise<SweepResult> {
  const result: SweepResult = { removed: [], failed: [] };
  for (const [id, names] of namespacesById()) {
    if (!isStale(id, opts)) continue;
    opts.logger?.warn({ id, namespaces: names }, 'removing a netns cluster whose owner is gone');
    const tagged = processesWithEnv(`${NETNS_ENV}=${id}`);
    if (tagged.length > 0 && !(await killAll(tagged))) {
      throw new LocalClusterError('KILL_FAILED', `processes ${tagged.filter(isAlive).join(', ')} survived SIGKILL`);
    }
    const failed = await removeNamespaces(names);
    result.failed.push(...failed);
    if (failed.length === 0) result.removed.push(id);
  }
  return result;
}
