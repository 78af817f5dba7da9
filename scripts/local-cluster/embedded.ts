import type { LocalCluster } from './types.ts';
import { EmbeddedDaemonUnavailableError } from './errors.ts';

export interface EmbeddedClusterOptions {
  dir: string;
  nodes?: number;
  baseAddress?: string;
}

/**
 * Hook for the embedded (TypeScript, wire-compatible) daemon from
 * legacy/daemon. Until it exists this throws a typed error; the
 * implementation replaces the body and returns a LocalCluster of kind
 * 'embedded' with the same node layout (DIR/node.N/run/ctdbd.socket).
 */
export function createEmbeddedLocalCluster(_options: EmbeddedClusterOptions): LocalCluster {
  throw new EmbeddedDaemonUnavailableError();
}
