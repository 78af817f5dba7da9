import { execFile } from 'node:child_process';

/**
 * The host commands native mode runs (`ip`, `arping`, `ndptool`, `ctdb tickle`, the operator's event
 * scripts), behind one seam so tests see exactly what would run.
 */

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface CommandOptions {
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Written to the program's standard input, which is then closed (`ctdb tickle` reads its connections there). */
  input?: string;
}

export type CommandRunner = (program: string, args: readonly string[], opts?: CommandOptions) => Promise<CommandResult>;

export class HostCommandError extends Error {
  override name = 'HostCommandError';
  constructor(readonly command: string, readonly result: CommandResult) {
    super(`${command} failed (exit ${result.exitCode})${result.stderr.trim() ? `: ${result.stderr.trim()}` : ''}`);
  }
}

/** Runs a program without a shell; a missing program or a timeout is exit code 127 / 124 with the reason in stderr. */
export const runCommand: CommandRunner = (program, args, opts = {}) => new Promise((resolve) => {
  const child = execFile(program, [...args], { env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 10_000, maxBuffer: 4 * 1024 * 1024 },
    (err, stdout, stderr) => {
      if (!err) return resolve({ exitCode: 0, stdout, stderr });
      const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean };
      if (e.code === 'ENOENT') return resolve({ exitCode: 127, stdout, stderr: `${program}: not found` });
      if (e.killed) return resolve({ exitCode: 124, stdout, stderr: `${stderr}${program}: timed out` });
      resolve({ exitCode: typeof e.code === 'number' ? e.code : 1, stdout, stderr });
    });
  if (opts.input !== undefined) {
    // A program that is missing or exits early closes the pipe: its exit code tells, not an EPIPE.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(opts.input);
  }
});

/** Runs and throws HostCommandError unless it exits 0. */
export async function mustRun(run: CommandRunner, program: string, args: readonly string[], opts?: Parameters<CommandRunner>[2]): Promise<CommandResult> {
  const r = await run(program, args, opts);
  if (r.exitCode !== 0) throw new HostCommandError(`${program} ${args.join(' ')}`, r);
  return r;
}
