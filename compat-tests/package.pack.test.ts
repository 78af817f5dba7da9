import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_ROOT, PACKAGE_VERSION } from '../legacy/common/package-info.ts';
import { startEmbeddedCluster, type EmbeddedClusterFixture } from './support/embedded-cluster.ts';

/**
 * The package as another project gets it: `npm pack`, installed into an
 * empty directory, used through its bin and its documented entry points.
 */

const run = promisify(execFile);
const FIXTURE = join(PACKAGE_ROOT, 'legacy/protocol/fixtures/ctdb-cli/status.c2s.bin');

let work: string;
let consumer: string;
let cluster: EmbeddedClusterFixture | undefined;

function inConsumer(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return run(cmd, args, { cwd: consumer, env: { ...process.env, ...env }, timeout: 60_000, maxBuffer: 16 << 20 });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ctdb-bridge-pack-'));
  consumer = join(work, 'consumer');
  // --ignore-scripts: the test setup has just built dist/ from these sources.
  await run('npm', ['pack', '--ignore-scripts', '--pack-destination', work], { cwd: PACKAGE_ROOT, timeout: 60_000 });
  const tarball = (await readdir(work)).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error('npm pack produced no tarball');
  await run('mkdir', [consumer]);
  await writeFile(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', type: 'module', private: true }));
  await inConsumer('npm', ['install', '--no-audit', '--no-fund', join(work, tarball)]);
  cluster = await startEmbeddedCluster({ nodes: 2 });
}, 180_000);

afterAll(async () => {
  await cluster?.teardown();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the packed tarball installed into an empty directory', () => {
  test('ships the build, not the sources or the test helpers', async () => {
    const { stdout } = await run('tar', ['-tzf', join(work, (await readdir(work)).find((f) => f.endsWith('.tgz'))!)]);
    const files = stdout.split('\n').filter(Boolean);
    expect(files).toContain('package/dist/legacy/protocol/index.js');
    expect(files).toContain('package/dist/legacy/protocol/index.d.ts');
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((f) => /\/testing\/|\.test\./.test(f))).toEqual([]);
  });

  test('npx ctdb-bridge --help and --version', async () => {
    const help = await inConsumer('npx', ['--no-install', 'ctdb-bridge', '--help']);
    expect(help.stdout).toMatch(/Usage: ctdb-bridge/);
    expect(help.stdout).toMatch(/legacy/);
    const version = await inConsumer('npx', ['--no-install', 'ctdb-bridge', '--version']);
    expect(version.stdout.trim()).toBe(PACKAGE_VERSION);
  });

  test('npx ctdb-bridge decode dissects a recorded stream', async () => {
    const { stdout } = await inConsumer('npx', ['--no-install', 'ctdb-bridge', 'decode', '--roundtrip', FIXTURE]);
    const records = stdout.trim().split('\n').map((l) => JSON.parse(l) as { operation?: string });
    expect(records.length).toBeGreaterThan(1);
    expect(stdout).toMatch(/REQ_CONTROL/);
  });

  test('npx ctdb-bridge legacy status answers like on the node', async () => {
    const node = cluster!.nodes[0];
    const ours = await inConsumer('npx', ['--no-install', 'ctdb-bridge', 'legacy', 'status'],
      { CTDB_TEST_MODE: 'yes', CTDB_BASE: node.base });
    expect(ours.stdout).toMatch(/Number of nodes:2/);
    expect(ours.stdout).toMatch(/pnn:0 .*OK \(THIS NODE\)/);
    const debian = await cluster!.ctdb(0, ['status']);
    expect(ours.stdout).toBe(debian.stdout);
  });

  test('the documented entry points import, with their types', async () => {
    const script = [
      "import { encodePacket, Operation } from 'ctdb-bridge/codec';",
      "import { LegacyClient } from 'ctdb-bridge/client';",
      "import { TransportClient } from 'ctdb-bridge/transport';",
      "import * as client from 'ctdb-bridge/client';",
      "import { ComponentHost, CLUSTERD_SERVICE, parseBridgeConf } from 'ctdb-bridge/components';",
      "console.log(JSON.stringify([typeof encodePacket, Operation.REQ_CONTROL, typeof LegacyClient, typeof TransportClient, 'ManualTimers' in client,",
      "  typeof ComponentHost, CLUSTERD_SERVICE, parseBridgeConf('[clusterd]\\nmode = active\\n').values['clusterd/mode']]));",
    ].join('\n');
    await writeFile(join(consumer, 'use.mjs'), script);
    const { stdout } = await inConsumer(process.execPath, ['use.mjs']);
    expect(JSON.parse(stdout)).toEqual(['function', 7, 'function', 'function', false, 'function', 16, 'active']);
    const pkg = JSON.parse((await run('cat', [join(consumer, 'node_modules/ctdb-bridge/package.json')])).stdout) as {
      exports: Record<string, { types: string }>;
    };
    for (const entry of ['./codec', './client', './transport', './components']) {
      await run('test', ['-f', join(consumer, 'node_modules/ctdb-bridge', pkg.exports[entry].types)]);
    }
  });
});
