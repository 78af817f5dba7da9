// Where WebSocket peers come from: the operator's ctdb nodes file (PNN =
// position among non-blank lines; "#" lines are deleted nodes that keep
// their PNN) or an explicit "PNN=HOST:PORT,..." list. And the cluster
// secret file, which is refused unless only its owner can touch it.

import { open } from 'node:fs/promises';
import type { WsPeer } from './websocket.ts';
import { MIN_SECRET_BYTES } from './ws-auth.ts';
import { parseNodesFile as readNodesList } from '../../legacy/config/nodes-file.ts';

export const DEFAULT_WS_PORT = 4380;

export interface NodesFileEntry {
  node: number;
  /** undefined for a deleted node. */
  address: string | undefined;
}

/** The shared reader (ctdb 4.17's rules); throws OperatorFileError naming file and line. */
export function parseNodesFile(text: string, file = 'nodes'): NodesFileEntry[] {
  return readNodesList(text, file).nodes.map((n) => ({ node: n.pnn, address: n.deleted ? undefined : n.address }));
}

export function peersFromNodesFile(text: string, port = DEFAULT_WS_PORT, file = 'nodes'): WsPeer[] {
  return parseNodesFile(text, file)
    .filter((e): e is { node: number; address: string } => e.address !== undefined)
    .map((e) => ({ node: e.node, host: e.address, port }));
}

/** "1=127.0.0.2:4380,2=[::1]:4381" -> peers. Throws on malformed entries. */
export function parsePeerList(spec: string): WsPeer[] {
  return spec.split(',').map((s) => s.trim()).filter(Boolean).map((item) => {
    const m = /^(\d+)=(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(item);
    if (!m) throw new Error(`bad peer ${JSON.stringify(item)}; expected PNN=HOST:PORT`);
    const port = Number(m[4]);
    if (port < 1 || port > 65535) throw new Error(`bad port in ${item}`);
    return { node: Number(m[1]), host: m[2] ?? m[3], port };
  });
}

/** "HOST:PORT" or "[V6]:PORT". */
export function parseHostPort(spec: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(spec.trim());
  if (!m) throw new Error(`bad address ${JSON.stringify(spec)}; expected HOST:PORT`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`bad port in ${spec}`);
  return { host: m[1] ?? m[2], port };
}

// ---- the cluster secret file ----

export type ClusterSecretProblem = 'unreadable' | 'not-a-file' | 'wrong-owner' | 'group-or-other-access' | 'too-short';

/** A secret file transportd will not use; `file` and `reason` say which and why. */
export class ClusterSecretError extends Error {
  constructor(readonly file: string, readonly reason: ClusterSecretProblem, detail: string, options?: { cause?: unknown }) {
    super(`cluster secret file ${file} refused (${reason}): ${detail}`, options);
    this.name = 'ClusterSecretError';
  }
}

export interface ReadClusterSecretOptions {
  /** The uid transportd runs as (default: the effective uid); root (0) may always own the file. */
  daemonUid?: number;
}

/**
 * The cluster secret from `file`, checked on the opened file (no race with a
 * rename): a regular file owned by root or by the daemon's own uid, with no
 * group or other permission bits (mode & 0o077 == 0), holding at least
 * MIN_SECRET_BYTES once a trailing newline is dropped.
 */
export async function readClusterSecret(file: string, opts: ReadClusterSecretOptions = {}): Promise<Buffer> {
  const daemonUid = opts.daemonUid ?? process.geteuid?.() ?? 0;
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    throw new ClusterSecretError(file, 'unreadable', (err as Error).message, { cause: err });
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new ClusterSecretError(file, 'not-a-file', 'not a regular file');
    if (st.uid !== 0 && st.uid !== daemonUid) {
      throw new ClusterSecretError(file, 'wrong-owner', `owned by uid ${st.uid}; must be owned by root or by uid ${daemonUid}, which runs transportd`);
    }
    if ((st.mode & 0o077) !== 0) {
      throw new ClusterSecretError(file, 'group-or-other-access',
        `mode ${(st.mode & 0o777).toString(8).padStart(4, '0')} lets group or others read or write it; chmod 600 it`);
    }
    const secret = trimSecret(await handle.readFile());
    if (secret.length < MIN_SECRET_BYTES) {
      throw new ClusterSecretError(file, 'too-short', `${secret.length} bytes; the secret needs at least ${MIN_SECRET_BYTES}`);
    }
    return secret;
  } finally {
    await handle.close();
  }
}

/** A trailing newline in a secret file is not part of the secret. */
function trimSecret(secret: Buffer): Buffer {
  let end = secret.length;
  while (end > 0 && (secret[end - 1] === 0x0a || secret[end - 1] === 0x0d)) end--;
  return secret.subarray(0, end);
}
