import { readFileSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * PID helpers built on /proc (Linux). Zombies count as gone: daemonised
 * ctdbd processes are re-parented to an init that may reap them late, and a
 * zombie still answers kill(pid, 0).
 */

function procState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 3, after the command name in parentheses (which may hold spaces).
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? null;
  } catch {
    return null;
  }
}

export function isAlive(pid: number): boolean {
  const state = procState(pid);
  return state !== null && state !== 'Z' && state !== 'X';
}

function parentOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

/** All live descendants of pid (children, grandchildren, ...). */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const child = Number(entry);
    const parent = parentOf(child);
    if (parent === null) continue;
    const list = children.get(parent) ?? [];
    list.push(child);
    children.set(parent, list);
  }
  const out: number[] = [];
  const stack = [pid];
  while (stack.length > 0) {
    for (const child of children.get(stack.pop()!) ?? []) {
      if (isAlive(child)) out.push(child);
      stack.push(child);
    }
  }
  return out;
}

/**
 * True when the process runs with CTDB_BASE=base in its environment, so a
 * recycled PID from a stale pid file is never mistaken for our daemon.
 */
export function belongsToBase(pid: number, base: string): boolean {
  return hasEnvEntry(pid, `CTDB_BASE=${base}`);
}

/** True when the live process has `entry` (NAME=value) in its environment. */
export function hasEnvEntry(pid: number, entry: string): boolean {
  if (!isAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(entry);
  } catch {
    return false;
  }
}

/** Reads a pid file; null when absent or garbage. */
export async function readPidFile(path: string): Promise<number | null> {
  try {
    const pid = Number((await readFile(path, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** Sends a signal, ignoring processes that are already gone. */
export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Resolves true when every pid is gone before the deadline, false otherwise. */
export async function waitForExit(pids: number[], timeoutMs: number, pollMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (pids.every((pid) => !isAlive(pid))) return true;
    if (Date.now() >= deadline) return false;
    await sleep(pollMs);
  }
}

/** SIGKILL every pid still alive and wait (briefly) for them to disappear. */
export async function killAll(pids: number[], timeoutMs = 5_000): Promise<boolean> {
  for (const pid of pids) if (isAlive(pid)) signal(pid, 'SIGKILL');
  return waitForExit(pids, timeoutMs);
}

/**
 * Every live process (other than ours) whose environment holds
 * CTDB_BASE=base: the daemon, its helpers, lingering event daemons and any
 * ctdb CLI still talking to the node. The last-resort sweep for cleanup.
 */
export function processesWithBase(base: string): number[] {
  return processesWithEnv(`CTDB_BASE=${base}`);
}

/** Every live process (other than ours) whose environment holds `entry` (NAME=value). */
export function processesWithEnv(entry: string): number[] {
  const needle = `${entry}\0`;
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${name}/environ`, 'utf8') + '\0';
      if (environ.includes(`\0${needle}`) || environ.startsWith(needle)) {
        if (isAlive(Number(name))) out.push(Number(name));
      }
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return out;
}
