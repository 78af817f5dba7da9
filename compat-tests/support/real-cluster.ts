import { afterAll, beforeAll } from 'vitest';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  RealLocalCluster, readClusterFile, runCtdbCli, DEFAULT_CTDB_PATH,
  type CtdbRunResult, type LocalClusterNode, type RealClusterOptions,
} from '../../scripts/local-cluster/index.ts';
import { isAlive, killAll, processesWithBase } from '../../scripts/local-cluster/processes.ts';
import { trackCluster, untrackCluster } from './live-clusters.ts';

/**
 * Vitest fixture: a real Samba ctdbd cluster per suite. Never skips: a
 * missing ctdbd makes startRealCluster throw (CtdbdNotInstalledError).
 * Cleanup is by PID, in afterAll, on process exit/signals, and for clusters
 * whose owning test process died (reaped at the next start).
 */

const DIR_PREFIX = 'ctdb-bridge-cluster-';
const KEEP_DIR = process.env.CTDB_BRIDGE_KEEP_CLUSTER === '1';

export interface StartRealClusterOptions extends Partial<Omit<RealClusterOptions, 'ownerPid'>> {
  nodes?: number;
}

export interface RealClusterFixture {
  cluster: RealLocalCluster;
  dir: string;
  nodes: LocalClusterNode[];
  /** Milliseconds from start until every node reported all nodes OK. */
  upMs: number;
  /** Runs the real ctdb CLI against node `pnn`. */
  ctdb(pnn: number, args: string[]): Promise<CtdbRunResult>;
  /** Stops every node, checks no process is left, removes the directory. Idempotent. */
  teardown(): Promise<void>;
}

/**
 * Kills and removes fixture clusters whose owning process is gone (a test
 * run that was SIGKILLed). Returns the PIDs it killed.
 */
export async function reapOrphanClusters(root = tmpdir()): Promise<number[]> {
  const killed: number[] = [];
  for (const entry of await readdir(root).catch(() => [] as string[])) {
    if (!entry.startsWith(DIR_PREFIX)) continue;
    const dir = join(root, entry);
    const file = await readClusterFile(dir).catch(() => null);
    if (!file || file.ownerPid === undefined || isAlive(file.ownerPid)) continue;
    const pids = file.nodes.flatMap((n) => processesWithBase(n.base));
    await killAll(pids);
    killed.push(...pids);
    await rm(dir, { recursive: true, force: true });
  }
  return killed;
}

/** Starts an N-node real cluster (default 3) in a fresh temp dir and waits for all nodes OK. */
export async function startRealCluster(opts: StartRealClusterOptions = {}): Promise<RealClusterFixture> {
  await reapOrphanClusters();
  const dir = opts.dir ?? await mkdtemp(join(tmpdir(), DIR_PREFIX));
  const cluster = new RealLocalCluster({ ...opts, dir, ownerPid: process.pid });
  trackCluster(cluster, !KEEP_DIR && !opts.dir);
  const started = Date.now();
  try {
    await cluster.up();
  } catch (err) {
    untrackCluster(cluster);
    if (!KEEP_DIR && !opts.dir) await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const upMs = Date.now() - started;
  let tornDown: Promise<void> | null = null;
  return {
    cluster, dir, nodes: cluster.nodes, upMs,
    ctdb: (pnn, args) => cluster.ctdb(pnn, args),
    teardown() {
      tornDown ??= (async () => {
        try {
          await cluster.down();
          const left = cluster.pids();
          if (left.length > 0) throw new Error(`cluster processes survived teardown: ${left.join(', ')}`);
        } finally {
          cluster.killAllNow();
          untrackCluster(cluster);
        }
        if (!KEEP_DIR && !opts.dir) await rm(dir, { recursive: true, force: true });
      })();
      return tornDown;
    },
  };
}

/**
 * Registers beforeAll/afterAll for a suite and returns an accessor:
 *   const real = useRealCluster({ nodes: 3 });
 *   it('...', async () => { await real().ctdb(0, ['status']); });
 */
export function useRealCluster(opts: StartRealClusterOptions = {}): () => RealClusterFixture {
  let fixture: RealClusterFixture | undefined;
  beforeAll(async () => {
    fixture = await startRealCluster(opts);
  });
  afterAll(async () => {
    await fixture?.teardown();
  });
  return () => {
    if (!fixture) throw new Error('real cluster not started (useRealCluster must run at suite level)');
    return fixture;
  };
}

export interface RunCtdbOptions {
  ctdbPath?: string;
  /** Talk to this socket instead of the node's own (e.g. a capture proxy). */
  socketPath?: string;
  timeoutMs?: number;
}

/** Runs the real `ctdb` CLI against a node (CTDB_TEST_MODE, CTDB_BASE and CTDB_SOCKET set). */
export function runCtdb(node: LocalClusterNode, args: string[], opts: RunCtdbOptions = {}): Promise<CtdbRunResult> {
  return runCtdbCli({
    ctdbPath: opts.ctdbPath ?? DEFAULT_CTDB_PATH, base: node.base, socketPath: opts.socketPath ?? node.socketPath,
    args, timeoutMs: opts.timeoutMs ?? 10_000,
  });
}

/** Re-runs a ctdb command until `accept` approves its result; throws with the last output on timeout. */
export async function waitForCtdb(
  node: LocalClusterNode, args: string[], accept: (r: CtdbRunResult) => boolean,
  opts: RunCtdbOptions & { waitMs?: number; intervalMs?: number } = {},
): Promise<CtdbRunResult> {
  const deadline = Date.now() + (opts.waitMs ?? 30_000);
  for (;;) {
    const result = await runCtdb(node, args, opts);
    if (accept(result)) return result;
    if (Date.now() >= deadline) {
      throw new Error(`ctdb ${args.join(' ')} on node ${node.pnn} never matched within ${opts.waitMs ?? 30_000} ms; ` +
        `last exit ${result.exitCode}:\n${result.stdout}${result.stderr}`);
    }
    await sleep(opts.intervalMs ?? 250);
  }
}

