import { rmSync } from 'node:fs';

/** What the exit/signal cleanup needs of a cluster (both local-cluster kinds have it). */
export interface KillableCluster {
  readonly dir: string;
  /** SIGKILLs every node process by PID, synchronously. */
  killAllNow(): void;
}

/**
 * Clusters a fixture started and has not torn down yet, killed by PID (and
 * their directory removed when it is ours) if the test process exits or is
 * interrupted first. The process handlers are installed only while one runs.
 */
const live = new Map<KillableCluster, { removeDir: boolean }>();

function killLiveNow(): void {
  for (const [cluster, { removeDir }] of live) {
    cluster.killAllNow();
    if (removeDir) rmSync(cluster.dir, { recursive: true, force: true });
  }
}

function onSignal(sig: NodeJS.Signals): void {
  killLiveNow();
  process.exit(sig === 'SIGINT' ? 130 : 143);
}

export function trackCluster(cluster: KillableCluster, removeDir: boolean): void {
  if (live.size === 0) {
    process.on('exit', killLiveNow);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  live.set(cluster, { removeDir });
}

export function untrackCluster(cluster: KillableCluster): void {
  live.delete(cluster);
  if (live.size === 0) {
    process.off('exit', killLiveNow);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
