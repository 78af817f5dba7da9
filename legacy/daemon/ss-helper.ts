import { spawn, type ChildProcess } from 'node:child_process';
import { PeerPidLookupError } from './errors.ts';
import { ssArgs, type SsRequest, type SsRunner } from './peer-cred.ts';

/**
 * Runs `ss` through one long-lived /bin/sh helper instead of spawning it from
 * the daemon each time: a spawn from a large Node process blocks its event
 * loop until the child has exec'd (measured 12-23 ms at 170 MB RSS on a busy
 * 2-core host), while the helper's own fork of `ss` costs the daemon nothing.
 * One run at a time. An aborted run (timeout) kills the helper's process
 * group, `ss` included; the next run starts a new helper. When the daemon
 * dies, the helper reads EOF and exits.
 */

const DONE = '__ctdb_bridge_ss_done__';
// One input line per run: list, then a marker line with ss's exit status.
// The command and its arguments come in as "$@", never through the shell's parser.
const SCRIPT = `cmd=$1; shift; while IFS= read -r _; do "$cmd" "$@" </dev/null; printf '\\n${DONE} %d\\n' "$?"; done`;
const MAX_OUTPUT = 64 * 1024 * 1024;

interface Run {
  text: string;
  resolve(text: string): void;
  reject(err: Error): void;
}

export class SsHelper {
  private child: ChildProcess | undefined;
  private childArgs = '';
  private run: Run | undefined;
  private stderrTail = '';
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Helper processes started so far (tests). */
  spawned = 0;

  /** `command`: the ss binary (tests put a fake one here). */
  constructor(private readonly command = 'ss') {}

  /** An SsRunner backed by this helper; runs are serialised. */
  readonly runner: SsRunner = (req = {}) => {
    const p = this.queue.then(() => this.runOnce(req));
    this.queue = p.catch(() => undefined);
    return p;
  };

  /** Kills the helper; later runs fail. */
  close(): void {
    this.closed = true;
    this.kill(new PeerPidLookupError('ss helper closed'));
  }

  private runOnce(req: SsRequest): Promise<string> {
    if (this.closed) return Promise.reject(new PeerPidLookupError('ss helper closed'));
    if (req.signal?.aborted) return Promise.reject(req.signal.reason as Error);
    const args = ssArgs(req);
    const key = args.join('\0');
    if (!this.child || key !== this.childArgs) {
      this.kill(new PeerPidLookupError('ss helper restarted'));
      this.start(args, key);
    }
    const child = this.child!;
    return new Promise<string>((resolve, reject) => {
      const onAbort = (): void => this.kill(req.signal!.reason as Error);
      req.signal?.addEventListener('abort', onAbort, { once: true });
      const done = (): void => req.signal?.removeEventListener('abort', onAbort);
      this.run = {
        text: '',
        resolve: (text) => { done(); resolve(text); },
        reject: (err) => { done(); reject(err); },
      };
      this.stderrTail = '';
      child.stdin!.write('\n');
    });
  }

  private start(args: string[], key: string): void {
    const child = spawn('/bin/sh', ['-c', SCRIPT, 'ctdb-bridge-ss', this.command, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      // Its own process group, so that a kill also ends the `ss` it is running.
      detached: true,
    });
    this.spawned++;
    this.child = child;
    this.childArgs = key;
    // The helper never keeps the process alive on its own.
    child.unref();
    for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as { unref?: () => void } | null)?.unref?.();
    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => { if (this.child === child) this.onOutput(chunk); });
    child.stderr!.on('data', (chunk: string) => { this.stderrTail = (this.stderrTail + chunk).slice(-500); });
    child.stdin!.on('error', () => undefined);
    child.on('error', (err) => { if (this.child === child) this.kill(new PeerPidLookupError(`ss helper: ${err.message}`, err)); });
    child.on('exit', (code, signal) => {
      if (this.child === child) this.kill(new PeerPidLookupError(`ss helper exited (${signal ?? code}): ${this.stderrTail.trim()}`));
    });
  }

  private onOutput(chunk: string): void {
    const run = this.run;
    if (!run) return;
    const from = Math.max(0, run.text.length - DONE.length - 1);
    run.text += chunk;
    if (run.text.length > MAX_OUTPUT) {
      this.kill(new PeerPidLookupError(`ss output exceeds ${MAX_OUTPUT} bytes`));
      return;
    }
    const at = run.text.indexOf(`\n${DONE} `, from);
    if (at === -1) return;
    const eol = run.text.indexOf('\n', at + 1);
    if (eol === -1) return;
    const status = Number(run.text.slice(at + DONE.length + 2, eol));
    this.run = undefined;
    if (status === 0) run.resolve(run.text.slice(0, at + 1));
    else run.reject(new PeerPidLookupError(status === 127 ? 'ss not found' : `ss exited with status ${status}: ${this.stderrTail.trim()}`));
  }

  private kill(reason: Error): void {
    const child = this.child;
    this.child = undefined;
    const run = this.run;
    this.run = undefined;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }
    run?.reject(reason);
  }
}
