import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../../legacy/common/package-info.ts';
import { QUICK_START_TIMING } from '../../../legacy/daemon/daemon.ts';
import { TestCluster } from '../../../legacy/daemon/testing/test-cluster.ts';

/**
 * The bin loads the one-shot bundle with a V8 code cache beside it: the
 * first command writes the cache, later ones use it as it is, a rebuilt
 * bundle (new size or mtime) gets a new one, and the answer never changes.
 * Runs the bin and the built bundle (`npm run build`) from a scratch copy
 * of the package, so the real dist/ is left alone.
 */

const BUNDLE = 'dist/scripts/cli/legacy/fast-main.bundle.cjs';
let cluster: TestCluster;
let pkg: string;

beforeAll(async () => {
  pkg = await mkdtemp(join(tmpdir(), 'ctdb-bridge-bin-cache-'));
  await mkdir(join(pkg, 'scripts/bin'), { recursive: true });
  await mkdir(join(pkg, 'dist/scripts/cli/legacy'), { recursive: true });
  await mkdir(join(pkg, 'dist/bundle'), { recursive: true });
  for (const file of ['package.json', 'scripts/bin/ctdb-bridge.cjs', BUNDLE, 'dist/bundle/main.mjs']) {
    await copyFile(join(PACKAGE_ROOT, file), join(pkg, file));
  }
  await symlink(join(PACKAGE_ROOT, 'node_modules'), join(pkg, 'node_modules'));
  cluster = await TestCluster.create({ nodes: 2, timing: QUICK_START_TIMING });
  await cluster.startAll();
  await cluster.until(() => cluster.settled(), 10_000, 'cluster settled');
});

afterAll(async () => {
  await cluster?.destroy();
  if (pkg) await rm(pkg, { recursive: true, force: true });
});

function pnn(): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(pkg, 'scripts/bin/ctdb-bridge.cjs'), 'legacy', 'pnn', '--socket', cluster.socketPath(1)],
      { timeout: 30_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      });
  });
}

describe('the bin\'s code cache for the one-shot bundle', () => {
  const cacheFile = () => join(pkg, `${BUNDLE}.v8cache`);
  const stampOf = async (file: string) => {
    const { size, mtimeMs } = await stat(file);
    return `${size} ${mtimeMs}\n`;
  };

  it('is written by the first command, used unchanged by the next, renewed for a rebuilt bundle', async () => {
    await expect(stat(cacheFile())).rejects.toThrow(/ENOENT/);
    expect(await pnn()).toEqual({ code: 0, stdout: '1\n', stderr: '' });
    const first = await readFile(cacheFile());
    const stamp = await stampOf(join(pkg, BUNDLE));
    expect(first.subarray(0, stamp.length).toString()).toBe(stamp);
    expect(first.length).toBeGreaterThan(stamp.length + 10_000); // holds compiled functions, not just a header
    const written = (await stat(cacheFile())).mtimeMs;

    expect(await pnn()).toEqual({ code: 0, stdout: '1\n', stderr: '' });
    expect((await stat(cacheFile())).mtimeMs).toBe(written); // accepted: not rewritten

    const later = new Date(Date.now() + 5_000);
    await utimes(join(pkg, BUNDLE), later, later);
    expect(await pnn()).toEqual({ code: 0, stdout: '1\n', stderr: '' });
    const renewed = await readFile(cacheFile());
    expect(renewed.subarray(0, stamp.length).toString()).not.toBe(stamp);
    expect(renewed.subarray(0, 64).toString()).toContain(await stampOf(join(pkg, BUNDLE)));
  });

  it('a cache that is not V8\'s (a torn write, another Node) is replaced, the command answers all the same', async () => {
    const stamp = await stampOf(join(pkg, BUNDLE));
    await writeFile(cacheFile(), Buffer.concat([Buffer.from(stamp), Buffer.alloc(4096, 7)]));
    expect(await pnn()).toEqual({ code: 0, stdout: '1\n', stderr: '' });
    const replaced = await readFile(cacheFile());
    expect(replaced.length).toBeGreaterThan(stamp.length + 10_000);
  });
});
