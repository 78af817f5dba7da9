import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI_ENTRY } from '../../legacy/common/package-info.ts';
import { spawnTransportd, stopAllTransportds, type TransportdChild } from '../../scripts/cli/start/transportd-children.ts';
import { readPidFile } from '../../scripts/local-cluster/processes.ts';
import type { LocalClusterNode } from '../../scripts/local-cluster/index.ts';
import type { TransportStatus } from '../../transport/index.ts';

/**
 * The processes the hostile suite and bench attack: a node's daemon (by its
 * pid file) and one transportd child process per node (tunnel uplink),
 * asked through the real CLI. No test framework here: the bench uses it too.
 */

export async function daemonPid(node: LocalClusterNode): Promise<number> {
  const pid = await readPidFile(join(node.base, 'run', 'ctdbd.pid'));
  if (!pid) throw new Error(`node ${node.pnn} has no running daemon`);
  return pid;
}

const run = promisify(execFile);

export function transportCli(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [CLI_ENTRY, ...args], { timeout: 20_000, maxBuffer: 64 * 1024 * 1024 });
}

export async function cliStatus(child: TransportdChild): Promise<{ status: TransportStatus; bytes: number }> {
  const { stdout } = await transportCli('transport', 'status', '--json', '--socket', child.socketPath);
  return { status: JSON.parse(stdout) as TransportStatus, bytes: Buffer.byteLength(stdout) };
}

/** One transportd per node; resolves once each sees every other one. */
export async function startTransportds(nodes: readonly LocalClusterNode[]): Promise<TransportdChild[]> {
  const children: TransportdChild[] = [];
  try {
    for (const node of nodes) {
      children.push(await spawnTransportd({
        pnn: node.pnn, ctdbSocket: node.socketPath, socketPath: join(node.base, 'run', 'transportd.socket'),
        logFile: join(node.base, 'transportd.log'), pollIntervalMs: 250,
      }));
    }
    const deadline = Date.now() + 20_000;
    for (;;) {
      const views = await Promise.all(children.map((c) => cliStatus(c).then((s) => s.status, () => undefined)));
      if (views.every((v) => v && v.nodes.every((n) => n.state === 'self' || n.state === 'transport') && v.nodes.length === nodes.length)) break;
      if (Date.now() > deadline) throw new Error(`transportds did not all see each other: ${JSON.stringify(views.map((v) => v?.nodes))}`);
      await sleep(250);
    }
    return children;
  } catch (err) {
    await stopAllTransportds(children);
    throw err;
  }
}

export { stopAllTransportds, type TransportdChild };
