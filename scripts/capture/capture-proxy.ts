import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createLogger, type Logger } from '../../legacy/common/log.ts';
import { connectionFiles, writeCaptureIndex, type CaptureConnection, type CaptureIndex } from './capture-index.ts';

/**
 * A pass-through unix-socket proxy that records traffic: each accepted
 * client gets its own connection to the real socket; bytes are forwarded
 * unchanged in both directions and appended to conn-<n>.c2s.bin
 * (client -> server) and conn-<n>.s2c.bin (server -> client).
 */

export class CaptureError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'CaptureError';
    this.code = code;
  }
}

export interface CaptureProxyOptions {
  /** The daemon's socket, e.g. DIR/node.0/run/ctdbd.socket. */
  realSocket: string;
  /** Where clients connect instead (point CTDB_SOCKET here). */
  listenSocket: string;
  outDir: string;
  /** Accept only this many connections; `done` resolves when they have all closed. */
  count?: number;
  /** Initial label for connections (see setLabel). */
  label?: string;
  logger?: Logger;
}

export interface CaptureProxy {
  readonly listenSocket: string;
  readonly outDir: string;
  /** Label recorded for connections accepted from now on (e.g. the command being run). */
  setLabel(label: string | null): void;
  /** Snapshot of every connection so far. */
  connections(): CaptureConnection[];
  /** Resolves once at least `n` connections have been accepted and all of them are closed and written. */
  waitForClosed(n: number, timeoutMs?: number): Promise<CaptureConnection[]>;
  /** Resolves after `count` connections closed (with a count), or after close(). */
  readonly done: Promise<CaptureConnection[]>;
  /** Stops listening, cuts open connections, flushes files and the index. */
  close(): Promise<void>;
}

function endStream(stream: WriteStream): Promise<void> {
  return new Promise((resolve) => stream.end(() => resolve()));
}

/** Refuses a socket path another live server listens on; removes a stale one. */
async function clearListenPath(path: string): Promise<void> {
  const live = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => { probe.destroy(); resolve(true); });
    probe.once('error', () => resolve(false));
  });
  if (live) throw new CaptureError('LISTEN_IN_USE', `${path} is already served by another process`);
  await rm(path, { force: true });
}

export async function startCaptureProxy(opts: CaptureProxyOptions): Promise<CaptureProxy> {
  const log = opts.logger ?? createLogger({ component: 'capture' });
  await mkdir(opts.outDir, { recursive: true });
  await clearListenPath(opts.listenSocket);

  const index: CaptureIndex = {
    realSocket: opts.realSocket, listenSocket: opts.listenSocket, startedAt: new Date().toISOString(), connections: [],
  };
  let label: string | null = opts.label ?? null;
  const open = new Map<number, { sockets: Socket[]; finished: Promise<void> }>();
  const waiters: Array<() => void> = [];
  const flushed = new Set<number>(); // connections whose files and index entry are on disk
  let indexWrites: Promise<void> = Promise.resolve();
  let closing = false;
  let closePromise: Promise<void> | null = null;
  let resolveDone!: (c: CaptureConnection[]) => void;
  const done = new Promise<CaptureConnection[]>((r) => { resolveDone = r; });

  const saveIndex = (): Promise<void> => {
    const snapshot = structuredClone(index);
    indexWrites = indexWrites.then(() => writeCaptureIndex(opts.outDir, snapshot));
    return indexWrites;
  };
  const notify = (): void => { for (const w of waiters.splice(0)) w(); };

  function handle(client: Socket): void {
    const id = index.connections.length + 1;
    const files = connectionFiles(id);
    const record: CaptureConnection = {
      id, label, startedAt: new Date().toISOString(), endedAt: null, ...files, c2sBytes: 0, s2cBytes: 0, error: null,
    };
    index.connections.push(record);
    if (opts.count !== undefined && id >= opts.count) server.close(); // accept no more
    const c2s = createWriteStream(join(opts.outDir, files.c2sFile));
    const s2c = createWriteStream(join(opts.outDir, files.s2cFile));
    const upstream = connect({ path: opts.realSocket, allowHalfOpen: true });

    const fail = (side: string) => (err: Error) => {
      record.error ??= `${side}: ${err.message}`;
      log.warn({ conn: id, side, err: err.message }, 'capture connection error');
      client.destroy();
      upstream.destroy();
    };
    client.on('error', fail('client'));
    upstream.on('error', fail('upstream'));
    upstream.once('connect', () => client.resume()); // client was paused on accept

    // Forward with backpressure, recording each chunk before it is passed on.
    const pipe = (from: Socket, to: Socket, file: WriteStream, count: 'c2sBytes' | 's2cBytes'): void => {
      from.on('data', (chunk: Buffer) => {
        file.write(chunk);
        record[count] += chunk.length;
        if (!to.write(chunk)) from.pause();
      });
      to.on('drain', () => from.resume());
      from.on('end', () => to.end()); // half-close travels through
    };
    pipe(client, upstream, c2s, 'c2sBytes');
    pipe(upstream, client, s2c, 's2cBytes');

    const closed = (s: Socket) => new Promise<void>((r) => s.once('close', () => r()));
    const finished = Promise.all([closed(client), closed(upstream)]).then(async () => {
      await Promise.all([endStream(c2s), endStream(s2c)]);
      record.endedAt = new Date().toISOString();
      open.delete(id);
      await saveIndex();
      flushed.add(id);
      log.info({ conn: id, label: record.label, c2s: record.c2sBytes, s2c: record.s2cBytes }, 'capture connection closed');
      notify();
      if (opts.count !== undefined && !closing && index.connections.length >= opts.count && open.size === 0) {
        resolveDone(index.connections);
      }
    });
    open.set(id, { sockets: [client, upstream], finished });
  }

  const server: Server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new CaptureError('LISTEN_FAILED', `cannot listen on ${opts.listenSocket}: ${err.message}`)));
    server.listen(opts.listenSocket, () => resolve());
  });
  await saveIndex();
  log.info({ listen: opts.listenSocket, real: opts.realSocket, outDir: opts.outDir }, 'capture proxy listening');

  const allClosed = (n: number): boolean => index.connections.length >= n && index.connections.every((c) => flushed.has(c.id));

  return {
    listenSocket: opts.listenSocket,
    outDir: opts.outDir,
    done,
    setLabel(next) { label = next; },
    connections: () => structuredClone(index.connections),
    async waitForClosed(n, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!allClosed(n)) {
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new CaptureError('TIMEOUT', `expected ${n} closed connections within ${timeoutMs} ms, have ` +
            `${flushed.size} of ${index.connections.length}`);
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => { clearTimeout(timer); resolve(); });
        });
      }
      return structuredClone(index.connections);
    },
    close() {
      closePromise ??= shutdown();
      return closePromise;
    },
  };

  async function shutdown(): Promise<void> {
    closing = true;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const pending = [...open.values()];
    for (const c of pending) for (const s of c.sockets) s.destroy();
    await Promise.all(pending.map((c) => c.finished));
    await saveIndex();
    await rm(opts.listenSocket, { force: true });
    resolveDone(index.connections);
  }
}
