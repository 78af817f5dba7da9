import { join } from 'node:path';
import { clusterLockPath } from '../../scripts/local-cluster/layout.ts';
import { readPidFile, signal } from '../../scripts/local-cluster/processes.ts';
import { startEmbeddedCluster, type EmbeddedClusterFixture } from './embedded-cluster.ts';
import type { ClientSuiteCluster } from '../suites/client-cluster.ts';

/** A ClientSuiteCluster that also exposes the underlying embedded-cluster fixture. */
export interface EmbeddedSuiteCluster extends ClientSuiteCluster {
  readonly fixture: EmbeddedClusterFixture;
}

/**
 * The parameterised compat suites (client, tunnel, transport) against the
 * embedded daemon: N child-process nodes (default 3) in the real kind's layout.
 */
export async function startEmbeddedSuiteCluster(opts: { nodes?: number } = {}): Promise<EmbeddedSuiteCluster> {
  const fixture = await startEmbeddedCluster({ nodes: opts.nodes ?? 3 });
  const daemonPid = async (pnn: number): Promise<number> => {
    const pid = await readPidFile(join(fixture.nodes[pnn].base, 'run', 'ctdbd.pid'));
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
