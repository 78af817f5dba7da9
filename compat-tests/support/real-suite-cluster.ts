import { clusterLockPath } from '../../scripts/local-cluster/layout.ts';
import { signal } from '../../scripts/local-cluster/processes.ts';
import { startRealCluster, type RealClusterFixture, type StartRealClusterOptions } from './real-cluster.ts';
import type { ClientSuiteCluster } from '../suites/client-cluster.ts';

/** A ClientSuiteCluster that also exposes the underlying real-cluster fixture. */
export interface RealSuiteCluster extends ClientSuiteCluster {
  readonly fixture: RealClusterFixture;
}

/**
 * The parameterised compat suites (client, tunnel, transport) against real
 * Debian ctdbd 4.17: a fresh N-node test-mode cluster on loopback (default 3).
 * Throws when ctdbd is not installed; never skips.
 */
export async function startRealSuiteCluster(opts: StartRealClusterOptions = {}): Promise<RealSuiteCluster> {
  const fixture = await startRealCluster({ nodes: 3, ...opts });
  const daemonPid = async (pnn: number): Promise<number> => {
    const pid = (await fixture.cluster.status()).nodes[pnn]?.pid;
    if (!pid) throw new Error(`node ${pnn} is not running`);
    return pid;
  };
  return {
    fixture,
    nodes: fixture.nodes,
    clusterLock: clusterLockPath(fixture.dir),
    ctdb: (pnn, args) => fixture.ctdb(pnn, args),
    killNode: (pnn) => fixture.cluster.killNode(pnn),
    startNode: (pnn) => fixture.cluster.startNode(pnn),
    pauseNode: async (pnn) => signal(await daemonPid(pnn), 'SIGSTOP'),
    resumeNode: async (pnn) => signal(await daemonPid(pnn), 'SIGCONT'),
    teardown: () => fixture.teardown(),
  };
}
