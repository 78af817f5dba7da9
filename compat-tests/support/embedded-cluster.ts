import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EmbeddedLocalCluster, runCtdbCli, DEFAULT_CTDB_PATH, type CtdbRunResult, type LocalClusterNode, type RealClusterOptions,
} from '../../scripts/local-cluster/index.ts';
import { reapOrphanClusters } from './real-cluster.ts';
import { trackCluster, untrackCluster } from './live-clusters.ts';

/**
 * Vitest fixture: an embedded-daemon cluster (our TypeScript ctdbd, one
 * child process per node) in the real kind's directory layout, so the same
 * `ctdb` CLI and client code run against it. Cleanup is by PID: in
 * teardown, and on process exit/signals.
 */

const DIR_PREFIX = 'ctdb-bridge-cluster-';

export interface EmbeddedClusterFixture {
  cluster: EmbeddedLocalCluster;
  dir: string;
  nodes: LocalClusterNode[];
  upMs: number;
  ctdb(pnn: number, args: string[]): Promise<CtdbRunResult>;
  teardown(): Promise<void>;
}

export async function startEmbeddedCluster(opts: Partial<Omit<RealClusterOptions, 'ownerPid' | 'dir'>> = {}): Promise<EmbeddedClusterFixture> {
  await reapOrphanClusters();
  const dir = await mkdtemp(join(tmpdir(), DIR_PREFIX));
  const cluster = new EmbeddedLocalCluster({ nodes: 3, ...opts, dir, ownerPid: process.pid });
  trackCluster(cluster, true);
  const started = Date.now();
  try {
    await cluster.up();
  } catch (err) {
    untrackCluster(cluster);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const upMs = Date.now() - started;
  let tornDown: Promise<void> | null = null;
  return {
    cluster, dir, nodes: cluster.nodes, upMs,
    ctdb: (pnn, args) => runCtdbCli({
      ctdbPath: opts.ctdbPath ?? DEFAULT_CTDB_PATH, base: cluster.nodes[pnn].base, args, timeoutMs: 20_000,
    }),
    teardown() {
      tornDown ??= (async () => {
        try {
          await cluster.down();
          const left = cluster.pids();
          if (left.length > 0) throw new Error(`embedded cluster processes survived teardown: ${left.join(', ')}`);
        } finally {
          cluster.killAllNow();
          untrackCluster(cluster);
        }
        await rm(dir, { recursive: true, force: true });
      })();
      return tornDown;
    },
  };
}
