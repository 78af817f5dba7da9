import type { LocalClusterKind } from '../types.ts';
import { readClusterFile } from '../cluster-file.ts';
import { NetnsRealLocalCluster, type NetnsClusterOptions } from './real-cluster.ts';
import { NetnsEmbeddedLocalCluster, type NetnsEmbeddedClusterOptions } from './embedded-cluster.ts';

/** Local clusters with one network namespace per node (`local-cluster up --netns`). */

export { NetnsRealLocalCluster, type NetnsClusterOptions } from './real-cluster.ts';
export { NetnsEmbeddedLocalCluster, type NetnsEmbeddedClusterOptions } from './embedded-cluster.ts';
export { NetnsFabric, NETNS_ENV, mountsFrom, type NetnsOptions, type IsolationMethod } from './fabric.ts';
export { sweepStaleNetns, namespacesById, type SweepOptions, type SweepResult } from './sweep.ts';
export { listNamespaces } from './network.ts';
export { NETNS_PREFIX, parseNamespace, ownerOfId } from './names.ts';
export { parsePublicIpsX } from '../ctdb-command.ts';
export type { NetnsRecord } from './record.ts';
export * from './errors.ts';

export type NetnsLocalCluster = NetnsRealLocalCluster | NetnsEmbeddedLocalCluster;

export function createNetnsLocalCluster(opts: NetnsEmbeddedClusterOptions & NetnsClusterOptions & { kind?: LocalClusterKind }): NetnsLocalCluster {
  const { kind = 'real', ...rest } = opts;
  return kind === 'embedded' ? new NetnsEmbeddedLocalCluster(rest) : new NetnsRealLocalCluster(rest);
}

/** Re-attaches to the netns cluster of DIR/cluster.json. */
export async function openNetnsLocalCluster(dir: string, opts: Omit<NetnsClusterOptions, 'dir'> = {}): Promise<NetnsLocalCluster> {
  const file = await readClusterFile(dir);
  return file.kind === 'embedded' ? NetnsEmbeddedLocalCluster.open(dir, opts) : NetnsRealLocalCluster.open(dir, opts);
}
