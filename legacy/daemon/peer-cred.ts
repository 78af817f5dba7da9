import { execFile } from 'node:child_process';
import { readlink } from 'node:fs/promises';
import type { Socket } from 'node:net';

/**
 * The pid of a unix-socket client, as ctdbd gets it from SO_PEERCRED
 * (PROCESS_EXISTS, CHECK_PID_SRVID). Node has no SO_PEERCRED, so:
 * 1. our end's inode from /proc/self/fd/<fd> ("socket:[INODE]");
 * 2. `ss -p` lists unix sockets with their peer inode and owning processes;
 *    the row whose *peer* is our inode is the client's end and names its pid.
 * client-pids.ts decides when to look (in the background, one run at a time).
 */

/** Our end's socket inode, or undefined when it cannot be determined. */
export async function socketInode(socket: Socket): Promise<number | undefined> {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return undefined;
  try {
    const link = await readlink(`/proc/self/fd/${fd}`);
    const m = /^socket:\[(\d+)\]$/.exec(link);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export interface UnixSocketRow {
  inode: number;
  peerInode: number;
  pids: number[];
}

/**
 * Parses `ss -pnH` unix rows. Columns, from the right: LocalInode PeerAddr
 * PeerInode [users:(...)]; ss leaves out Netid and State when only one is
 * listed, so rows are read from the right.
 */
export function parseSsUnix(text: string): UnixSocketRow[] {
  const rows: UnixSocketRow[] = [];
  for (const line of text.split('\n')) {
    const users = line.indexOf('users:(');
    const head = (users === -1 ? line : line.slice(0, users)).trim().split(/\s+/);
    if (head.length < 4) continue;
    const inode = Number(head[head.length - 3]);
    const peerInode = Number(head[head.length - 1]);
    if (!isInode(inode) || !isInode(peerInode)) continue;
    rows.push({ inode, peerInode, pids: users === -1 ? [] : pidsIn(line.slice(users)) });
  }
  return rows;
}

/**
 * The processes holding the other end of each of `ours` (our sockets'
 * inodes): our inode -> pids (several when the client's descriptor is
 * shared, e.g. across fork). Scans line by line without splitting the whole
 * text, and looks at `users:` only on matching rows: the output can list
 * every unix socket of the host.
 */
export function peerOwners(text: string, ours: ReadonlySet<number>): Map<number, number[]> {
  const out = new Map<number, number[]>();
  let pos = 0;
  // Next "users:(" at or after pos; kept across rows so rows without one stay O(1).
  let users = -1;
  while (pos < text.length) {
    let eol = text.indexOf('\n', pos);
    if (eol === -1) eol = text.length;
    if (users !== Number.MAX_SAFE_INTEGER && users < pos) {
      users = text.indexOf('users:(', pos);
      if (users === -1) users = Number.MAX_SAFE_INTEGER;
    }
    const headEnd = users > eol ? eol : users;
    let end = headEnd;
    while (end > pos && isSpace(text.charCodeAt(end - 1))) end--;
    let start = end;
    while (start > pos && !isSpace(text.charCodeAt(start - 1))) start--;
    const peer = Number(text.slice(start, end));
    if (headEnd < eol && ours.has(peer)) {
      let list = out.get(peer);
      for (let at = text.indexOf('pid=', headEnd); at !== -1 && at < eol; at = text.indexOf('pid=', at + 4)) {
        const pid = digitsAt(text, at + 4);
        if (pid > 0) (list ??= []).push(pid);
      }
      if (list) out.set(peer, list);
    }
    pos = eol + 1;
  }
  return out;
}

/** The decimal number starting at `at` (0 when none). */
function digitsAt(text: string, at: number): number {
  let n = 0;
  for (let c = text.charCodeAt(at); c >= 48 && c <= 57; c = text.charCodeAt(++at)) n = n * 10 + (c - 48);
  return n;
}

function pidsIn(users: string): number[] {
  return [...users.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
}

function isInode(n: number): boolean {
  return Number.isInteger(n) && n > 0;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 13;
}

export interface SsRequest {
  /** Our listening path: its rows (our own ends) are left out of the listing. */
  excludeLocalPath?: string;
  /** Aborts the run (kills the child). */
  signal?: AbortSignal;
}

/** Runs `ss` and returns its output; injectable so that tests are deterministic. */
export type SsRunner = (req?: SsRequest) => Promise<string>;

/**
 * The narrowest listing that still holds every client's end: connected unix
 * stream sockets with their processes, without our own ends when our path
 * has no glob characters (ss matches `src` as a pattern).
 */
export function ssArgs(req: SsRequest = {}): string[] {
  const args = ['-Hnp', '-A', 'unix_stream', 'state', 'established'];
  const path = req.excludeLocalPath;
  if (path && !/[*?[\]\\\s]/.test(path)) args.push('!', 'src', `unix:${path}`);
  return args;
}

export const runSs: SsRunner = (req = {}) => new Promise((resolve, reject) => {
  execFile('ss', ssArgs(req), { maxBuffer: 64 * 1024 * 1024, signal: req.signal, killSignal: 'SIGKILL' }, (err, stdout) => {
    if (err) reject(err);
    else resolve(stdout);
  });
});

/**
 * Resolves the peer pids of several sockets with one `ss` run.
 * Returns inode -> pid (the first owner) for the inodes found.
 */
export async function peerPidsByInode(inodes: number[], ss: SsRunner = runSs): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  if (inodes.length === 0) return out;
  for (const [inode, pids] of peerOwners(await ss(), new Set(inodes))) out.set(inode, pids[0]);
  return out;
}
