import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../common/atomic-file.ts';
import { join } from 'node:path';
import type { LocalClusterKind } from './types.ts';
import type { NetnsRecord } from './netns/record.ts';
import { ClusterNotFoundError, LocalClusterError } from './errors.ts';

/** DIR/cluster.json: what is running where, so another process can stop it. */

export interface ClusterFileNode {
  pnn: number;
  address: string;
  base: string;
  socketPath: string;
  logFile: string;
  /** Main daemon PID while running, else null. */
  pid: number | null;
}

export interface ClusterFile {
  version: 1;
  kind: LocalClusterKind;
  dir: string;
  clusterLock: string;
  ctdbdPath: string;
  ctdbPath: string;
  /** PID of the process that owns this cluster (test fixtures), if any. */
  ownerPid?: number;
  createdAt: string;
  updatedAt: string;
  nodes: ClusterFileNode[];
  /** Present for a cluster with one network namespace per node (`up --netns`). */
  netns?: NetnsRecord;
}

export function clusterFilePath(dir: string): string {
  return join(dir, 'cluster.json');
}

/** Written via rename so a reader never sees half a file. */
export async function writeClusterFile(file: ClusterFile): Promise<void> {
  await writeFileAtomic(clusterFilePath(file.dir), JSON.stringify({ ...file, updatedAt: new Date().toISOString() }, null, 2) + '\n');
}

export async function readClusterFile(dir: string): Promise<ClusterFile> {
  let text: string;
  try {
    text = await readFile(clusterFilePath(dir), 'utf8');
  } catch {
    throw new ClusterNotFoundError(dir);
  }
  let parsed: ClusterFile;
  try {
    parsed = JSON.parse(text) as ClusterFile;
  } catch (err) {
    throw new LocalClusterError('BAD_CLUSTER_FILE', `${clusterFilePath(dir)} is not valid JSON: ${(err as Error).message}`);
  }
  if (parsed.version !== 1 || !Array.isArray(parsed.nodes)) {
    throw new LocalClusterError('BAD_CLUSTER_FILE', `${clusterFilePath(dir)} is not a version 1 cluster description`);
  }
  return parsed;
}
