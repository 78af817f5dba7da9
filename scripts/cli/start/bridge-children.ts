import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { daemonArgv, daemonEnv } from '../../local-cluster/daemon-runtime.ts';
import { isAlive, signal, waitForExit } from '../../local-cluster/processes.ts';
import type { NodeLaunch } from '../../local-cluster/real-node.ts';

/**
 * Our daemons as child processes (`ctdb-bridge transportd ...`, `ctdb-bridge
 * clusterd ...`), one per node, for `ctdb-bridge start` and the compat tests.
 * Every child is tracked and stopped by its PID: SIGTERM (orderly), SIGKILL
 * after a grace period; also on process exit.
 */

export interface BridgeChildOptions {
  /** "transportd", "clusterd", ...: the subcommand, and the name in errors. */
  kind: string;
  pnn: number;
  /** Arguments after the subcommand. */
  args: string[];
  /** The child's stderr line that says it is ready. */
  ready: RegExp;
  /** stderr of the child goes here (appended); inherited when omitted. */
  logFile?: string;
  logLevel?: string;
  /** How long to wait for the ready line. */
  startTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Runs the command line another way, e.g. inside a node's network namespace (netns/launcher.ts). */
  wrap?: (launch: NodeLaunch) => NodeLaunch;
}

export interface BridgeChild {
  kind: string;
  pnn: number;
  pid: number;
  process: ChildProcess;
}

const live = new Set<BridgeChild>();

function killLiveNow(): void {
  for (const c of live) signal(c.pid, 'SIGKILL');
}

function track(child: BridgeChild): void {
  if (live.size === 0) process.on('exit', killLiveNow);
  live.add(child);
}

function untrack(child: BridgeChild): void {
  live.delete(child);
  if (live.size === 0) process.off('exit', killLiveNow);
}

export class BridgeChildStartError extends Error {
  override name = 'BridgeChildStartError';
  constructor(readonly kind: string, readonly pnn: number, detail: string) {
    super(`${kind} for node ${pnn} did not start: ${detail}`);
  }
}

/** Spawns one child and resolves once it prints its ready line (or throws, leaving nothing behind). */
export async function spawnBridgeChild(opts: BridgeChildOptions): Promise<BridgeChild> {
  const log = opts.logFile ? createWriteStream(opts.logFile, { flags: 'a' }) : undefined;
  const plain: NodeLaunch = {
    file: process.execPath, args: daemonArgv([opts.kind, ...opts.args]),
    env: daemonEnv(opts.kind, { ...process.env, ...opts.env, CTDB_BRIDGE_LOG_LEVEL: opts.logLevel ?? process.env.CTDB_BRIDGE_LOG_LEVEL ?? 'warn' }),
  };
  const launch = opts.wrap ? opts.wrap(plain) : plain;
  const proc = spawn(launch.file, launch.args, { stdio: ['ignore', 'ignore', 'pipe'], env: launch.env });
  if (proc.pid === undefined) throw new BridgeChildStartError(opts.kind, opts.pnn, 'spawn failed');
  const child: BridgeChild = { kind: opts.kind, pnn: opts.pnn, pid: proc.pid, process: proc };
  track(child);
  let ready = false;
  let exited: string | undefined;
  let tail = '';
  proc.stderr!.on('data', (chunk: Buffer) => {
    if (log) log.write(chunk);
    else process.stderr.write(chunk);
    if (!ready) {
      tail = (tail + chunk.toString()).slice(-4000);
      ready = opts.ready.test(tail);
    }
  });
  proc.once('exit', (code, sig) => {
    exited = `exited with ${sig ?? `code ${code}`}`;
    log?.end();
  });
  const deadline = Date.now() + (opts.startTimeoutMs ?? 15_000);
  while (!ready) {
    if (exited || Date.now() > deadline) {
      await stopBridgeChild(child);
      const last = tail.trim().split('\n').slice(-3).join(' | ');
      throw new BridgeChildStartError(opts.kind, opts.pnn, `${exited ?? 'not ready in time'}${last ? `: ${last}` : ''}`);
    }
    await sleep(20);
  }
  return child;
}

/** SIGTERM, SIGKILL after `graceMs`; resolves once the PID is gone. */
export async function stopBridgeChild(child: BridgeChild, graceMs = 3000): Promise<void> {
  if (isAlive(child.pid)) {
    signal(child.pid, 'SIGTERM');
    if (!(await waitForExit([child.pid], graceMs))) {
      signal(child.pid, 'SIGKILL');
      await waitForExit([child.pid], 2000);
    }
  }
  untrack(child);
}
