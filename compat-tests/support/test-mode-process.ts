// One-shot runs of Samba's programs (ctdbd's launcher, the ctdb CLI,
// ctdb-config) against a test-mode node directory, as the operator-file
// suites need them: exit code and all output, optional standard input.

import { spawn } from 'node:child_process';

export interface ProcessResult { code: number | null; stdout: string; stderr: string }

export function runProcess(cmd: string, args: string[], env: NodeJS.ProcessEnv, opts: { input?: string; timeoutMs?: number } = {}): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
    child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.once('error', reject);
    // 'exit', not 'close': a daemonising ctdbd leaves the pipes open in its child.
    child.once('exit', (code) => {
      clearTimeout(timer);
      setImmediate(() => { child.stdout.destroy(); child.stderr.destroy(); resolve({ code, stdout, stderr }); });
    });
    // A program may exit without reading its input (ctdbd refusing a file at once): EPIPE on our
    // write is no failure of the run, its exit code and output are the result. Anything else is.
    child.stdin.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') reject(err);
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** The environment that points ctdbd and its tools at one test-mode node directory. */
export function testModeEnv(base: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CTDB_TEST_MODE: 'yes', CTDB_BASE: base };
  delete env.CTDB_SOCKET;
  return env;
}
