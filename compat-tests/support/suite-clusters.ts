import { join } from 'node:path';
import { clusterLockPath } from '../../scripts/local-cluster/layout.ts';
import { readPidFile, signal } from '../../scripts/local-cluster/processes.ts';
import type { CtdbRunResult, LocalClusterNode } from '../../scripts/local-cluster/index.ts';
import { startRealCluster, type RealClusterFixture, type StartRealClusterOptions } from './real-cluster.ts';
import { startEmbeddedCluster, type EmbeddedClusterFixture } from './embedded-cluster.ts';
import type { ClientSuiteCluster } from '../suites/client-cluster.ts';

/**
 * The parameterised compat suites (client, tunnel, transport) run against
 * either daemon through one ClientSuiteCluster shape. Both fixtures throw
 * when their daemon cannot start (a missing ctdbd fails, never skips).
 */

interface AnyFixture {
  dir: string;
  nodes: LocalClusterNode[];
  cluster: { killNode(pnn: number): Promise<void>; startNode(pnn: number): Promise<void> };
  ctdb(pnn: number, args: string[]): Promise<CtdbRunResult>;
  teardown(): Promise<void>;
}

function asSuiteCluster<F extends AnyFixture>(fixture: F, hasDatabases: boolean): ClientSuiteCluster & { fixture: F } {
  // From the pid file: asking the cluster (ctdb CLI) would block on a frozen node.
  const daemonPid = async (pnn: number): Promise<number> => {
    const pid = await readPidFile(join(fixture.nodes[pnn].base, 'run', 'ctdbd.pid'));
    if (!pid) throw new Error(`node ${pnn} is not running`);
    return pid;
  };
  return {
    fixture,
    nodes: fixture.nodes,
    clusterLock: clusterLockPath(fixture.dir),
    hasDatabases,
    ctdb: (pnn, args) => fixture.ctdb(pnn, args),
    killNode: (pnn) => fixture.cluster.killNode(pnn),
    startNode: (pnn) => fixture.cluster.startNode(pnn),
    pauseNode: async (pnn) => signal(await daemonPid(pnn), 'SIGSTOP'),
    resumeNode: async (pnn) => signal(await daemonPid(pnn), 'SIGCONT'),
    teardown: () => fixture.teardown(),
  };
}

export type RealSuiteCluster = ClientSuiteCluster & { fixture: RealClusterFixture };
export type EmbeddedSuiteCluster = ClientSuiteCluster & { fixture: EmbeddedClusterFixture };

/** Debian's real ctdbd 4.17: a fresh N-node test-mode cluster on loopback (default 3). */
export async function startRealSuiteCluster(opts: StartRealClusterOptions = {}): Promise<RealSuiteCluster> {
  return asSuiteCluster(await startRealCluster({ nodes: 3, ...opts }), true);
}

/** The embedded daemon: N child-process nodes (default 3) in the real kind's layout; no databases yet. */
export async function startEmbeddedSuiteCluster(opts: { nodes?: number } = {}): Promise<EmbeddedSuiteCluster> {
  return asSuiteCluster(await startEmbeddedCluster({ nodes: opts.nodes ?? 3 }), false);
}
