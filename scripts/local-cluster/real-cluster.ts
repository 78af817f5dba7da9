import { setTimeout as sleep } from 'node:timers/promises';
import { existsSync } from 'node:fs';
import type { LocalCluster, LocalClusterNode, LocalClusterNodeStatus, LocalClusterStatus } from './types.ts';
import { resolveOptions, type RealClusterOptions, type ResolvedClusterOptions } from './options.ts';
import { addressesFrom, assertAddressesFree, reserveFreeAddresses, type AddressReservation } from './addresses.ts';
import { clusterLockPath, nodePaths, writeClusterLayout, type NodePaths } from './layout.ts';
import { readClusterFile, writeClusterFile, type ClusterFile } from './cluster-file.ts';
import { AddressInUseError, ClusterAlreadyRunningError, ClusterTimeoutError, LocalClusterError, UnknownNodeError } from './errors.ts';
import { isAlive, killAll, processesWithBase, signal } from './processes.ts';
import { parseNodeStatusX, runCtdbCli, type CtdbRunResult } from './ctdb-command.ts';
import {
  assertExecutable, killNodeProcesses, logTail, runningPid, spawnNode, startFailure, stopNodeProcesses,
  type NodeContext,
} from './real-node.ts';

/**
 * A cluster of real Samba ctdbd daemons in test mode on 127.0.S.x, one
 * directory per node under `dir`. State lives in DIR/cluster.json so a
 * later process (CLI "down", "status") can pick the cluster up again.
 */
export class RealLocalCluster implements LocalCluster {
  readonly kind = 'real' as const;
  readonly dir: string;
  private readonly opts: ResolvedClusterOptions;
  private paths: NodePaths[] = [];
  private pidByPnn: Array<number | null> = [];
  private createdAt = new Date().toISOString();
  private fileWrites: Promise<void> = Promise.resolve();

  constructor(options: RealClusterOptions) {
    this.opts = resolveOptions(options);
    this.dir = this.opts.dir;
  }

  /** Re-attaches to a cluster described by DIR/cluster.json. */
  static async open(dir: string, options: Omit<RealClusterOptions, 'dir'> = {}): Promise<RealLocalCluster> {
    const file = await readClusterFile(dir);
    const cluster = new RealLocalCluster({
      ctdbdPath: file.ctdbdPath, ctdbPath: file.ctdbPath, ownerPid: file.ownerPid, ...options, dir, nodes: file.nodes.length,
    });
    cluster.paths = file.nodes.map((n) => nodePaths(dir, n.pnn, n.address));
    cluster.pidByPnn = file.nodes.map((n) => n.pid);
    cluster.createdAt = file.createdAt;
    return cluster;
  }

  /** Empty until up() has chosen the addresses (or the cluster was opened). */
  get nodes(): LocalClusterNode[] {
    return this.paths.map(({ pnn, address, base, socketPath }) => ({ pnn, address, base, socketPath }));
  }

  get ctdbPath(): string {
    return this.opts.ctdbPath;
  }

  async up(): Promise<void> {
    await assertExecutable('ctdbd', this.opts.ctdbdPath);
    await assertExecutable('ctdb', this.opts.ctdbPath);
    await this.refuseIfRunning();
    // Harness users claim subnets atomically (see reserveFreeAddresses), but a
    // foreign ctdbd may still bind a chosen address first: pick another subnet.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.upOnce();
      } catch (err) {
        if (!(err instanceof AddressInUseError) || this.opts.baseAddress || attempt >= 3) throw err;
        this.opts.logger.warn({ err: err.message }, 'subnet taken meanwhile: picking another one');
      }
    }
  }

  private async upOnce(): Promise<void> {
    const reservation = await this.chooseAddresses();
    try {
      await this.startAll(reservation.addresses);
    } finally {
      await reservation.release();
    }
  }

  private async startAll(addresses: string[]): Promise<void> {
    this.paths = await writeClusterLayout(this.dir, addresses, this.opts.logLevel);
    this.pidByPnn = this.paths.map(() => null);
    this.createdAt = new Date().toISOString();
    await this.saveFile();
    const started = Date.now();
    try {
      for (const paths of this.paths) {
        this.pidByPnn[paths.pnn] = await spawnNode(this.nodeContext(paths.pnn));
        await this.saveFile();
      }
      await this.waitUntilOk(this.opts.timeouts.upMs);
    } catch (err) {
      this.opts.logger.error({ err: (err as Error).message }, 'cluster start failed: stopping the nodes');
      await this.down().catch(() => undefined);
      throw err;
    }
    this.opts.logger.info({ dir: this.dir, ms: Date.now() - started, addresses }, 'cluster OK');
  }

  async down(): Promise<void> {
    await Promise.all(this.paths.map((p) => this.stopNode(p.pnn)));
    // Last-resort sweep by CTDB_BASE: lingering event daemons, stray helpers.
    const leftovers = this.pids();
    if (leftovers.length > 0) {
      this.opts.logger.warn({ pids: leftovers }, 'processes left after stop: SIGKILL');
      if (!(await killAll(leftovers))) {
        throw new LocalClusterError('KILL_FAILED', `processes ${leftovers.filter(isAlive).join(', ')} survived SIGKILL`);
      }
    }
  }

  async stopNode(pnn: number): Promise<void> {
    const pid = await this.livePid(pnn);
    if (pid !== null) await stopNodeProcesses(this.nodeContext(pnn), pid);
    await this.setPid(pnn, null);
  }

  async killNode(pnn: number): Promise<void> {
    const pid = await this.livePid(pnn);
    if (pid !== null) await killNodeProcesses(this.nodeContext(pnn), pid);
    await this.setPid(pnn, null);
  }

  /** Starts the node and waits until it and every other running node see it OK. */
  async startNode(pnn: number): Promise<void> {
    const paths = this.nodePaths(pnn);
    await this.setPid(pnn, await spawnNode(this.nodeContext(pnn)));
    const deadline = Date.now() + this.opts.timeouts.nodeOkMs;
    let last: CtdbRunResult | undefined;
    while (Date.now() < deadline) {
      const pid = this.pidByPnn[pnn];
      if (pid === null || !isAlive(pid)) throw await startFailure(this.nodeContext(pnn), 0, 'ctdbd exited while joining');
      const observers = await this.runningPnns();
      const views = await Promise.all(observers.map((o) => this.ctdb(o, ['nodestatus', String(pnn)])));
      last = views.find((v) => v.exitCode !== 0);
      if (!last) return;
      await sleep(this.opts.timeouts.pollMs);
    }
    throw new ClusterTimeoutError(`node ${pnn} OK`, this.opts.timeouts.nodeOkMs,
      `${last?.stdout ?? ''}${last?.stderr ?? ''}\n--- tail of ${paths.logFile} ---\n${await logTail(paths.logFile)}`);
  }

  async restartNode(pnn: number): Promise<void> {
    await this.killNode(pnn);
    await this.startNode(pnn);
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

  async status(): Promise<LocalClusterStatus> {
    const pids = await Promise.all(this.paths.map((p) => runningPid(p)));
    let flagsByPnn: Map<number, string[]> | null = null;
    for (const [pnn, pid] of pids.entries()) {
      if (pid === null) continue;
      const result = await this.ctdb(pnn, ['-X', 'nodestatus', 'all']);
      const rows = parseNodeStatusX(result.stdout);
      if (rows.length > 0) {
        flagsByPnn = new Map(rows.map((r) => [r.pnn, r.flags]));
        break;
      }
    }
    const nodes: LocalClusterNodeStatus[] = this.paths.map((p) => {
      const pid = pids[p.pnn];
      const flags = flagsByPnn?.get(p.pnn) ?? null;
      return {
        pnn: p.pnn, address: p.address, base: p.base, socketPath: p.socketPath,
        pid, running: pid !== null, socketPresent: existsSync(p.socketPath),
        flags, ok: pid !== null && flags !== null && flags.length === 0,
      };
    });
    return { kind: 'real', dir: this.dir, nodes, allOk: nodes.length > 0 && nodes.every((n) => n.ok) };
  }

  /** Every live process that carries one of our node bases (daemons, helpers, CLIs). */
  pids(): number[] {
    return this.paths.flatMap((p) => processesWithBase(p.base));
  }

  /** Synchronous SIGKILL of everything we own: for process-exit handlers. */
  killAllNow(): void {
    for (const pid of this.pids()) signal(pid, 'SIGKILL');
  }

  /** Runs the real ctdb CLI against node `pnn` (optionally through another socket). */
  ctdb(pnn: number, args: string[], opts: { socketPath?: string; timeoutMs?: number } = {}): Promise<CtdbRunResult> {
    return runCtdbCli({
      ctdbPath: this.opts.ctdbPath, base: this.nodePaths(pnn).base, socketPath: opts.socketPath,
      args, timeoutMs: opts.timeoutMs ?? this.opts.timeouts.commandMs,
    });
  }

  private async refuseIfRunning(): Promise<void> {
    const previous = await readClusterFile(this.dir).catch(() => null);
    if (!previous) return;
    const live = previous.nodes.flatMap((n) => processesWithBase(n.base));
    if (live.length > 0) throw new ClusterAlreadyRunningError(this.dir, live);
  }

  private async chooseAddresses(): Promise<AddressReservation> {
    const { nodeCount, port } = this.opts;
    if (this.opts.baseAddress) {
      const addresses = addressesFrom(this.opts.baseAddress, nodeCount);
      await assertAddressesFree(addresses, port);
      return { addresses, release: async () => undefined };
    }
    return reserveFreeAddresses({ count: nodeCount, port, range: this.opts.subnetRange });
  }

  private nodePaths(pnn: number): NodePaths {
    const paths = this.paths[pnn];
    if (!paths) throw new UnknownNodeError(pnn, this.paths.length);
    return paths;
  }

  private nodeContext(pnn: number): NodeContext {
    const { ctdbdPath, ctdbPath, timeouts, startRetries } = this.opts;
    return { paths: this.nodePaths(pnn), ctdbdPath, ctdbPath, timeouts, startRetries, logger: this.opts.logger };
  }

  private async livePid(pnn: number): Promise<number | null> {
    return runningPid(this.nodePaths(pnn));
  }

  private async runningPnns(): Promise<number[]> {
    const pids = await Promise.all(this.paths.map((p) => runningPid(p)));
    return this.paths.filter((p) => pids[p.pnn] !== null).map((p) => p.pnn);
  }

  private async setPid(pnn: number, pid: number | null): Promise<void> {
    this.pidByPnn[pnn] = pid;
    await this.saveFile();
  }

  private saveFile(): Promise<void> {
    const file: ClusterFile = {
      version: 1, kind: 'real', dir: this.dir, clusterLock: clusterLockPath(this.dir),
      ctdbdPath: this.opts.ctdbdPath, ctdbPath: this.opts.ctdbPath, ownerPid: this.opts.ownerPid,
      createdAt: this.createdAt, updatedAt: '',
      nodes: this.paths.map((p) => ({
        pnn: p.pnn, address: p.address, base: p.base, socketPath: p.socketPath, logFile: p.logFile,
        pid: this.pidByPnn[p.pnn] ?? null,
      })),
    };
    // Serialised so two quick updates never race on the rename.
    this.fileWrites = this.fileWrites.then(() => writeClusterFile(file));
    return this.fileWrites;
  }
}
