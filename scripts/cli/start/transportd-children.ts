import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { spawnBridgeChild, stopBridgeChild, type BridgeChild } from './bridge-children.ts';

/**
 * transportd child processes (`ctdb-bridge transportd --uplink tunnel`), one
 * per node, for `ctdb-bridge start` and the compat tests (bridge-children.ts
 * tracks and stops them by PID).
 */

/** DIR/node.N/run/transportd.socket, beside the node's ctdbd.socket. */
export function transportdSocketPath(clusterDir: string, pnn: number): string {
  return join(clusterDir, `node.${pnn}`, 'run', 'transportd.socket');
}

export interface TransportdChildOptions {
  pnn: number;
  ctdbSocket: string;
  socketPath: string;
  /** stderr of the child goes here (appended); inherited when omitted. */
  logFile?: string;
  logLevel?: string;
  pollIntervalMs?: number;
  /** How long to wait for the socket to appear. */
  startTimeoutMs?: number;
  extraArgs?: string[];
}

export interface TransportdChild extends BridgeChild {
  socketPath: string;
}

/** Spawns one transportd (tunnel uplink) and resolves once it reports itself running. */
export async function spawnTransportd(opts: TransportdChildOptions): Promise<TransportdChild> {
  await mkdir(dirname(opts.socketPath), { recursive: true, mode: 0o700 });
  const child = await spawnBridgeChild({
    kind: 'transportd', pnn: opts.pnn, logFile: opts.logFile, logLevel: opts.logLevel, startTimeoutMs: opts.startTimeoutMs,
    ready: /transportd node (\d+) listening on /,
    args: [
      '--uplink', 'tunnel', '--ctdb-socket', opts.ctdbSocket, '--socket', opts.socketPath, '--node', String(opts.pnn),
      ...(opts.pollIntervalMs ? ['--poll-interval', String(opts.pollIntervalMs)] : []), ...(opts.extraArgs ?? []),
    ],
  });
  return Object.assign(child, { socketPath: opts.socketPath });
}

/** SIGTERM (the transportd says bye), SIGKILL after `graceMs`; resolves once the PID is gone. */
export function stopTransportd(child: TransportdChild, graceMs = 3000): Promise<void> {
  return stopBridgeChild(child, graceMs);
}

export async function stopAllTransportds(children: TransportdChild[]): Promise<void> {
  await Promise.all(children.map((c) => stopTransportd(c)));
}
