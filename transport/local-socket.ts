// The unix socket local components use to reach transportd: refuses to
// start over a live transportd, removes a stale socket file, mode 0700,
// and takes at most a bounded number of connections at a time.

import { chmod, lstat, unlink } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';

/** Local clients connected at once; each holds one service, and status lists them all (schema bound 4096). */
export const DEFAULT_MAX_LOCAL_CONNECTIONS = 1024;

export interface LocalSocketOptions {
  maxConnections?: number;
  /** A connection beyond maxConnections was closed at once. */
  refused?: () => void;
}

export async function listenUnixSocket(path: string, onConnection: (socket: Socket) => void, opts: LocalSocketOptions = {}): Promise<Server> {
  await removeStaleSocket(path);
  const server = createServer(onConnection);
  server.maxConnections = opts.maxConnections ?? DEFAULT_MAX_LOCAL_CONNECTIONS;
  const { refused } = opts;
  if (refused) server.on('drop', () => refused());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Only the owner (root in production) may connect.
  await chmod(path, 0o700);
  return server;
}

export async function closeUnixSocket(server: Server, path: string): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await unlink(path).catch(() => undefined);
}

async function removeStaleSocket(path: string): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) return;
  if (!st.isSocket()) throw new Error(`${path} exists and is not a socket`);
  const alive = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (alive) throw new Error(`another transportd is listening on ${path}`);
  await unlink(path);
}
