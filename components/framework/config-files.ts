// Where a component's configuration comes from: the operator's files (nodes,
// ctdb.conf) and ctdb-bridge.conf beside them, each read by its one reader.

import { join } from 'node:path';
import { loadCtdbConf, loadNodesFile, readOperatorFile, type CtdbConf, type NodesFile } from '../../legacy/config/index.ts';
import { BRIDGE_CONF_NAME, parseBridgeConf, type BridgeConf } from './bridge-conf.ts';

export interface ConfigPaths {
  /** ctdb's etc directory (CTDB_BASE, default /etc/ctdb). */
  base: string;
  nodes: string;
  ctdbConf: string;
  bridgeConf: string;
}

export function configPaths(base = process.env.CTDB_BASE ?? '/etc/ctdb'): ConfigPaths {
  return { base, nodes: join(base, 'nodes'), ctdbConf: join(base, 'ctdb.conf'), bridgeConf: join(base, BRIDGE_CONF_NAME) };
}

export interface OperatorConfig {
  paths: ConfigPaths;
  nodes: NodesFile;
  ctdbConf: CtdbConf;
  bridge: BridgeConf;
}

/** Reads all three; throws OperatorFileError naming file and line. A missing ctdb-bridge.conf means defaults. */
export async function loadOperatorConfig(paths: ConfigPaths): Promise<OperatorConfig> {
  const [nodes, ctdbConf, bridgeText] = await Promise.all([
    loadNodesFile(paths.nodes), loadCtdbConf(paths.ctdbConf), readOperatorFile(paths.bridgeConf),
  ]);
  return { paths, nodes, ctdbConf, bridge: parseBridgeConf(bridgeText ?? '', paths.bridgeConf) };
}
