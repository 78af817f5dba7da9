import { existsSync } from 'node:fs';
import type { LocalCluster, LocalClusterKind, LocalClusterNode, LocalClusterNodeStatus, LocalClusterStatus } from './types.ts';
import { resolveOptions, type RealClusterOptions, type ResolvedClusterOptions } from './options.ts';
import { addressesFrom, assertAddressesFree, reserveFreeAddresses, type AddressReservation } from './addresses.ts';
import { clusterLockPath, nodePaths, writeClusterLayout, type NodePaths } from './layout.ts';
import { writeClusterFile, readClusterFile, type ClusterFile } from './cluster-file.ts';
import { AddressInUseError, ClusterAlreadyRunningError, LocalClusterError, UnknownNodeError } from './errors.ts';
import { parsePublicIpsX, runCtdbCli, type CtdbRunResult } from './ctdb-command.ts';
import { isAlive, killAll, processesWithBase, signal } from './processes.ts';
import { runningPid } from './real-node.ts';

/**
 * The bookkeeping every kind of local cluster shares: one directory per node
 * under `dir`, state in DIR/cluster.json (so a later process can run "down"
 * or "status"), address choice, the up/down/status flow and per-node
 * start/stop/kill by PID. A kind supplies only what differs: how one node
 * process is started, stopped and crashed, and how readiness and node flags
 * are asked.
 */
export abstract class LocalClusterBase implements LocalCluster {
  abstract readonly kind: LocalClusterKind;
  readonly dir: string;
  protected readonly opts: ResolvedClusterOptions;
  protected paths: NodePaths[] = [];
  protected pidByPnn: Array<number | null> = [];
  private createdAt = new Date().toISOString();
  private fileWrites: Promise<void> = Promise.resolve();
  /** up() attempts when a foreign process binds a chosen address first (1 = no retry). */
  protected readonly upAttempts: number = 1;
  /** up() spawns every node at once instead of one after the other. */
  protected readonly parallelStart: boolean = false;

  constructor(options: RealClusterOptions) {
    this.opts = resolveOptions(options);
    this.dir = this.opts.dir;
  }

  /** Program recorded as `ctdbdPath` in cluster.json. */
  protected abstract daemonPath(): string;
  /** Starts node `pnn` and resolves with its PID once it accepts clients. */
  protected abstract startProcess(pnn: number): Promise<number>;
  /** Orderly stop of node `pnn`, running as `pid`. */
  protected abstract stopProcess(pnn: number, pid: number): Promise<void>;
  /** Crash of node `pnn`, running as `pid`. */
  protected abstract killProcess(pnn: number, pid: number): Promise<void>;
  /** Resolves once every running node sees node `pnn` OK. */
  protected abstract waitUntilNodeOk(pnn: number): Promise<void>;
  /** Flag names by PNN as node `pnn` reports them; null when it cannot answer. */
  protected abstract readFlags(pnn: number): Promise<Map<number, string[]> | null>;
  /** Resolves once every node reports all nodes OK. */
  abstract waitUntilOk(timeoutMs?: number): Promise<void>;

  /** Checks made before anything is written or started. */
  protected async preflight(): Promise<void> {}

  /** Writes DIR/node.N for the chosen node addresses. */
  protected writeLayout(addresses: string[]): Promise<NodePaths[]> {
    return writeClusterLayout(this.dir, addresses, this.opts.logLevel, this.opts.publicAddresses);
  }

  /** Runs after cluster.json is first written, before any node starts (a failure stops the cluster with down()). */
  protected async beforeStart(): Promise<void> {}

  /** Kind-specific fields added to cluster.json. */
  protected fileExtras(): Partial<ClusterFile> {
    return {};
  }

  /** Takes over the nodes and PIDs of DIR/cluster.json (for the kinds' open()). */
  protected attach(file: ClusterFile): this {
    this.paths = file.nodes.map((n) => nodePaths(this.dir, n.pnn, n.address));
    this.pidByPnn = file.nodes.map((n) => n.pid);
    this.createdAt = file.createdAt;
    return this;
  }

  /** Empty until up() has chosen the addresses (or the cluster was opened). */
  get nodes(): LocalClusterNode[] {
    return this.paths.map(({ pnn, address, base, socketPath }) => ({ pnn, address, base, socketPath }));
  }

  async up(): Promise<void> {
    await this.preflight();
    await this.refuseIfRunning();
    // Harness users claim subnets atomically (see reserveFreeAddresses), but a
    // foreign daemon may still bind a chosen address first: pick another subnet.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.upOnce();
      } catch (err) {
        if (!(err instanceof AddressInUseError) || this.opts.baseAddress || attempt >= this.upAttempts) throw err;
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
    this.paths = await this.writeLayout(addresses);
    this.pidByPnn = this.paths.map(() => null);
    this.createdAt = new Date().toISOString();
    await this.saveFile();
    const started = Date.now();
    try {
      await this.beforeStart();
      if (this.parallelStart) await this.startEveryNodeAtOnce();
      else for (const p of this.paths) await this.setPid(p.pnn, await this.startProcess(p.pnn));
      await this.waitUntilOk(this.opts.timeouts.upMs);
    } catch (err) {
      this.opts.logger.error({ err: (err as Error).message }, 'cluster start failed: stopping the nodes');
      await this.down().catch(() => undefined);
      throw err;
    }
    this.opts.logger.info({ dir: this.dir, ms: Date.now() - started, addresses }, 'cluster OK');
  }

  /** Every start settles before a failure is thrown, so the cleanup that follows sees every PID. */
  private async startEveryNodeAtOnce(): Promise<void> {
    const results = await Promise.allSettled(this.paths.map(async (p) => this.setPid(p.pnn, await this.startProcess(p.pnn))));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  async down(): Promise<void> {
    await Promise.all(this.paths.map((p) => this.stopNode(p.pnn)));
    // Last-resort sweep by CTDB_BASE: lingering helpers, stray CLIs.
    const leftovers = this.nodeBasePids();
    if (leftovers.length > 0) {
      this.opts.logger.warn({ pids: leftovers }, 'processes left after stop: SIGKILL');
      if (!(await killAll(leftovers))) {
        throw new LocalClusterError('KILL_FAILED', `processes ${leftovers.filter(isAlive).join(', ')} survived SIGKILL`);
      }
    }
  }

  async stopNode(pnn: number): Promise<void> {
    const pid = await this.livePid(pnn);
    if (pid !== null) await this.stopProcess(pnn, pid);
    await this.setPid(pnn, null);
  }

  async killNode(pnn: number): Promise<void> {
    const pid = await this.livePid(pnn);
    if (pid !== null) await this.killProcess(pnn, pid);
    await this.setPid(pnn, null);
  }

  /** Starts the node and waits until it and every other running node see it OK. */
  async startNode(pnn: number): Promise<void> {
    await this.setPid(pnn, await this.startProcess(pnn));
    await this.waitUntilNodeOk(pnn);
  }

  async restartNode(pnn: number): Promise<void> {
    await this.killNode(pnn);
    await this.startNode(pnn);
  }

  async status(): Promise<LocalClusterStatus> {
    const pids = await Promise.all(this.paths.map((p) => this.livePid(p.pnn)));
    let flagsByPnn: Map<number, string[]> | null = null;
    for (const [pnn, pid] of pids.entries()) {
      if (pid === null) continue;
      flagsByPnn = await this.readFlags(pnn);
      if (flagsByPnn) break;
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
    return { kind: this.kind, dir: this.dir, nodes, allOk: nodes.length > 0 && nodes.every((n) => n.ok) };
  }

  /** Every live process that belongs to the cluster (kinds may add their own, e.g. netns helpers). */
  pids(): number[] {
    return this.nodeBasePids();
  }

  /** Every live process that carries one of our node bases (daemons, their helpers, CLIs). */
  protected nodeBasePids(): number[] {
    return this.paths.flatMap((p) => processesWithBase(p.base));
  }

  /** Synchronous SIGKILL of everything we own: for process-exit handlers. */
  killAllNow(): void {
    for (const pid of this.pids()) signal(pid, 'SIGKILL');
  }

  protected nodePaths(pnn: number): NodePaths {
    const paths = this.paths[pnn];
    if (!paths) throw new UnknownNodeError(pnn, this.paths.length);
    return paths;
  }

  /** The node's daemon PID per its pid file (stale files ignored), or null. */
  protected livePid(pnn: number): Promise<number | null> {
    return runningPid(this.nodePaths(pnn));
  }

  /** Runs the real ctdb CLI against node `pnn` (optionally through another socket). */
  ctdb(pnn: number, args: string[], opts: { socketPath?: string; timeoutMs?: number } = {}): Promise<CtdbRunResult> {
    return runCtdbCli({
      ctdbPath: this.opts.ctdbPath, base: this.nodePaths(pnn).base, socketPath: opts.socketPath,
      args, timeoutMs: opts.timeoutMs ?? this.opts.timeouts.commandMs,
    });
  }

  /** `ctdb -X ip all` as node `pnn` (default: the first running node) sees it: public address -> hosting PNN (-1: none). */
  async ctdbIpAll(pnn?: number): Promise<Map<string, number>> {
    const asker = pnn ?? (await this.runningNodes())[0]?.pnn;
    if (asker === undefined) throw new LocalClusterError('NO_NODE_RUNNING', 'no node is running to ask for the public addresses');
    const r = await this.ctdb(asker, ['-X', 'ip', 'all']);
    if (r.exitCode !== 0) throw new LocalClusterError('CTDB_FAILED', `ctdb -X ip all on node ${asker}: ${r.stderr.trim()}`);
    return parsePublicIpsX(r.stdout);
  }

  /** PNN of the leader (recovery master) as node `pnn` sees it. */
  async leader(pnn?: number): Promise<number> {
    const asker = pnn ?? (await this.runningNodes())[0]?.pnn;
    if (asker === undefined) throw new LocalClusterError('NO_NODE_RUNNING', 'no node is running to ask for the leader');
    const r = await this.ctdb(asker, ['leader']);
    const leader = Number(r.stdout.trim());
    if (r.exitCode !== 0 || !Number.isInteger(leader)) {
      throw new LocalClusterError('CTDB_FAILED', `ctdb leader on node ${asker}: ${(r.stdout + r.stderr).trim()}`);
    }
    return leader;
  }

  protected async runningNodes(): Promise<NodePaths[]> {
    const pids = await Promise.all(this.paths.map((p) => this.livePid(p.pnn)));
    return this.paths.filter((p) => pids[p.pnn] !== null);
  }

  protected async setPid(pnn: number, pid: number | null): Promise<void> {
    this.pidByPnn[pnn] = pid;
    await this.saveFile();
  }

  private async refuseIfRunning(): Promise<void> {
    const previous = await readClusterFile(this.dir).catch(() => null);
    if (!previous) return;
    const live = previous.nodes.flatMap((n) => processesWithBase(n.base));
    if (live.length > 0) throw new ClusterAlreadyRunningError(this.dir, live);
  }

  protected async chooseAddresses(): Promise<AddressReservation> {
    const { nodeCount, port } = this.opts;
    if (this.opts.baseAddress) {
      const addresses = addressesFrom(this.opts.baseAddress, nodeCount);
      await assertAddressesFree(addresses, port);
      return { addresses, release: async () => undefined };
    }
    return reserveFreeAddresses({ count: nodeCount, port, range: this.opts.subnetRange });
  }

  protected saveFile(): Promise<void> {
    const file: ClusterFile = {
      ...this.fileExtras(),
      version: 1, kind: this.kind, dir: this.dir, clusterLock: clusterLockPath(this.dir),
      ctdbdPath: this.daemonPath(), ctdbPath: this.opts.ctdbPath, ownerPid: this.opts.ownerPid,
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
