import { spawnBridgeChild, stopBridgeChild, type BridgeChild, type BridgeChildOptions } from './bridge-children.ts';

/**
 * A component (`ctdb-bridge clusterd ...`) as a child process next to a
 * node's transportd, reading the node's test-mode directory (nodes, ctdb.conf,
 * ctdb-bridge.conf).
 */

export interface ComponentChildOptions {
  /** Subcommand: "clusterd". */
  component: string;
  pnn: number;
  /** The node's CTDB_BASE. */
  base: string;
  ctdbSocket: string;
  transportSocket: string;
  logFile?: string;
  logLevel?: string;
  startTimeoutMs?: number;
  /** See BridgeChildOptions.wrap (a native-mode failoverd runs inside its node's network namespace). */
  wrap?: BridgeChildOptions['wrap'];
}

export function spawnComponent(opts: ComponentChildOptions): Promise<BridgeChild> {
  return spawnBridgeChild({
    kind: opts.component, pnn: opts.pnn, logFile: opts.logFile, logLevel: opts.logLevel, startTimeoutMs: opts.startTimeoutMs, wrap: opts.wrap,
    ready: new RegExp(`${opts.component} node ${opts.pnn} attached to transportd`),
    args: ['--base', opts.base, '--ctdb-socket', opts.ctdbSocket, '--socket', opts.transportSocket],
  });
}

export const stopComponent = stopBridgeChild;
