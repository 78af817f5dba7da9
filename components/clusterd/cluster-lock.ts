// The cluster lock through ctdbd's mutex-helper convention: `cluster lock =
// PATH` runs Debian's ctdb_mutex_fcntl_helper on PATH, `cluster lock = !helper
// args` runs that helper. The helper writes one character: '0' it holds the
// lock (and keeps it while it runs), '1' contended, '2' timeout, '3' error.
// Killing it releases the lock; it exiting while we hold the lock means the
// lock is lost. The lock must be clusterd's own, never ctdbd's recovery lock.

import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';

export const FCNTL_HELPER = '/usr/libexec/ctdb/ctdb_mutex_fcntl_helper';

export type LockOutcome = 'held' | 'contended' | 'timeout' | 'error';

const OUTCOMES: Record<string, LockOutcome> = { '0': 'held', '1': 'contended', '2': 'timeout', '3': 'error' };

/** The helper's argv for a `cluster lock` value. */
export function lockHelperArgv(spec: string, fcntlHelper = FCNTL_HELPER): string[] {
  if (spec.startsWith('!')) {
    const argv = spec.slice(1).trim().split(/\s+/).filter(Boolean);
    if (argv.length === 0) throw new Error('cluster lock "!" names no helper');
    return argv;
  }
  return [fcntlHelper, spec];
}

export interface ClusterLockOptions {
  spec: string;
  logger: Logger;
  /** Called once when a held lock is lost (helper exited or was killed by someone else). */
  onLost(reason: string): void;
  /** How long to wait for the helper's answer (default 10 s). */
  answerTimeoutMs?: number;
  fcntlHelper?: string;
}

export class ClusterLock {
  private helper: ChildProcess | undefined;
  private held = false;

  constructor(private readonly opts: ClusterLockOptions) {}

  get holding(): boolean {
    return this.held;
  }

  /** Runs the helper and resolves with its answer; only 'held' leaves it running. */
  acquire(): Promise<LockOutcome> {
    if (this.helper) return Promise.resolve(this.held ? 'held' : 'error');
    const [cmd, ...args] = lockHelperArgv(this.opts.spec, this.opts.fcntlHelper);
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.helper = child;
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => { stderr = (stderr + c.toString()).slice(-500); });
    return new Promise<LockOutcome>((resolve) => {
      let answered = false;
      const answer = (outcome: LockOutcome, why: string) => {
        if (answered) return;
        answered = true;
        clearTimeout(timer);
        if (outcome === 'held') {
          this.held = true;
          this.opts.logger.info({ lock: this.opts.spec, pid: child.pid }, 'cluster lock held');
          resolve(outcome);
        } else {
          // Gone before we answer, so the next acquire() starts afresh.
          this.opts.logger.warn({ lock: this.opts.spec, outcome, why }, 'cluster lock not taken');
          if (this.helper === child) this.helper = undefined;
          void this.kill(child).then(() => resolve(outcome));
        }
      };
      const timer = setTimeout(() => answer('timeout', 'no answer from the helper in time'), this.opts.answerTimeoutMs ?? 10_000);
      child.stdout!.once('data', (c: Buffer) => answer(OUTCOMES[c.toString('latin1', 0, 1)] ?? 'error', `helper said ${JSON.stringify(c.toString('latin1', 0, 1))}`));
      child.once('error', (err) => answer('error', err.message));
      child.once('exit', (code, signal) => {
        const why = `helper exited (${signal ?? `code ${code}`})${stderr ? `: ${stderr.trim()}` : ''}`;
        if (this.helper === child) this.helper = undefined;
        if (!answered) answer('error', why);
        else if (this.held) {
          this.held = false;
          this.opts.logger.warn({ lock: this.opts.spec, why }, 'cluster lock lost');
          this.opts.onLost(why);
        }
      });
    });
  }

  /** Releases the lock (kills the helper); resolves once the helper is gone. */
  async release(): Promise<void> {
    const child = this.helper;
    this.held = false;
    this.helper = undefined;
    if (child) await this.kill(child);
  }

  private kill(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }
}
