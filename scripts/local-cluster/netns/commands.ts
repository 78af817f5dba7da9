import { execFile, execFileSync } from 'node:child_process';
import { NetnsCommandError, NetnsUnavailableError } from './errors.ts';

/** Runs the tools that build and inspect the namespaces (ip, nft, ping, nsenter); failures are typed. */

export interface RunOptions {
  input?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number | null;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** Resolves with the output whatever the exit status (null when killed by the timeout). */
export function runTool(file: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, env: opts.env, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { code?: unknown }) | null;
        if (e && e.code === 'ENOENT') return reject(new NetnsUnavailableError(`${file} is not installed`));
        const exitCode = e ? (typeof e.code === 'number' ? e.code : null) : 0;
        resolve({ stdout, stderr, exitCode });
      });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Like runTool, but a non-zero exit throws NetnsCommandError. */
export async function mustRun(file: string, args: string[], opts: RunOptions = {}): Promise<string> {
  const r = await runTool(file, args, opts);
  if (r.exitCode !== 0) throw new NetnsCommandError([file, ...args], r.stderr, r.exitCode);
  return r.stdout;
}

/** `ip ARGS`. */
export function ip(args: string[], opts: RunOptions = {}): Promise<string> {
  return mustRun('ip', args, opts);
}

/** `ip -j ARGS` parsed (iproute2's JSON output). */
export async function ipJson<T>(args: string[]): Promise<T> {
  const out = await ip(['-j', ...args]);
  return (out.trim() === '' ? [] : JSON.parse(out)) as T;
}

/** Synchronous `ip ARGS` for exit handlers; errors are returned, not thrown. */
export function ipSync(args: string[]): string | null {
  try {
    execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: DEFAULT_TIMEOUT_MS });
    return null;
  } catch (err) {
    return (err as { stderr?: Buffer }).stderr?.toString() || (err as Error).message;
  }
}
