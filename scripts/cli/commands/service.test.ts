import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ENTRY } from '../../../legacy/common/package-info.ts';
import { ForeignFileError } from '../../services/install.ts';
import { runInstall, runUninstall, ServiceActiveError, type ServiceCommandDeps } from './service.ts';

const run = promisify(execFile);
const UNITS = ['ctdb-bridge-transportd.service', 'ctdb-bridge-clusterd.service', 'ctdb-bridge-failoverd.service'];

/** systemd-analyze verify: passes only with exit 0 and nothing said (it reports bad lines as warnings, exit 0). */
async function verify(files: string[]): Promise<{ ok: boolean; output: string }> {
  const r = await run('systemd-analyze', ['verify', '--man=no', ...files]).then(
    (x) => ({ code: 0, out: x.stdout + x.stderr }),
    (err: NodeJS.ErrnoException & { code: number | string; stdout?: string; stderr?: string }) => {
      if (typeof err.code !== 'number') throw new Error(`systemd-analyze cannot run (${err.message}); it comes with Debian's systemd package`);
      return { code: err.code, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
    });
  return { ok: r.code === 0 && r.out.trim() === '', output: r.out.trim() };
}

/** Runs the CLI as an operator would. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(process.execPath, [CLI_ENTRY, ...args], { timeout: 30_000 }).then(
    (r) => ({ code: 0, ...r }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }));
}

/** `ExecStart=node a b $VAR` -> its words without the variable. */
function execWords(unitText: string, key: string): string[] {
  const line = unitText.split('\n').find((l) => l.startsWith(`${key}=`))!;
  return line.slice(key.length + 1).replace(/^-/, '').split(' ').filter((w) => !w.startsWith('$'));
}

describe('ctdb-bridge service install|uninstall', () => {
  let root: string;
  let bin: string;
  const unitPath = (r: string, name: string) => join(r, 'etc/systemd/system', name);

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'ctdb-bridge-service-'));
    // The package as installed in the staging root: the entry is a link to this build's.
    bin = join(root, 'usr/lib/ctdb-bridge/scripts/bin/ctdb-bridge.cjs');
    await mkdir(join(bin, '..'), { recursive: true });
    await symlink(CLI_ENTRY, bin);
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes the units and both configuration files under --root, and systemd-analyze verify accepts the units', async () => {
    const r = await cli(['service', 'install', '--root', root, '--bin', bin, '--node', process.execPath]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const name of UNITS) expect(r.stdout).toContain(`wrote ${unitPath(root, name)}`);
    expect(r.stdout).toContain(`wrote ${join(root, 'etc/ctdb/ctdb-bridge.conf')}`);
    expect(r.stdout).toContain(`wrote ${join(root, 'etc/default/ctdb-bridge')}`);
    expect(r.stdout).toContain('no systemctl daemon-reload');
    const result = await verify(UNITS.map((n) => unitPath(root, n)));
    expect(result.output).toBe('');
    expect(result.ok).toBe(true);
  });

  it('the units\' command lines run: the daemon with its Node flags, and failoverd\'s drain', async () => {
    const failoverd = await readFile(unitPath(root, 'ctdb-bridge-failoverd.service'), 'utf8');
    for (const key of ['ExecStart', 'ExecStop']) {
      const [node, ...args] = execWords(failoverd, key);
      expect(node).toBe(process.execPath);
      const { stdout } = await run(node, [...args, '--help'], { timeout: 30_000 });
      expect(stdout).toMatch(key === 'ExecStart' ? /Usage: ctdb-bridge failoverd/ : /Usage: ctdb-bridge failover drain/);
    }
  });

  it('systemd-analyze verify fails on a broken unit (so the check above means something)', async () => {
    const broken = await mkdtemp(join(tmpdir(), 'ctdb-bridge-service-broken-'));
    try {
      const good = await readFile(unitPath(root, 'ctdb-bridge-clusterd.service'), 'utf8');
      const cases = {
        'no-node.service': good.replaceAll(`ExecStart=${process.execPath}`, 'ExecStart=/nonexistent/bin/node'),
        'typo.service': good.replace('ProtectSystem=full', 'ProtectSytem=full'),
        'bad-value.service': good.replace('Restart=on-failure', 'Restart=sometimes'),
        'no-ctdb.service': good.replace('After=ctdb.service', 'After=ctdb.service\nRequires=ctdbx.service'),
      };
      for (const [name, text] of Object.entries(cases)) {
        expect(text).not.toBe(good);
        await writeFile(join(broken, name), text);
        const result = await verify([join(broken, name)]);
        expect({ name, ok: result.ok }).toEqual({ name, ok: false });
      }
    } finally {
      await rm(broken, { recursive: true, force: true });
    }
  });

  it('a second install leaves the operator\'s configuration alone and rewrites only changed units', async () => {
    const conf = join(root, 'etc/ctdb/ctdb-bridge.conf');
    await writeFile(conf, '[failoverd]\n\tmode = active\n');
    const r = await cli(['service', 'install', '--root', root, '--bin', bin, '--node', process.execPath]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`kept (exists) ${conf}`);
    for (const name of UNITS) expect(r.stdout).toContain(`unchanged ${unitPath(root, name)}`);
    expect(await readFile(conf, 'utf8')).toBe('[failoverd]\n\tmode = active\n');
  });

  it('--dry-run prints the files and writes nothing', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'ctdb-bridge-service-dry-'));
    try {
      const r = await cli(['service', 'install', '--root', empty, '--bin', bin, '--dry-run']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`would write ${unitPath(empty, 'ctdb-bridge-failoverd.service')}`);
      expect(r.stdout).toContain('    ExecStop=-');
      expect(existsSync(join(empty, 'etc'))).toBe(false);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('never replaces a unit it did not write', async () => {
    const other = await mkdtemp(join(tmpdir(), 'ctdb-bridge-service-foreign-'));
    try {
      await mkdir(join(other, 'etc/systemd/system'), { recursive: true });
      await writeFile(unitPath(other, 'ctdb-bridge-clusterd.service'), '[Service]\nExecStart=/bin/true\n');
      const r = await cli(['service', 'install', '--root', other, '--bin', bin]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('was not written by `ctdb-bridge service install`');
      expect(await readFile(unitPath(other, 'ctdb-bridge-clusterd.service'), 'utf8')).toBe('[Service]\nExecStart=/bin/true\n');
      await expect(runUninstall({ root: other }, quietDeps())).rejects.toThrow(ForeignFileError);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('on a live systemd: daemon-reload after a change; uninstall refuses while a unit runs, then removes units only', async () => {
    const live = await mkdtemp(join(tmpdir(), 'ctdb-bridge-service-live-'));
    try {
      const deps = quietDeps(['ctdb-bridge-failoverd.service']);
      await runInstall({ root: live, bin, node: process.execPath }, deps);
      expect(deps.calls).toEqual([['daemon-reload']]);
      deps.calls.length = 0;
      await runInstall({ root: live, bin, node: process.execPath }, deps);
      expect(deps.calls).toEqual([]); // nothing changed, nothing to reload
      await expect(runUninstall({ root: live }, deps)).rejects.toThrow(ServiceActiveError);
      for (const name of UNITS) expect(existsSync(unitPath(live, name))).toBe(true);
      deps.active.clear();
      deps.calls.length = 0;
      await runUninstall({ root: live }, deps);
      for (const name of UNITS) expect(existsSync(unitPath(live, name))).toBe(false);
      expect(deps.calls.at(-1)).toEqual(['daemon-reload']);
      expect(existsSync(join(live, 'etc/ctdb/ctdb-bridge.conf'))).toBe(true);
      expect(existsSync(join(live, 'etc/default/ctdb-bridge'))).toBe(true);
    } finally {
      await rm(live, { recursive: true, force: true });
    }
  });

  it('`service uninstall --root` through the CLI removes the units it installed', async () => {
    const r = await cli(['service', 'uninstall', '--root', root]);
    expect(r.code).toBe(0);
    for (const name of UNITS) {
      expect(r.stdout).toContain(`removed ${unitPath(root, name)}`);
      expect(existsSync(unitPath(root, name))).toBe(false);
    }
    expect(r.stdout).toContain(`kept (exists) ${join(root, 'etc/ctdb/ctdb-bridge.conf')}`);
  });
});

/** A systemd that records what it was asked; `active` units answer is-active with 0. */
function quietDeps(active: string[] = []): ServiceCommandDeps & { calls: string[][]; active: Set<string> } {
  const calls: string[][] = [];
  const running = new Set(active);
  return {
    calls, active: running,
    liveSystemd: () => true,
    out: () => undefined,
    systemctl: async (args) => {
      if (args[0] === 'is-active') return { code: running.has(args.at(-1)!) ? 0 : 3, stdout: '', stderr: '' };
      calls.push(args);
      return { code: 0, stdout: '', stderr: '' };
    },
  };
}
