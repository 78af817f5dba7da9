import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI_ENTRY } from '../../../legacy/common/package-info.ts';
import { isAlive, signal, waitForExit } from '../../local-cluster/processes.ts';

/**
 * transportd child processes (`ctdb-bridge transportd --uplink tunnel`), one
 * per node, for `ctdb-bridge start` and the compat tests. Every child is
 * tracked and stopped by its PID: SIGTERM (orderly bye), SIGKILL after a grace
 * period; also on process exit.
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

export interface TransportdChild {
  pnn: number;
  pid: number;
  socketPath: string;
  process: ChildProcess;
}

const live = new Set<TransportdChild>();

function killLiveNow(): void {
  for (const c of live) signal(c.pid, 'SIGKILL');
}

function track(child: TransportdChild): void {
  if (live.size === 0) process.on('exit', killLiveNow);
  live.add(child);
}

function untrack(child: TransportdChild): void {
  live.delete(child);
  if (live.size === 0) process.off('exit', killLiveNow);
}

export class TransportdStartError extends Error {
  override name = 'TransportdStartError';
  constructor(readonly pnn: number, detail: string) {
    super(`transportd for node ${pnn} did not start: ${detail}`);
  }
}

/** The line the transportd command prints on stderr once it is running. */
const READY = /transportd node (\d+) listening on /;

/** Spawns one transportd and resolves once it reports itself running (or throws, leaving nothing behind). */
export async function spawnTransportd(opts: TransportdChildOptions): Promise<TransportdChild> {
  await mkdir(dirname(opts.socketPath), { recursive: true, mode: 0o700 });
  const args = [
    CLI_ENTRY, 'transportd', '--uplink', 'tunnel', '--ctdb-socket', opts.ctdbSocket, '--socket', opts.socketPath,
    '--node', String(opts.pnn), ...(opts.pollIntervalMs ? ['--poll-interval', String(opts.pollIntervalMs)] : []),
    ...(opts.extraArgs ?? []),
  ];
  const log = opts.logFile ? createWriteStream(opts.logFile, { flags: 'a' }) : undefined;
  const proc = spawn(process.execPath, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, CTDB_BRIDGE_LOG_LEVEL: opts.logLevel ?? process.env.CTDB_BRIDGE_LOG_LEVEL ?? 'warn' },
  });
  if (proc.pid === undefined) throw new TransportdStartError(opts.pnn, 'spawn failed');
  const child: TransportdChild = { pnn: opts.pnn, pid: proc.pid, socketPath: opts.socketPath, process: proc };
  track(child);
  let ready = false;
  let exited: string | undefined;
  let tail = '';
  proc.stderr!.on('data', (chunk: Buffer) => {
    if (log) log.write(chunk);
    else process.stderr.write(chunk);
    if (!ready) {
      tail = (tail + chunk.toString()).slice(-4000);
      ready = READY.test(tail);
    }
  });
  proc.once('exit', (code, sig) => {
    exited = `exited with ${sig ?? `code ${code}`}`;
    log?.end();
  });
  const deadline = Date.now() + (opts.startTimeoutMs ?? 15_000);
  while (!ready) {
    if (exited || Date.now() > deadline) {
      await stopTransportd(child);
      const last = tail.trim().split('\n').slice(-3).join(' | ');
      throw new TransportdStartError(opts.pnn, `${exited ?? 'not ready in time'}${last ? `: ${last}` : ''}`);
    }
    await sleep(50);
  }
  return child;
}

/** SIGTERM (the transportd says bye), SIGKILL after `graceMs`; resolves once the PID is gone. */
export async function stopTransportd(child: TransportdChild, graceMs = 3000): Promise<void> {
  if (isAlive(child.pid)) {
    signal(child.pid, 'SIGTERM');
    if (!(await waitForExit([child.pid], graceMs))) {
      signal(child.pid, 'SIGKILL');
      await waitForExit([child.pid], 2000);
    }
  }
  untrack(child);
}

export async function stopAllTransportds(children: TransportdChild[]): Promise<void> {
  await Promise.all(children.map((c) => stopTransportd(c)));
}
