import { join } from 'node:path';
import { clusterLockPath } from '../scripts/local-cluster/layout.ts';
import { readPidFile, signal } from '../scripts/local-cluster/processes.ts';
import { startEmbeddedCluster } from './support/embedded-cluster.ts';
import { defineClientSuite } from './suites/client-suite.ts';
import type { ClientSuiteCluster } from './suites/client-cluster.ts';

/**
 * The legacy client suite against the embedded daemon (3 nodes, our
 * TypeScript ctdbd, real `ctdb` CLI as the reference for CLI output).
 */
async function startEmbedded(): Promise<ClientSuiteCluster> {
  const fixture = await startEmbeddedCluster({ nodes: 3 });
  const daemonPid = async (pnn: number): Promise<number> => {
    const pid = await readPidFile(join(fixture.nodes[pnn].base, 'run', 'ctdbd.pid'));
    if (!pid) throw new Error(`node ${pnn} is not running`);
    return pid;
  };
  return {
    nodes: fixture.nodes,
    clusterLock: clusterLockPath(fixture.dir),
    hasDatabases: false,
    ctdb: (pnn, args) => fixture.ctdb(pnn, args),
    killNode: (pnn) => fixture.cluster.killNode(pnn),
    startNode: (pnn) => fixture.cluster.startNode(pnn),
    pauseNode: async (pnn) => signal(await daemonPid(pnn), 'SIGSTOP'),
    resumeNode: async (pnn) => signal(await daemonPid(pnn), 'SIGCONT'),
    teardown: () => fixture.teardown(),
  };
}

defineClientSuite('legacy client against the embedded daemon', startEmbedded);
