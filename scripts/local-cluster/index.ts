import type { LocalCluster, LocalClusterKind } from './types.ts';
import type { RealClusterOptions } from './options.ts';
import { RealLocalCluster } from './real-cluster.ts';
import { createEmbeddedLocalCluster, EmbeddedLocalCluster } from './embedded.ts';
import { readClusterFile } from './cluster-file.ts';
import { openNetnsLocalCluster } from './netns/index.ts';

export type { LocalCluster, LocalClusterKind, LocalClusterNode, LocalClusterNodeStatus, LocalClusterStatus } from './types.ts';
export type { RealClusterOptions, ClusterTimeouts } from './options.ts';
export { defaultTimeouts, CTDB_PORT, DEFAULT_CTDB_PATH, DEFAULT_CTDBD_PATH } from './options.ts';
export { RealLocalCluster } from './real-cluster.ts';
export { createEmbeddedLocalCluster, EmbeddedLocalCluster, probeNode } from './embedded.ts';
export type { EmbeddedClusterOptions } from './embedded.ts';
export { daemonArgv, daemonEnv, daemonEnvSettings, DAEMON_NODE_ENV, DAEMON_NODE_FLAGS, DEFAULT_DAEMON_RUNTIME, type DaemonRuntime } from './daemon-runtime.ts';
export { runCtdbCli, parseNodeStatusX, type CtdbRunResult, type CtdbRunOptions } from './ctdb-command.ts';
export { readClusterFile, clusterFilePath, type ClusterFile } from './cluster-file.ts';
export * from './errors.ts';

export interface CreateLocalClusterOptions extends RealClusterOptions {
  kind?: LocalClusterKind;
}

/** A not-yet-started cluster of the requested kind (default 'real'). */
export function createLocalCluster(opts: CreateLocalClusterOptions): LocalCluster {
  const { kind = 'real', ...rest } = opts;
  if (kind === 'embedded') return createEmbeddedLocalCluster(rest);
  return new RealLocalCluster(rest);
}

/** Re-attaches to the cluster described by DIR/cluster.json (for down/status from another process). */
export async function openLocalCluster(dir: string, opts: Omit<RealClusterOptions, 'dir'> = {}): Promise<LocalCluster> {
  const file = await readClusterFile(dir);
  if (file.netns) return openNetnsLocalCluster(dir, opts);
  if (file.kind === 'embedded') return EmbeddedLocalCluster.open(dir, opts);
  return RealLocalCluster.open(dir, opts);
}
