import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CLI_ENTRY } from '../../../legacy/common/package-info.ts';
import { applyPlan, changesUnits, describePlan, planInstall, planUninstall, type PlannedFile } from '../../services/install.ts';
import { systemctl, systemctlRunner, systemdIsRunning, type SystemctlRunner } from '../../services/systemctl.ts';

/**
 * `ctdb-bridge service install|uninstall`: our systemd units (transportd,
 * clusterd, failoverd) and, when absent, the configuration files they read.
 * systemctl daemon-reload runs only for the host's own root with systemd
 * running; a staging --root never touches the host.
 */

export interface ServiceCommandDeps {
  systemctl: SystemctlRunner;
  /** Whether files under `root` are the ones the running systemd reads. */
  liveSystemd(root: string): boolean;
  out(line: string): void;
}

const defaultDeps = (): ServiceCommandDeps => ({
  systemctl: systemctlRunner(),
  liveSystemd: (root) => resolve(root) === '/' && systemdIsRunning(),
  out: (line) => process.stdout.write(`${line}\n`),
});

export class ServiceActiveError extends Error {
  override name = 'ServiceActiveError';
  constructor(readonly units: string[]) {
    super(`${units.join(', ')} ${units.length === 1 ? 'is' : 'are'} running; stop ${units.length === 1 ? 'it' : 'them'} first ` +
      `(systemctl stop ${units.join(' ')}: failoverd drains its node on the way)`);
  }
}

export interface InstallCommandOptions {
  root: string;
  bin: string;
  node: string;
  dryRun?: boolean;
}

function printPlan(plan: readonly PlannedFile[], dryRun: boolean, out: (line: string) => void): void {
  const lines = describePlan(plan, dryRun);
  plan.forEach((f, i) => {
    out(lines[i]);
    if (dryRun && f.action === 'write') out(f.text!.trimEnd().split('\n').map((l) => `    ${l}`).join('\n'));
  });
}

async function reload(plan: readonly PlannedFile[], opts: { root: string; dryRun?: boolean }, deps: ServiceCommandDeps): Promise<void> {
  if (!changesUnits(plan)) return;
  if (!deps.liveSystemd(opts.root)) {
    deps.out(`no systemctl daemon-reload: ${resolve(opts.root) === '/' ? 'systemd is not running here' : `${opts.root} is not this host's root`}`);
    return;
  }
  if (opts.dryRun) deps.out('would run systemctl daemon-reload');
  else {
    await systemctl(deps.systemctl, ['daemon-reload']);
    deps.out('ran systemctl daemon-reload');
  }
}

export async function runInstall(opts: InstallCommandOptions, deps: ServiceCommandDeps = defaultDeps()): Promise<PlannedFile[]> {
  const plan = await planInstall(opts.root, { node: resolve(opts.node), bin: resolve(opts.bin) });
  if (!opts.dryRun) await applyPlan(plan);
  printPlan(plan, opts.dryRun === true, deps.out);
  await reload(plan, opts, deps);
  return plan;
}

export async function runUninstall(opts: { root: string; dryRun?: boolean }, deps: ServiceCommandDeps = defaultDeps()): Promise<PlannedFile[]> {
  const plan = await planUninstall(opts.root);
  if (deps.liveSystemd(opts.root)) {
    const units = plan.filter((f) => f.action === 'remove').map((f) => f.path.slice(f.path.lastIndexOf('/') + 1));
    const active: string[] = [];
    for (const unit of units) if ((await deps.systemctl(['is-active', '--quiet', unit])).code === 0) active.push(unit);
    if (active.length > 0) throw new ServiceActiveError(active);
  }
  if (!opts.dryRun) await applyPlan(plan);
  printPlan(plan, opts.dryRun === true, deps.out);
  await reload(plan, opts, deps);
  return plan;
}

export function registerService(program: Command): void {
  const group = program.command('service').description('systemd units of transportd, clusterd and failoverd on this host');
  group
    .command('install')
    .description('write the units (and ctdb-bridge.conf, /etc/default/ctdb-bridge when absent) under --root; daemon-reload on a live host')
    .option('--root <dir>', 'install under this directory (a staging root: no systemctl)', '/')
    .option('--bin <path>', 'the ctdb-bridge entry the units run', CLI_ENTRY)
    .option('--node <path>', 'the node binary the units run', process.execPath)
    .option('--dry-run', 'print what would be written, write nothing')
    .action((opts: InstallCommandOptions) => runInstall(opts).then(() => undefined));
  group
    .command('uninstall')
    .description('remove the units under --root (configuration files stay); refuses while a unit runs')
    .option('--root <dir>', 'uninstall under this directory', '/')
    .option('--dry-run', 'print what would be removed, remove nothing')
    .action((opts: { root: string; dryRun?: boolean }) => runUninstall(opts).then(() => undefined));
}
