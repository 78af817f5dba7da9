import { afterEach, describe, expect, it } from 'vitest';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../legacy/common/log.ts';
import { CaptureError, startCaptureProxy, type CaptureProxy } from './capture-proxy.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'capture-unit-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const invert = (b: Buffer): Buffer => Buffer.from(b.map((x) => x ^ 0xff));

/** Upstream that answers every byte with its complement, and "bye" after the client half-closes. */
async function replyServer(path: string): Promise<Server> {
  const server = createServer({ allowHalfOpen: true }, (s) => {
    s.on('data', (chunk: Buffer) => s.write(invert(chunk)));
    s.on('end', () => s.end('bye'));
  });
  await new Promise<void>((r) => server.listen(path, () => r()));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return server;
}

/** Sends the chunks one by one (waiting for each answer), half-closes, returns all received bytes. */
function converse(path: string, chunks: Buffer[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock: Socket = connect(path);
    const received: Buffer[] = [];
    let expected = 0;
    let next = 0;
    const sendNext = (): void => {
      if (next === chunks.length) { sock.end(); return; }
      expected += chunks[next].length;
      sock.write(chunks[next++]);
    };
    sock.on('connect', sendNext);
    sock.on('data', (d: Buffer) => {
      received.push(d);
      if (Buffer.concat(received).length === expected) sendNext();
    });
    sock.on('error', reject);
    sock.on('close', () => resolve(Buffer.concat(received)));
  });
}

async function proxy(dir: string, extra: { count?: number } = {}): Promise<CaptureProxy> {
  const p = await startCaptureProxy({
    realSocket: join(dir, 'real.sock'), listenSocket: join(dir, 'proxy.sock'), outDir: join(dir, 'out'),
    logger: silentLogger(), ...extra,
  });
  cleanups.push(() => p.close());
  return p;
}

describe('capture proxy', () => {
  it('forwards both directions unchanged and records the exact byte streams', async () => {
    const dir = await tempDir();
    await replyServer(join(dir, 'real.sock'));
    const p = await proxy(dir);
    p.setLabel('first');
    const chunks = [Buffer.from([0, 1, 2, 255]), Buffer.alloc(70_000, 7), Buffer.from('tail')];
    const got = await converse(p.listenSocket, chunks);
    const expected = Buffer.concat([...chunks.map(invert), Buffer.from('bye')]);
    expect(got.equals(expected)).toBe(true);
    const [conn] = await p.waitForClosed(1);
    expect(conn).toMatchObject({ id: 1, label: 'first', c2sBytes: 70_008, s2cBytes: expected.length, error: null });
    expect((await readFile(join(dir, 'out', 'conn-1.c2s.bin'))).equals(Buffer.concat(chunks))).toBe(true);
    expect((await readFile(join(dir, 'out', 'conn-1.s2c.bin'))).equals(expected)).toBe(true);

    p.setLabel('second');
    await converse(p.listenSocket, [Buffer.from('x')]);
    await p.waitForClosed(2);
    const index = JSON.parse(await readFile(join(dir, 'out', 'index.json'), 'utf8'));
    expect(index.connections.map((c: { label: string; c2sFile: string }) => [c.label, c.c2sFile]))
      .toEqual([['first', 'conn-1.c2s.bin'], ['second', 'conn-2.c2s.bin']]);
    expect(index.connections[1].endedAt).toEqual(expect.any(String));
  });

  it('with a count, resolves done after that many connections and stops accepting', async () => {
    const dir = await tempDir();
    await replyServer(join(dir, 'real.sock'));
    const p = await proxy(dir, { count: 2 });
    await converse(p.listenSocket, [Buffer.from('a')]);
    await converse(p.listenSocket, [Buffer.from('b')]);
    const done = await p.done;
    expect(done.map((c) => c.c2sBytes)).toEqual([1, 1]);
    await expect(converse(p.listenSocket, [Buffer.from('c')])).rejects.toThrow(/ECONNREFUSED|ENOENT/);
  });

  it('records an unreachable upstream and closes the client', async () => {
    const dir = await tempDir();
    const p = await proxy(dir);
    const got = await converse(p.listenSocket, [Buffer.from('lost')]).catch(() => Buffer.alloc(0));
    expect(got.length).toBe(0);
    const [conn] = await p.waitForClosed(1);
    expect(conn.error).toMatch(/^upstream: .*ENOENT/);
  });

  it('refuses a listen path another live proxy serves, and removes its socket on close', async () => {
    const dir = await tempDir();
    await replyServer(join(dir, 'real.sock'));
    const p = await proxy(dir);
    await expect(startCaptureProxy({
      realSocket: join(dir, 'real.sock'), listenSocket: p.listenSocket, outDir: join(dir, 'out2'), logger: silentLogger(),
    })).rejects.toThrow(CaptureError);
    await p.close();
    expect(existsSync(p.listenSocket)).toBe(false);
  });
});
