import { setTimeout as sleep } from 'node:timers/promises';
import type { RealClusterOptions } from './options.ts';
import { readClusterFile } from './cluster-file.ts';
import { ClusterTimeoutError } from './errors.ts';
import { isAlive } from './processes.ts';
import { parseNodeStatusX, type CtdbRunResult } from './ctdb-command.ts';
import {
  assertExecutable, killNodeProcesses, logTail, spawnNode, startFailure, stopNodeProcesses, type NodeContext,
} from './real-node.ts';
import { LocalClusterBase } from './cluster-base.ts';

/**
 * A cluster of real Samba ctdbd daemons in test mode on 127.0.S.x, one
 * directory per node under `dir`. State lives in DIR/cluster.json so a
 * later process (CLI "down", "status") can pick the cluster up again.
 * Readiness and flags are asked through the real ctdb CLI.
 */
export class RealLocalCluster extends LocalClusterBase {
  readonly kind = 'real' as const;
  protected override readonly upAttempts = 3;

  /** Re-attaches to a cluster described by DIR/cluster.json. */
  static async open(dir: string, options: Omit<RealClusterOptions, 'dir'> = {}): Promise<RealLocalCluster> {
    const file = await readClusterFile(dir);
    return new RealLocalCluster({
      ctdbdPath: file.ctdbdPath, ctdbPath: file.ctdbPath, ownerPid: file.ownerPid, ...options, dir, nodes: file.nodes.length,
    }).attach(file);
  }

  get ctdbPath(): string {
    return this.opts.ctdbPath;
  }

  protected override async preflight(): Promise<void> {
    await assertExecutable('ctdbd', this.opts.ctdbdPath);
    await assertExecutable('ctdb', this.opts.ctdbPath);
  }

  protected daemonPath(): string {
    return this.opts.ctdbdPath;
  }

  protected startProcess(pnn: number): Promise<number> {
    return spawnNode(this.nodeContext(pnn));
  }

  protected stopProcess(pnn: number, pid: number): Promise<void> {
    return stopNodeProcesses(this.nodeContext(pnn), pid);
  }

  protected killProcess(pnn: number, pid: number): Promise<void> {
    return killNodeProcesses(this.nodeContext(pnn), pid);
  }

  protected async waitUntilNodeOk(pnn: number): Promise<void> {
    const paths = this.nodePaths(pnn);
    const deadline = Date.now() + this.opts.timeouts.nodeOkMs;
    let last: CtdbRunResult | undefined;
    while (Date.now() < deadline) {
      const pid = this.pidByPnn[pnn];
      if (pid === null || !isAlive(pid)) throw await startFailure(this.nodeContext(pnn), 0, 'ctdbd exited while joining');
      const observers = await this.runningNodes();
      const views = await Promise.all(observers.map((o) => this.ctdb(o.pnn, ['nodestatus', String(pnn)])));
      last = views.find((v) => v.exitCode !== 0);
      if (!last) return;
      await sleep(this.opts.timeouts.pollMs);
    }
    throw new ClusterTimeoutError(`node ${pnn} OK`, this.opts.timeouts.nodeOkMs,
      `${last?.stdout ?? ''}${last?.stderr ?? ''}\n--- tail of ${paths.logFile} ---\n${await logTail(paths.logFile)}`);
  }

  /** Resolves once every node answers `ctdb nodestatus all` with exit 0 (all nodes OK). */
  async waitUntilOk(timeoutMs = this.opts.timeouts.upMs): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const pending = new Set(this.paths.map((p) => p.pnn));
    const lastOutput = new Map<number, string>();
    while (pending.size > 0) {
      for (const pnn of [...pending]) {
        const pid = this.pidByPnn[pnn];
        if (pid === null || !isAlive(pid)) throw await startFailure(this.nodeContext(pnn), 0, 'ctdbd is not running');
        const result = await this.ctdb(pnn, ['nodestatus', 'all']);
        if (result.exitCode === 0) pending.delete(pnn);
        else lastOutput.set(pnn, `${result.stdout}${result.stderr}`.trim());
      }
      if (pending.size === 0) return;
      if (Date.now() >= deadline) {
        const details = await Promise.all([...pending].map(async (pnn) =>
          `node ${pnn}: ${lastOutput.get(pnn) ?? ''}\n--- tail of log.ctdb ---\n${await logTail(this.nodePaths(pnn).logFile)}`));
        throw new ClusterTimeoutError('all nodes OK', timeoutMs, details.join('\n'));
      }
      await sleep(this.opts.timeouts.pollMs);
    }
  }

  protected async readFlags(pnn: number): Promise<Map<number, string[]> | null> {
    const rows = parseNodeStatusX((await this.ctdb(pnn, ['-X', 'nodestatus', 'all'])).stdout);
    return rows.length > 0 ? new Map(rows.map((r) => [r.pnn, r.flags])) : null;
  }

  protected nodeContext(pnn: number): NodeContext {
    const { ctdbdPath, ctdbPath, timeouts, startRetries, logger } = this.opts;
    return { paths: this.nodePaths(pnn), ctdbdPath, ctdbPath, timeouts, startRetries, logger };
  }
}
