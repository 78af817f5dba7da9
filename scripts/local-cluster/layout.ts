import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BRIDGE_CONF_NAME } from '../../components/framework/bridge-conf.ts';

/**
 * ctdbd's test-mode directory layout. With CTDB_TEST_MODE=yes and
 * CTDB_BASE=DIR/node.N, ctdbd and the ctdb CLI take every path from there.
 */

export interface NodePaths {
  pnn: number;
  address: string;
  base: string;
  socketPath: string;
  pidFile: string;
  eventdPidFile: string;
  logFile: string;
  confFile: string;
}

export function clusterLockPath(dir: string): string {
  return join(dir, 'cluster.lock');
}

export function nodePaths(dir: string, pnn: number, address: string): NodePaths {
  const base = join(dir, `node.${pnn}`);
  return {
    pnn,
    address,
    base,
    socketPath: join(base, 'run', 'ctdbd.socket'),
    pidFile: join(base, 'run', 'ctdbd.pid'),
    eventdPidFile: join(base, 'run', 'eventd.pid'),
    logFile: join(base, 'log.ctdb'),
    confFile: join(base, 'ctdb.conf'),
  };
}

export interface CtdbConfOptions {
  /**
   * Public IP failover (default false: addresses cannot move in test mode).
   * Only outside test mode, one network namespace per node (netns/).
   */
  failover?: boolean;
}

/** ctdb.conf for one node. */
export function renderCtdbConf(node: NodePaths, clusterLock: string, logLevel: string, opts: CtdbConfOptions = {}): string {
  const failover = opts.failover
    // Outside test mode ctdbd would switch to SCHED_FIFO: not on a shared test machine.
    ? ['[legacy]', '\trealtime scheduling = false', '']
    : ['[failover]', '\tdisabled = true', ''];
  return [
    '[logging]',
    `\tlocation = file:${node.logFile}`,
    `\tlog level = ${logLevel}`,
    '',
    '[cluster]',
    `\tcluster lock = ${clusterLock}`,
    `\tnode address = ${node.address}`,
    '',
    '[database]',
    `\tvolatile database directory = ${join(node.base, 'db', 'volatile')}`,
    `\tpersistent database directory = ${join(node.base, 'db', 'persistent')}`,
    `\tstate database directory = ${join(node.base, 'db', 'state')}`,
    '',
    ...failover,
  ].join('\n');
}

/** ctdb-bridge.conf for one node: the components keep their state under the node's directory. */
export function renderBridgeConf(node: NodePaths): string {
  return ['[components]', `\tstate directory = ${join(node.base, 'var', 'bridge')}`, ''].join('\n');
}

/**
 * Creates DIR/node.N from scratch for each address (previous node dirs are
 * removed so every cluster starts with empty databases) and the shared lock file.
 */
export async function writeClusterLayout(dir: string, addresses: string[], logLevel: string, publicAddresses: readonly string[] = []): Promise<NodePaths[]> {
  await mkdir(dir, { recursive: true });
  const clusterLock = clusterLockPath(dir);
  await writeFile(clusterLock, '');
  const nodesFile = addresses.join('\n') + '\n';
  const nodes: NodePaths[] = [];
  for (const [pnn, address] of addresses.entries()) {
    const node = nodePaths(dir, pnn, address);
    await rm(node.base, { recursive: true, force: true });
    for (const sub of ['run', 'var', 'db/volatile', 'db/persistent', 'db/state', 'events/legacy']) {
      await mkdir(join(node.base, sub), { recursive: true });
    }
    await writeFile(join(node.base, 'nodes'), nodesFile);
    await writeFile(join(node.base, 'public_addresses'), publicAddresses.map((l) => `${l}\n`).join(''));
    await writeFile(node.confFile, renderCtdbConf(node, clusterLock, logLevel));
    await writeFile(join(node.base, BRIDGE_CONF_NAME), renderBridgeConf(node));
    nodes.push(node);
  }
  return nodes;
}
