// The unix socket local components use to reach transportd: refuses to
// start over a live transportd, removes a stale socket file, mode 0700.

import { chmod, lstat, unlink } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';

export async function listenUnixSocket(path: string, onConnection: (socket: Socket) => void): Promise<Server> {
  await removeStaleSocket(path);
  const server = createServer(onConnection);
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
