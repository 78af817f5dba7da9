import { afterEach, describe, expect, test } from 'vitest';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../legacy/common/log.ts';
import { ClusterLock, FCNTL_HELPER, lockHelperArgv } from './cluster-lock.ts';

describe('cluster lock through the mutex-helper convention', () => {
  const locks: ClusterLock[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const l of locks.splice(0)) await l.release();
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });
  const lock = (spec: string, onLost: (why: string) => void = () => {}) => {
    const l = new ClusterLock({ spec, logger: silentLogger(), onLost });
    locks.push(l);
    return l;
  };
  const tmp = async () => {
    const d = await mkdtemp(join(tmpdir(), 'lock-test-'));
    dirs.push(d);
    return d;
  };

  test('argv: a path means Debian\'s fcntl helper, "!" a helper of the operator\'s', () => {
    expect(lockHelperArgv('/shared/clusterd.lock')).toEqual([FCNTL_HELPER, '/shared/clusterd.lock']);
    expect(lockHelperArgv('! /usr/bin/my-helper  a b')).toEqual(['/usr/bin/my-helper', 'a', 'b']);
    expect(() => lockHelperArgv('!')).toThrow(/names no helper/);
  });

  test('Debian\'s ctdb_mutex_fcntl_helper: one holder, the other contended, free again after release', async () => {
    expect(existsSync(FCNTL_HELPER), `${FCNTL_HELPER} (Debian package ctdb) is needed`).toBe(true);
    const path = join(await tmp(), 'clusterd.lock');
    const a = lock(path);
    const b = lock(path);
    expect(await a.acquire()).toBe('held');
    expect(a.holding).toBe(true);
    expect(await b.acquire()).toBe('contended');
    expect(b.holding).toBe(false);
    await a.release();
    expect(await b.acquire()).toBe('held');
  });

  test('a helper that dies while the lock is held means the lock is lost', async () => {
    const dir = await tmp();
    const helper = join(dir, 'helper.sh');
    // Holds "the lock" until told to go away by a file appearing.
    await writeFile(helper, `#!/bin/sh\nprintf 0\nwhile [ ! -e ${dir}/go ]; do sleep 0.05; done\nexit 1\n`);
    await chmod(helper, 0o755);
    let lost: string | undefined;
    const l = lock(`!${helper}`, (why) => { lost = why; });
    expect(await l.acquire()).toBe('held');
    await writeFile(join(dir, 'go'), '');
    await new Promise<void>((resolve) => { const t = setInterval(() => { if (lost) { clearInterval(t); resolve(); } }, 20); });
    expect(lost).toMatch(/helper exited \(code 1\)/);
    expect(l.holding).toBe(false);
  });

  test('helper answers 1, 2, 3 and garbage are not "held"', async () => {
    const dir = await tmp();
    for (const [answer, outcome] of [['1', 'contended'], ['2', 'timeout'], ['3', 'error'], ['x', 'error']]) {
      const helper = join(dir, `helper-${answer}.sh`);
      await writeFile(helper, `#!/bin/sh\nprintf ${answer}\nsleep 5\n`);
      await chmod(helper, 0o755);
      expect(await lock(`!${helper}`).acquire()).toBe(outcome);
    }
    expect(await lock(`!${join(dir, 'missing')}`).acquire()).toBe('error');
  });
});
