import { execFile } from 'node:child_process';
import { readlink } from 'node:fs/promises';
import type { Socket } from 'node:net';

/**
 * The pid of a unix-socket client, as ctdbd gets it from SO_PEERCRED
 * (PROCESS_EXISTS, CHECK_PID_SRVID). Node has no SO_PEERCRED, so:
 * 1. our end's inode from /proc/self/fd/<fd> ("socket:[INODE]");
 * 2. `ss -xpnH` lists every unix socket with its peer inode and owning
 *    processes; the row whose *peer* is our inode is the client's end and
 *    names its pid.
 * Looked up lazily (only when a control needs it) and in batches.
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

/** Parses `ss -xpnH` output (one socket per line). */
export function parseSsUnix(text: string): UnixSocketRow[] {
  const rows: UnixSocketRow[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('u_')) continue;
    // Netid State Recv-Q Send-Q LocalAddr LocalInode PeerAddr PeerInode [users:(...)]
    const users = line.indexOf('users:(');
    const head = (users === -1 ? line : line.slice(0, users)).trim().split(/\s+/);
    if (head.length < 8) continue;
    const inode = Number(head[head.length - 3]);
    const peerInode = Number(head[head.length - 1]);
    if (!Number.isInteger(inode) || !Number.isInteger(peerInode)) continue;
    const pids = users === -1 ? [] : [...line.slice(users).matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
    rows.push({ inode, peerInode, pids });
  }
  return rows;
}

export type SsRunner = () => Promise<string>;

export const runSs: SsRunner = () => new Promise((resolve, reject) => {
  execFile('ss', ['-xpnH'], { maxBuffer: 64 * 1024 * 1024, timeout: 5000 }, (err, stdout) => {
    if (err) reject(err);
    else resolve(stdout);
  });
});

/**
 * Resolves the peer pids of several sockets with one `ss` run.
 * Returns inode -> pid for the inodes found.
 */
export async function peerPidsByInode(inodes: number[], ss: SsRunner = runSs): Promise<Map<number, number>> {
  const wanted = new Set(inodes);
  const out = new Map<number, number>();
  if (wanted.size === 0) return out;
  const rows = parseSsUnix(await ss());
  for (const row of rows) {
    if (wanted.has(row.peerInode) && row.pids.length > 0) out.set(row.peerInode, row.pids[0]);
  }
  return out;
}
