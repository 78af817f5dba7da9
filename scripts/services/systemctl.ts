// Running systemctl (injectable: tests never touch the host's systemd).

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type SystemctlRunner = (args: string[]) => Promise<CommandResult>;

export class SystemctlError extends Error {
  override name = 'SystemctlError';
  constructor(readonly args: readonly string[], readonly result: CommandResult) {
    super(`systemctl ${args.join(' ')} failed (exit ${result.code})${result.stderr.trim() ? `: ${result.stderr.trim()}` : ''}`);
  }
}

export function systemctlRunner(program = 'systemctl', timeoutMs = 120_000): SystemctlRunner {
  return (args) => new Promise((resolve, reject) => {
    execFile(program, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err); // not started (ENOENT) or killed by the timeout
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

/** Runs systemctl and throws SystemctlError on a non-zero exit. */
export async function systemctl(run: SystemctlRunner, args: string[]): Promise<CommandResult> {
  const r = await run(args);
  if (r.code !== 0) throw new SystemctlError(args, r);
  return r;
}

/** Whether this host was booted with systemd (sd_booted(3): /run/systemd/system exists). */
export function systemdIsRunning(marker = '/run/systemd/system'): boolean {
  return existsSync(marker);
}
