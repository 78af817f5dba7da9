import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../legacy/common/log.ts';
import { addressesFrom, assertAddressesFree, parseLoopback, reserveFreeAddresses } from './addresses.ts';
import { writeClusterLayout } from './layout.ts';
import { parseNodeStatusX } from './ctdb-command.ts';
import { belongsToBase, descendants, isAlive, processesWithBase, waitForExit } from './processes.ts';
import { startFailure } from './real-node.ts';
import { defaultTimeouts } from './options.ts';
import {
  AddressInUseError, ClusterNotFoundError, CtdbdNotInstalledError,
  InvalidAddressError, NodeStartError, createLocalCluster, openLocalCluster, RealLocalCluster,
} from './index.ts';

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lc-unit-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function listen(host: string, port = 0): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host, port }, () => resolve(server));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  });
}

describe('addresses', () => {
  it('builds consecutive loopback addresses and refuses anything outside 127/8', () => {
    expect(addressesFrom('127.0.7.1', 3)).toEqual(['127.0.7.1', '127.0.7.2', '127.0.7.3']);
    expect(() => parseLoopback('10.0.0.1')).toThrow(InvalidAddressError);
    expect(() => parseLoopback('127.0.0.x')).toThrow(InvalidAddressError);
    expect(() => addressesFrom('127.0.7.253', 3)).toThrow(InvalidAddressError);
  });

  it('skips a subnet with one taken address and names a taken address', async () => {
    const held = await listen('127.0.241.2');
    const port = (held.address() as { port: number }).port;
    const reservation = await reserveFreeAddresses({ count: 3, port, range: [241, 243] });
    cleanups.push(() => reservation.release());
    expect(reservation.addresses).toEqual(['127.0.242.1', '127.0.242.2', '127.0.242.3']);
    await expect(assertAddressesFree(['127.0.241.1', '127.0.241.2'], port)).rejects.toThrow(/127\.0\.241\.2/);
    await expect(reserveFreeAddresses({ count: 3, port, range: [241, 241] })).rejects.toThrow(AddressInUseError);
  });

  it('lets two concurrent starters claim different subnets', async () => {
    const port = (((await listen('127.0.0.1')).address()) as { port: number }).port;
    const [a, b] = await Promise.all([
      reserveFreeAddresses({ count: 2, port, range: [245, 247] }),
      reserveFreeAddresses({ count: 2, port, range: [245, 247] }),
    ]);
    cleanups.push(() => a.release(), () => b.release());
    expect(a.addresses[0]).not.toBe(b.addresses[0]);
    await a.release();
    const c = await reserveFreeAddresses({ count: 2, port, range: [245, 247] });
    cleanups.push(() => c.release());
    expect(c.addresses).toEqual(a.addresses);
  });
});

describe('layout', () => {
  it('writes the test-mode tree with the shared lock and per-node ctdb.conf', async () => {
    const dir = await tempDir();
    const nodes = await writeClusterLayout(dir, ['127.0.9.1', '127.0.9.2'], 'NOTICE');
    expect(nodes.map((n) => n.socketPath)).toEqual([join(dir, 'node.0/run/ctdbd.socket'), join(dir, 'node.1/run/ctdbd.socket')]);
    expect((await readdir(join(dir, 'node.1'))).sort())
      .toEqual(['ctdb-bridge.conf', 'ctdb.conf', 'db', 'events', 'nodes', 'public_addresses', 'run', 'var']);
    expect(await readFile(join(dir, 'node.1/ctdb-bridge.conf'), 'utf8')).toBe(`[components]\n\tstate directory = ${join(dir, 'node.1/var/bridge')}\n`);
    expect((await readdir(join(dir, 'node.1/db'))).sort()).toEqual(['persistent', 'state', 'volatile']);
    expect(await readFile(join(dir, 'node.0/nodes'), 'utf8')).toBe('127.0.9.1\n127.0.9.2\n');
    const conf = await readFile(join(dir, 'node.1/ctdb.conf'), 'utf8');
    expect(conf).toContain(`cluster lock = ${join(dir, 'cluster.lock')}`);
    expect(conf).toContain('node address = 127.0.9.2');
    expect(conf).toContain(`location = file:${join(dir, 'node.1/log.ctdb')}`);
    expect(conf).toMatch(/\[failover\]\s+disabled = true/);
  });
});

describe('ctdb -X nodestatus parsing', () => {
  it('reads flags by header name (4.17 layout with the Unknown column)', () => {
    const out = [
      '|Node|IP|Disconnected|Unknown|Banned|Disabled|Unhealthy|Stopped|Inactive|PartiallyOnline|ThisNode|',
      '|0|127.0.100.1|0|0|0|0|0|0|0|0|Y|',
      '|2|127.0.100.3|1|0|0|0|1|0|1|0|N|',
      '',
    ].join('\n');
    expect(parseNodeStatusX(out)).toEqual([
      { pnn: 0, address: '127.0.100.1', flags: [], thisNode: true },
      { pnn: 2, address: '127.0.100.3', flags: ['DISCONNECTED', 'UNHEALTHY', 'INACTIVE'], thisNode: false },
    ]);
    expect(parseNodeStatusX('connection failed')).toEqual([]);
  });
});

describe('processes', () => {
  it('tracks a process tree by PID and by CTDB_BASE, and sees it go', async () => {
    const base = '/nonexistent/lc-unit-base';
    const child = spawn('sh', ['-c', 'sleep 30 & wait'], { env: { ...process.env, CTDB_BASE: base }, stdio: 'ignore' });
    cleanups.push(() => { child.kill('SIGKILL'); });
    const pid = child.pid!;
    let tree: number[] = [];
    for (let i = 0; i < 50 && tree.length === 0; i++) {
      tree = descendants(pid);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(isAlive(pid)).toBe(true);
    expect(tree.length).toBe(1);
    expect(belongsToBase(pid, base)).toBe(true);
    expect(belongsToBase(pid, '/other')).toBe(false);
    expect(processesWithBase(base).sort()).toEqual([pid, ...tree].sort());
    for (const p of [pid, ...tree]) process.kill(p, 'SIGKILL');
    expect(await waitForExit([pid, ...tree], 5_000)).toBe(true);
    expect(processesWithBase(base)).toEqual([]);
  });
});

describe('typed errors', () => {
  it('names apt-get install ctdb when ctdbd is missing', async () => {
    const dir = await tempDir();
    const cluster = new RealLocalCluster({ dir, ctdbdPath: join(dir, 'no-ctdbd'), logger: silentLogger() });
    const err = await cluster.up().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CtdbdNotInstalledError);
    expect((err as Error).message).toContain('apt-get install ctdb');
  });

  it('reports a taken node address before starting anything', async () => {
    const dir = await tempDir();
    const held = await listen('127.0.243.2');
    const port = (held.address() as { port: number }).port;
    const cluster = new RealLocalCluster({ dir, baseAddress: '127.0.243.1', port, logger: silentLogger() });
    const err = await cluster.up().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AddressInUseError);
    expect((err as AddressInUseError).address).toBe('127.0.243.2');
  });

  it('includes the log tail when the daemon fails to start', async () => {
    const dir = await tempDir();
    const cluster = new RealLocalCluster({
      dir, ctdbdPath: '/bin/false', baseAddress: '127.0.244.1', port: 1, nodes: 1, logger: silentLogger(),
    });
    const err = await cluster.up().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NodeStartError);
    expect((err as Error).message).toMatch(/node 0 failed to start: ctdbd exited with 1[\s\S]*tail of log.ctdb/);
  });

  it('classifies a bind failure in log.ctdb as AddressInUseError', async () => {
    const dir = await tempDir();
    const logFile = join(dir, 'log.ctdb');
    await writeFile(logFile, 'old line\nctdbd[1]: ../../ctdb/tcp/tcp_connect.c:578 Failed to bind() to socket. Address already in use(98)\n');
    const paths = { pnn: 1, address: '127.0.5.2', base: dir, socketPath: '', pidFile: '', eventdPidFile: '', logFile, confFile: '' };
    const ctx = { paths, ctdbdPath: '', ctdbPath: '', timeouts: defaultTimeouts, startRetries: 0, logger: silentLogger() };
    expect(await startFailure(ctx, 0, 'x')).toBeInstanceOf(AddressInUseError);
    expect(await startFailure(ctx, 9, 'x')).toBeInstanceOf(AddressInUseError);
    await writeFile(logFile, 'Failed to start event daemon\n');
    expect(await startFailure(ctx, 0, 'x')).toBeInstanceOf(NodeStartError);
  });

  it('creates the embedded kind through the factory, and finds no cluster in an empty dir', async () => {
    expect(createLocalCluster({ kind: 'embedded', dir: '/nonexistent' }).kind).toBe('embedded');
    await expect(openLocalCluster(await tempDir())).rejects.toThrow(ClusterNotFoundError);
  });
});
