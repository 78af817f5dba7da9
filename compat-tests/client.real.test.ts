import { clusterLockPath } from '../scripts/local-cluster/layout.ts';
import { join } from 'node:path';
import { readPidFile, signal } from '../scripts/local-cluster/processes.ts';
import { startRealCluster } from './support/real-cluster.ts';
import { defineClientSuite } from './suites/client-suite.ts';
import type { ClientSuiteCluster } from './suites/client-cluster.ts';

/**
 * The legacy client suite against real Debian ctdbd 4.17 (3 nodes, test
 * mode, loopback). Fails when ctdbd is not installed.
 */
async function startReal(): Promise<ClientSuiteCluster> {
  const fixture = await startRealCluster({ nodes: 3 });
  // From the pid file: asking the cluster (ctdb CLI) would block on a frozen node.
  const daemonPid = async (pnn: number): Promise<number> => {
    const pid = await readPidFile(join(fixture.nodes[pnn].base, 'run', 'ctdbd.pid'));
    if (!pid) throw new Error(`node ${pnn} is not running`);
    return pid;
  };
  return {
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

defineClientSuite('legacy client against real ctdbd 4.17', startReal);
