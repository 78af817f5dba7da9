import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Control } from '../../legacy/protocol/controls.ts';
import { ScriptedCtdbd, type CtdbdScript, type RecordedControl, type RecordedMessage } from './scripted-ctdbd.ts';

/**
 * Runs a takeover helper against a scripted ctdbd and reports what it did:
 * Debian's /usr/libexec/ctdb/ctdb_takeover_helper (spawned with an extra
 * pipe as its status fd, killed by PID on timeout), our CLI entry the same
 * way, or our takeover run in-process. Each run gets a fresh daemon in its
 * own temporary directory, removed afterwards.
 */

export const DEBIAN_TAKEOVER_HELPER = '/usr/libexec/ctdb/ctdb_takeover_helper';

export class TakeoverHelperNotInstalledError extends Error {
  override name = 'TakeoverHelperNotInstalledError';
  constructor(readonly path: string) {
    super(`${path} not found or not executable; install Samba's CTDB (\`apt-get install ctdb\`, 4.17)`);
  }
}

/** Throws TakeoverHelperNotInstalledError: the differential tests never skip. */
export function requireTakeoverHelper(path = DEBIAN_TAKEOVER_HELPER): string {
  try {
    accessSync(path, fsConstants.X_OK);
  } catch {
    throw new TakeoverHelperNotInstalledError(path);
  }
  return path;
}

export interface HelperRunOptions {
  forceRebalanceNodes?: number[];
  /** Sets CTDB_DISABLE_IP_FAILOVER for the helper. */
  failoverDisabled?: boolean;
  /** Kill the helper after this long (default 30 s). */
  timeoutMs?: number;
}

/** How to run one helper: a program taking `<write-fd> <socket> [nodes]`, or a function in this process. */
export type TakeoverHelper =
  | { kind: 'command'; argv: string[]; debugLevel?: string }
  | { kind: 'in-process'; run(socketPath: string, opts: HelperRunOptions): Promise<number | null> };

export const debianHelper = (debugLevel = 'NOTICE'): TakeoverHelper =>
  ({ kind: 'command', argv: [requireTakeoverHelper()], debugLevel });

export interface HelperRunResult {
  /** The int32 the helper wrote to its status fd; null when it wrote none. */
  status: number | null;
  /** Exit code of a spawned helper (undefined in-process). */
  exitCode?: number | null;
  stderr: string;
  controls: RecordedControl[];
  messages: RecordedMessage[];
  /** Address -> PNN of its successful TAKEOVER_IP; -1 for addresses never taken. */
  placement: Map<string, number>;
  /** `ctdb ip all` from the nodes' views afterwards. */
  ipAll: Map<string, number>;
  /** Problems the daemon recorded (unscripted requests, undecodable bytes): must be empty. */
  problems: string[];
  durationMs: number;
}

/** Starts a scripted daemon for `script`, runs `helper` against it, collects and cleans up. */
export async function runHelper(helper: TakeoverHelper, script: CtdbdScript, opts: HelperRunOptions = {}): Promise<HelperRunResult> {
  const dir = await mkdtemp(join(tmpdir(), 'ctdb-bridge-takeover-'));
  let daemon: ScriptedCtdbd | undefined;
  try {
    daemon = await ScriptedCtdbd.start(script, join(dir, 'ctdbd.socket'));
    const started = performance.now();
    const run = helper.kind === 'command'
      ? await spawnHelper(helper, daemon.socketPath, opts)
      : { status: await helper.run(daemon.socketPath, opts), stderr: '' };
    const durationMs = performance.now() - started;
    // Everything the helper sent has been read once its connection is gone.
    await withTimeout(daemon.whenIdle(), 5000, 'the helper\'s ctdbd connection did not close');
    return {
      ...run,
      controls: daemon.controls,
      messages: daemon.messages,
      placement: placementOf(daemon),
      ipAll: daemon.ipAll(),
      problems: [...daemon.unscripted, ...daemon.errors].map((e) => e.message),
      durationMs,
    };
  } finally {
    await daemon?.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Every address the script knows -> the PNN of its last successful TAKEOVER_IP, else -1. */
function placementOf(daemon: ScriptedCtdbd): Map<string, number> {
  const out = new Map<string, number>();
  for (const view of daemon.nodeViews()) for (const ip of view.keys()) out.set(ip, -1);
  for (const c of daemon.controls) {
    if (c.opcode === Control.TAKEOVER_IP && c.outcome === 'ok' && c.ip !== undefined) out.set(c.ip, c.pnn ?? -1);
  }
  return out;
}

/** Runs a helper program against any ctdbd socket (a scripted daemon, or a live node). */
export function spawnHelper(helper: Extract<TakeoverHelper, { kind: 'command' }>, socketPath: string, opts: HelperRunOptions):
  Promise<{ status: number | null; exitCode: number | null; stderr: string }> {
  const [program, ...prefix] = helper.argv;
  const args = [...prefix, '3', socketPath, ...(opts.forceRebalanceNodes?.length ? [opts.forceRebalanceNodes.join(',')] : [])];
  // Only what the helper reads: logging to stderr at a level, test switches; no CTDB_* from our environment.
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    CTDB_LOGGING: 'file:',
    CTDB_DEBUGLEVEL: helper.debugLevel ?? 'NOTICE',
    CTDB_BRIDGE_LOG_LEVEL: process.env.CTDB_BRIDGE_LOG_LEVEL,
    ...(opts.failoverDisabled ? { CTDB_DISABLE_IP_FAILOVER: '1' } : {}),
  };
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env, stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
    const status: Buffer[] = [];
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => { stderr += b.toString(); });
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (b: Buffer) => status.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      const bytes = Buffer.concat(status);
      if (signal) stderr += `\n[killed by ${signal}]`;
      resolve({ status: bytes.length >= 4 ? bytes.readInt32LE(0) : null, exitCode, stderr });
    });
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}
