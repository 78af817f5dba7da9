import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RealLocalCluster } from '../local-cluster/index.ts';
import { pinTickObjectShape } from '../../legacy/common/tick-shape.ts';

/**
 * Kills the clusters' processes by PID if the run ends early (exit, SIGINT,
 * SIGTERM). The returned function kills them now and removes the hooks.
 */
export function killOnExit(clusters: Array<{ killAllNow(): void }>): () => void {
  const killNow = () => {
    for (const c of clusters) c.killAllNow();
  };
  const onSignal = () => {
    killNow();
    process.exit(130);
  };
  process.on('exit', killNow);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    killNow();
    process.off('exit', killNow);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

/**
 * A real ctdbd cluster owned by one benchmark run: started in a temp dir,
 * always torn down (also on SIGINT/SIGTERM and process exit, by PID).
 */
export async function withRealCluster<T>(nodes: number, body: (cluster: RealLocalCluster) => Promise<T>): Promise<T> {
  // Before the cluster's ~8 s start can idle through a full GC (see tick-shape.ts): both sides measured alike.
  pinTickObjectShape();
  const dir = await mkdtemp(join(tmpdir(), 'ctdb-bridge-bench-'));
  const cluster = new RealLocalCluster({ dir, nodes, ownerPid: process.pid });
  const release = killOnExit([cluster]);
  try {
    await cluster.up();
    return await body(cluster);
  } finally {
    try {
      await cluster.down();
    } finally {
      release();
      await rm(dir, { recursive: true, force: true });
    }
  }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor((s.length - 1) / 2)];
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

export function fmtUs(seconds: number): string {
  return `${(seconds * 1e6).toFixed(1)} us`;
}
