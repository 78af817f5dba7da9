import { spawn } from 'node:child_process';
import { CtdbdNotInstalledError } from './errors.ts';

/** Runs the real `ctdb` CLI against one test-mode node. */

export interface CtdbRunOptions {
  ctdbPath: string;
  /** The node's CTDB_BASE (test mode takes the nodes file and socket from it). */
  base: string;
  /** Socket to talk to; defaults to BASE/run/ctdbd.socket. Point it at a proxy to capture. */
  socketPath?: string;
  args: string[];
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
}

export interface CtdbRunResult {
  argv: string[];
  stdout: string;
  stderr: string;
  /** Exit status; null when killed (see `timedOut`). */
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
}

export function ctdbEnv(base: string, socketPath?: string, extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra, CTDB_TEST_MODE: 'yes', CTDB_BASE: base };
  if (socketPath) env.CTDB_SOCKET = socketPath;
  else delete env.CTDB_SOCKET; // an inherited CTDB_SOCKET would redirect us to another node
  return env;
}

export function runCtdbCli(opts: CtdbRunOptions): Promise<CtdbRunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(opts.ctdbPath, opts.args, {
      env: ctdbEnv(opts.base, opts.socketPath, opts.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
    child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(err.code === 'ENOENT' || err.code === 'EACCES' ? new CtdbdNotInstalledError('ctdb', opts.ctdbPath) : err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ argv: [opts.ctdbPath, ...opts.args], stdout, stderr, exitCode: code, timedOut, durationMs: Date.now() - started });
    });
  });
}

export interface NodeStatusLine {
  pnn: number;
  address: string;
  /** Upper-case names of the set flag columns (DISCONNECTED, UNHEALTHY, INACTIVE, ...); [] = OK. */
  flags: string[];
  thisNode: boolean;
}

/**
 * Parses `ctdb -X nodestatus all`. The header row names the columns
 * (4.17: |Node|IP|Disconnected|Unknown|Banned|Disabled|Unhealthy|Stopped|Inactive|PartiallyOnline|ThisNode|);
 * every other column than Node, IP and ThisNode is a 0/1 flag.
 */
export function parseNodeStatusX(stdout: string): NodeStatusLine[] {
  const lines = stdout.split('\n').filter((l) => l.startsWith('|'));
  const header = lines.find((l) => l.startsWith('|Node|'));
  if (!header) return [];
  const columns = header.split('|').slice(1, -1);
  const rows: NodeStatusLine[] = [];
  for (const line of lines) {
    const cells = line.split('|').slice(1, -1);
    if (cells.length !== columns.length || !/^\d+$/.test(cells[0])) continue;
    const row: NodeStatusLine = { pnn: Number(cells[0]), address: '', flags: [], thisNode: false };
    columns.forEach((name, i) => {
      if (name === 'IP') row.address = cells[i];
      else if (name === 'ThisNode') row.thisNode = cells[i] === 'Y';
      else if (name !== 'Node' && cells[i] === '1') row.flags.push(name.toUpperCase());
    });
    rows.push(row);
  }
  return rows;
}

/**
 * `ctdb -X ip all` (4.17 spells the "all nodes" form as an argument:
 * `-n` takes a single PNN): a header |Public IP|Node| and one row per
 * address; Node is the owner's PNN, -1 when nobody hosts it.
 */
export function parsePublicIpsX(stdout: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of stdout.split('\n')) {
    const cells = line.split('|');
    if (cells.length < 4 || cells[1] === 'Public IP') continue;
    const pnn = Number(cells[2]);
    if (cells[1] !== '' && Number.isInteger(pnn)) out.set(cells[1], pnn);
  }
  return out;
}
