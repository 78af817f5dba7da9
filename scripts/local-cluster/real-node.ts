import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, readFile, rm, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../legacy/common/log.ts';
import type { NodePaths } from './layout.ts';
import type { ClusterTimeouts } from './options.ts';
import { AddressInUseError, CtdbdNotInstalledError, LocalClusterError, NodeStartError } from './errors.ts';
import { belongsToBase, descendants, isAlive, killAll, readPidFile, waitForExit } from './processes.ts';
import { ctdbEnv, runCtdbCli } from './ctdb-command.ts';

/** Starting, stopping and crashing one real ctdbd (test mode). */

export interface NodeContext {
  paths: NodePaths;
  ctdbdPath: string;
  ctdbPath: string;
  timeouts: ClusterTimeouts;
  startRetries: number;
  logger: Logger;
  /** How ctdbd is started; default: `ctdbdPath` in test mode with CTDB_BASE (netns/ runs it inside a namespace). */
  launch?: NodeLaunch;
}

/** A program, its arguments and environment: the process that daemonises into ctdbd. */
export interface NodeLaunch {
  file: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

export async function assertExecutable(program: string, path: string): Promise<void> {
  try {
    await access(path, constants.X_OK);
  } catch {
    throw new CtdbdNotInstalledError(program, path);
  }
}

/** Last `lines` lines of log.ctdb written since byte `fromOffset`. */
export async function logTail(logFile: string, fromOffset = 0, lines = 25): Promise<string> {
  try {
    const text = (await readFile(logFile)).subarray(fromOffset).toString('utf8');
    return text.split('\n').filter((l) => l.length > 0).slice(-lines).join('\n') || '(log.ctdb is empty)';
  } catch {
    return '(no log.ctdb)';
  }
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** The running daemon's PID per its pid file, or null (stale files are ignored). */
export async function runningPid(paths: NodePaths): Promise<number | null> {
  const pid = await readPidFile(paths.pidFile);
  return pid !== null && belongsToBase(pid, paths.base) ? pid : null;
}

/** Turns "ctdbd exited during startup" into the most specific error. */
export async function startFailure(ctx: NodeContext, logOffset: number, reason: string): Promise<LocalClusterError> {
  const tail = await logTail(ctx.paths.logFile, logOffset);
  if (/Failed to bind\(\).*Address already in use/.test(tail)) {
    return new AddressInUseError(ctx.paths.address, `ctdbd of node ${ctx.paths.pnn} could not bind it\n${tail}`);
  }
  return new NodeStartError(ctx.paths.pnn, reason, tail);
}

/**
 * A previous incarnation's event daemon outlives a SIGKILLed ctdbd by a few
 * seconds and makes the next start fail; wait for it, then kill it.
 */
async function reapLingeringEventd(ctx: NodeContext): Promise<void> {
  const pid = await readPidFile(ctx.paths.eventdPidFile);
  if (pid === null || !belongsToBase(pid, ctx.paths.base)) return;
  ctx.logger.info({ pnn: ctx.paths.pnn, pid }, 'waiting for the previous event daemon to exit');
  if (!(await waitForExit([pid], ctx.timeouts.eventdLingerMs))) await killAll([pid]);
}

function runDaemoniser(ctx: NodeContext): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const launch = ctx.launch ?? { file: ctx.ctdbdPath, args: [], env: ctdbEnv(ctx.paths.base) }; // ctdbd also honours CTDB_SOCKET: ctdbEnv drops it
    const child = spawn(launch.file, launch.args, {
      env: launch.env,
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true, // the daemons must outlive a CLI "up" and ignore its Ctrl-C
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'ENOENT' || err.code === 'EACCES' ? new CtdbdNotInstalledError('ctdbd', ctx.ctdbdPath) : err));
    // 'exit', not 'close': the forked daemon may keep the inherited pipe open.
    child.once('exit', (code) => {
      child.stderr.destroy();
      resolve({ code, stderr });
    });
  });
}

type SpawnOutcome = { pid: number } | { retry: LocalClusterError };

async function spawnOnce(ctx: NodeContext): Promise<SpawnOutcome> {
  await reapLingeringEventd(ctx);
  await rm(ctx.paths.socketPath, { force: true }); // a stale socket would look like readiness
  const logOffset = await fileSize(ctx.paths.logFile);
  const { code, stderr } = await runDaemoniser(ctx);
  if (code !== 0) throw await startFailure(ctx, logOffset, `ctdbd exited with ${code}: ${stderr.trim()}`);
  const deadline = Date.now() + ctx.timeouts.nodeSpawnMs;
  while (Date.now() < deadline) {
    const pid = await runningPid(ctx.paths);
    if (pid !== null && (await exists(ctx.paths.socketPath))) return { pid };
    const tail = await logTail(ctx.paths.logFile, logOffset);
    if (tail.includes('CTDB daemon shutting down')) {
      const failure = await startFailure(ctx, logOffset, 'ctdbd shut down during startup');
      if (failure instanceof AddressInUseError) throw failure;
      return { retry: failure };
    }
    await sleep(ctx.timeouts.pollMs);
  }
  throw await startFailure(ctx, logOffset, `no live pid file and socket after ${ctx.timeouts.nodeSpawnMs} ms`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts ctdbd for one node (it daemonises) and returns the daemon's PID once
 * its pid file and socket exist. Startup failures that are typically
 * transient (event daemon) are retried; a taken address is not.
 */
export async function spawnNode(ctx: NodeContext): Promise<number> {
  await assertExecutable('ctdbd', ctx.ctdbdPath);
  const already = await runningPid(ctx.paths);
  if (already !== null) return already;
  let lastFailure: LocalClusterError | undefined;
  for (let attempt = 0; attempt <= ctx.startRetries; attempt++) {
    if (attempt > 0) {
      ctx.logger.warn({ pnn: ctx.paths.pnn, attempt, err: lastFailure?.message }, 'retrying ctdbd start');
      await sleep(1_000);
    }
    const outcome = await spawnOnce(ctx);
    if ('pid' in outcome) {
      ctx.logger.info({ pnn: ctx.paths.pnn, pid: outcome.pid }, 'ctdbd started');
      return outcome.pid;
    }
    lastFailure = outcome.retry;
  }
  throw lastFailure!;
}

/** Orderly stop: `ctdb shutdown`, then SIGKILL whatever is left after the timeout. */
export async function stopNodeProcesses(ctx: NodeContext, pid: number): Promise<void> {
  const tree = [pid, ...descendants(pid)];
  const result = await runCtdbCli({
    ctdbPath: ctx.ctdbPath, base: ctx.paths.base, args: ['shutdown'], timeoutMs: ctx.timeouts.commandMs,
  }).catch((err: Error) => ({ exitCode: null, stderr: err.message }));
  if (result.exitCode !== 0) ctx.logger.warn({ pnn: ctx.paths.pnn, stderr: result.stderr }, 'ctdb shutdown failed');
  if (await waitForExit(tree, ctx.timeouts.stopMs)) return;
  ctx.logger.warn({ pnn: ctx.paths.pnn, pids: tree.filter(isAlive) }, 'node did not stop in time: SIGKILL');
  await killNodeTree(tree);
}

/** Crash: SIGKILL the daemon, then its helpers (event daemon, recovery daemon, lock helper). */
export async function killNodeProcesses(ctx: NodeContext, pid: number): Promise<void> {
  const tree = [pid, ...descendants(pid)];
  await killNodeTree(tree);
  ctx.logger.info({ pnn: ctx.paths.pnn, pids: tree }, 'node killed');
}

async function killNodeTree(tree: number[]): Promise<void> {
  if (!(await killAll(tree))) {
    throw new LocalClusterError('KILL_FAILED', `processes ${tree.filter(isAlive).join(', ')} survived SIGKILL`);
  }
}
