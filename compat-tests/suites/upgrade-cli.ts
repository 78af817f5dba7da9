import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { CLI_ENTRY } from '../../legacy/common/package-info.ts';
import { isAlive, killAll, readPidFile } from '../../scripts/local-cluster/processes.ts';
import type { LocalClusterNode } from '../../scripts/local-cluster/types.ts';
import { pidFilePath } from '../../scripts/services/detached-spawner.ts';
import { BRIDGE_SERVICES } from '../../scripts/services/services.ts';
import type { UpgradeEvent } from '../../scripts/cli/upgrade/format.ts';

/** `ctdb-bridge upgrade ...` against a local cluster directory, as an operator runs it: a child process per command. */

export interface UpgradeRun extends CliRun {
  events: UpgradeEvent[];
}

export function upgradeArgs(dir: string, args: string[]): string[] {
  return [CLI_ENTRY, 'upgrade', ...args, '--local-cluster', dir, '--transportd-poll-interval', '250'];
}

export interface CliRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** Wall-clock time of the whole command (process start included). */
  wallMs: number;
}

/** `ctdb-bridge <args>` as a child process. */
export function runCli(args: string[], timeoutMs = 90_000): Promise<CliRun> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI_ENTRY, ...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: unknown }).code as number | null ?? null) : 0;
      resolve({ exitCode: typeof code === 'number' ? code : null, stdout, stderr, wallMs: Date.now() - started });
    });
  });
}

export async function runUpgrade(dir: string, args: string[], timeoutMs = 90_000): Promise<UpgradeRun> {
  const r = await runCli(upgradeArgs(dir, args).slice(1), timeoutMs);
  const events = args.includes('--json') && (args[0] === 'advance' || args[0] === 'rollback')
    ? r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as UpgradeEvent) : [];
  return { ...r, events };
}

/** Starts `upgrade ...` and SIGKILLs it once `when` says so (polled); resolves with the killed PID. */
export async function killUpgradeWhen(dir: string, args: string[], when: () => Promise<boolean>, timeoutMs = 60_000): Promise<number> {
  const child = spawn(process.execPath, upgradeArgs(dir, args), { stdio: 'ignore' });
  const pid = child.pid!;
  const deadline = Date.now() + timeoutMs;
  try {
    while (!(await when())) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`upgrade ${args.join(' ')} ended before the point to kill it`);
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    child.kill('SIGKILL');
    await new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));
  }
  return pid;
}

/** Every service PID the CLI recorded for the nodes (alive ones). */
export async function servicePids(nodes: readonly LocalClusterNode[]): Promise<number[]> {
  const pids: number[] = [];
  for (const node of nodes) {
    for (const service of BRIDGE_SERVICES) {
      const pid = await readPidFile(pidFilePath(node, service));
      if (pid !== null && isAlive(pid)) pids.push(pid);
    }
  }
  return pids;
}

/** Cleanup by PID: every service the CLI started and left running. */
export async function killServices(nodes: readonly LocalClusterNode[]): Promise<void> {
  await killAll(await servicePids(nodes));
}

export const pidFileOf = (node: LocalClusterNode, service: (typeof BRIDGE_SERVICES)[number]) => pidFilePath(node, service);
export const logOf = (node: LocalClusterNode, service: string) => join(node.base, `${service}.log`);
