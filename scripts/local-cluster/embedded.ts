import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Control } from '../../legacy/protocol/controls.ts';
import { nodeMapDef, vnnMapDef } from '../../legacy/protocol/types/node.ts';
import { RawClient } from '../../legacy/daemon/testing/raw-client.ts';
import type { LocalCluster, LocalClusterNode, LocalClusterNodeStatus, LocalClusterStatus } from './types.ts';
import { resolveOptions, type RealClusterOptions, type ResolvedClusterOptions } from './options.ts';
import { addressesFrom, assertAddressesFree, reserveFreeAddresses } from './addresses.ts';
import { clusterLockPath, nodePaths, writeClusterLayout, type NodePaths } from './layout.ts';
import { readClusterFile, writeClusterFile, type ClusterFile } from './cluster-file.ts';
import {
  AddressInUseError, ClusterAlreadyRunningError, ClusterTimeoutError, LocalClusterError, NodeStartError, UnknownNodeError,
} from './errors.ts';
import { belongsToBase, isAlive, killAll, processesWithBase, readPidFile, signal, waitForExit } from './processes.ts';
import { logTail } from './real-node.ts';

/**
 * The embedded kind of the local cluster: every node is our TypeScript
 * daemon (`ctdb-bridge node --config DIR/node.N`), a separate child process
 * started and stopped by PID, in the same directory layout as the real
 * kind, so Debian's `ctdb` works against it with CTDB_TEST_MODE=yes
 * CTDB_BASE=DIR/node.N. Readiness is probed over the node's own socket (no
 * ctdb CLI needed: this kind is the default when Samba is not installed).
 */

export type EmbeddedClusterOptions = RealClusterOptions;

const CLI_ENTRY = fileURLToPath(new URL('../bin/ctdb-bridge.mjs', import.meta.url));

export function createEmbeddedLocalCluster(options: EmbeddedClusterOptions): LocalCluster {
  return new EmbeddedLocalCluster(options);
}

/** Names as `ctdb nodestatus` prints them (types.md §3 flags). */
const FLAG_NAMES: Array<[number, string]> = [
  [0x01, 'DISCONNECTED'], [0x04, 'DISABLED'], [0x08, 'BANNED'], [0x02, 'UNHEALTHY'], [0x10, 'DELETED'],
  [0x20, 'STOPPED'], [0x39, 'INACTIVE'],
];

export function flagNames(flags: number): string[] {
  return FLAG_NAMES.filter(([bit]) => (flags & bit) !== 0).map(([, name]) => name);
}

interface NodeView {
  flags: number[];
  recoveryMode: number;
  generation: number;
}

/** One node's view of the cluster, asked over its unix socket. */
export async function probeNode(socketPath: string, timeoutMs = 2000): Promise<NodeView | null> {
  let c: RawClient | undefined;
  try {
    c = await RawClient.open(socketPath);
    const [nm, rm, vm] = await Promise.all([
      c.control(Control.GET_NODEMAP, { timeoutMs }),
      c.control(Control.GET_RECMODE, { timeoutMs }),
      c.control(Control.GETVNNMAP, { timeoutMs }),
    ]);
    if (nm.status !== 0 || vm.status !== 0) return null;
    return {
      flags: nodeMapDef.decode(nm.data).nodes.map((n) => n.flags),
      recoveryMode: rm.status,
      generation: vnnMapDef.decode(vm.data).generation,
    };
  } catch {
    return null;
  } finally {
    await c?.close();
  }
}

export class EmbeddedLocalCluster implements LocalCluster {
  readonly kind = 'embedded' as const;
  readonly dir: string;
  private readonly opts: ResolvedClusterOptions;
  private paths: NodePaths[] = [];
  private pidByPnn: Array<number | null> = [];
  private createdAt = new Date().toISOString();
  private fileWrites: Promise<void> = Promise.resolve();

  constructor(options: EmbeddedClusterOptions) {
    this.opts = resolveOptions(options);
    this.dir = this.opts.dir;
  }

  static async open(dir: string, options: Omit<EmbeddedClusterOptions, 'dir'> = {}): Promise<EmbeddedLocalCluster> {
    const file = await readClusterFile(dir);
    const cluster = new EmbeddedLocalCluster({ ownerPid: file.ownerPid, ...options, dir, nodes: file.nodes.length });
    cluster.paths = file.nodes.map((n) => nodePaths(dir, n.pnn, n.address));
    cluster.pidByPnn = file.nodes.map((n) => n.pid);
    cluster.createdAt = file.createdAt;
    return cluster;
  }

  get nodes(): LocalClusterNode[] {
    return this.paths.map(({ pnn, address, base, socketPath }) => ({ pnn, address, base, socketPath }));
  }

  async up(): Promise<void> {
    const previous = await readClusterFile(this.dir).catch(() => null);
    if (previous) {
      const live = previous.nodes.flatMap((n) => processesWithBase(n.base));
      if (live.length > 0) throw new ClusterAlreadyRunningError(this.dir, live);
    }
    const { nodeCount, port } = this.opts;
    let addresses: string[];
    let release = async () => undefined as void;
    if (this.opts.baseAddress) {
      addresses = addressesFrom(this.opts.baseAddress, nodeCount);
      await assertAddressesFree(addresses, port);
    } else {
      ({ addresses, release } = await reserveFreeAddresses({ count: nodeCount, port, range: this.opts.subnetRange }));
    }
    try {
      this.paths = await writeClusterLayout(this.dir, addresses, this.opts.logLevel);
      this.pidByPnn = this.paths.map(() => null);
      this.createdAt = new Date().toISOString();
      await this.saveFile();
      for (const p of this.paths) await this.spawn(p.pnn);
    } catch (err) {
      await this.down().catch(() => undefined);
      throw err;
    } finally {
      await release();
    }
    try {
      await this.waitUntilOk(this.opts.timeouts.upMs);
    } catch (err) {
      await this.down().catch(() => undefined);
      throw err;
    }
  }

  /** Spawns `ctdb-bridge node` for one node and waits for its pid file and socket. */
  private async spawn(pnn: number): Promise<number> {
    const p = this.nodePaths(pnn);
    const already = await this.livePid(pnn);
    if (already !== null) return already;
    await rm(p.socketPath, { force: true });
    const errFile = join(p.base, 'daemon.stderr');
    const fd = openSync(errFile, 'a');
    const child = spawn(process.execPath, [CLI_ENTRY, 'node', '--config', p.base, '--port', String(this.opts.port)], {
      env: { ...process.env, CTDB_BASE: p.base, CTDB_TEST_MODE: 'yes' },
      stdio: ['ignore', fd, fd],
      detached: true, // nodes outlive a CLI "up" and ignore its Ctrl-C
    });
    closeSync(fd);
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new NodeStartError(pnn, 'spawn failed', await logTail(errFile));
    await this.setPid(pnn, pid);
    const deadline = Date.now() + this.opts.timeouts.nodeSpawnMs;
    while (Date.now() < deadline) {
      if (!isAlive(pid)) {
        const tail = `${await logTail(errFile)}\n${await logTail(p.logFile)}`;
        await this.setPid(pnn, null);
        if (/EADDRINUSE|address already in use/i.test(tail)) throw new AddressInUseError(p.address, tail);
        throw new NodeStartError(pnn, 'embedded daemon exited during startup', tail);
      }
      if ((await readPidFile(p.pidFile)) === pid && existsSync(p.socketPath)) return pid;
      await sleep(this.opts.timeouts.pollMs / 3);
    }
    signal(pid, 'SIGKILL');
    throw new NodeStartError(pnn, `no pid file and socket after ${this.opts.timeouts.nodeSpawnMs} ms`, await logTail(p.logFile));
  }

  /** Resolves once every node sees every node OK with recovery done. */
  async waitUntilOk(timeoutMs = this.opts.timeouts.upMs): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const views = await Promise.all(this.paths.map((p) => probeNode(p.socketPath)));
      const bad = views.findIndex((v) => !v || v.recoveryMode !== 0 || v.generation === 1 || v.flags.some((f) => f !== 0));
      if (bad === -1) return;
      last = `node ${bad}: ${JSON.stringify(views[bad])}`;
      for (const [pnn, pid] of this.pidByPnn.entries()) {
        if (pid === null || !isAlive(pid)) {
          throw new NodeStartError(pnn, 'embedded daemon is not running', await logTail(this.paths[pnn].logFile));
        }
      }
      if (Date.now() >= deadline) throw new ClusterTimeoutError('all nodes OK', timeoutMs, last);
      await sleep(this.opts.timeouts.pollMs);
    }
  }

  async down(): Promise<void> {
    await Promise.all(this.paths.map((p) => this.stopNode(p.pnn)));
    const leftovers = this.pids();
    if (leftovers.length > 0 && !(await killAll(leftovers))) {
      throw new LocalClusterError('KILL_FAILED', `processes ${leftovers.filter(isAlive).join(', ')} survived SIGKILL`);
    }
  }

  async status(): Promise<LocalClusterStatus> {
    const pids = await Promise.all(this.paths.map((p) => this.livePid(p.pnn)));
    let flags: number[] | null = null;
    for (const [pnn, pid] of pids.entries()) {
      if (pid === null) continue;
      const view = await probeNode(this.paths[pnn].socketPath);
      if (view) { flags = view.flags; break; }
    }
    const nodes: LocalClusterNodeStatus[] = this.paths.map((p) => {
      const pid = pids[p.pnn];
      const f = flags?.[p.pnn];
      const names = f === undefined ? null : flagNames(f);
      return {
        pnn: p.pnn, address: p.address, base: p.base, socketPath: p.socketPath, pid, running: pid !== null,
        socketPresent: existsSync(p.socketPath), flags: names, ok: pid !== null && names !== null && names.length === 0,
      };
    });
    return { kind: 'embedded', dir: this.dir, nodes, allOk: nodes.length > 0 && nodes.every((n) => n.ok) };
  }

  /** Orderly stop: SIGTERM, then SIGKILL after the stop timeout. */
  async stopNode(pnn: number): Promise<void> {
    const pid = await this.livePid(pnn);
    if (pid !== null) {
      signal(pid, 'SIGTERM');
      if (!(await waitForExit([pid], this.opts.timeouts.stopMs))) await killAll([pid]);
    }
    await this.setPid(pnn, null);
  }

  async startNode(pnn: number): Promise<void> {
    await this.spawn(pnn);
    const deadline = Date.now() + this.opts.timeouts.nodeOkMs;
    for (;;) {
      const running = (await Promise.all(this.paths.map(async (p) => ((await this.livePid(p.pnn)) !== null ? p : null))))
        .filter((p): p is NodePaths => p !== null);
      const views = await Promise.all(running.map((p) => probeNode(p.socketPath)));
      if (views.every((v) => v && v.flags[pnn] === 0 && v.recoveryMode === 0)) return;
      if (Date.now() >= deadline) {
        throw new ClusterTimeoutError(`node ${pnn} OK`, this.opts.timeouts.nodeOkMs, await logTail(this.nodePaths(pnn).logFile));
      }
      await sleep(this.opts.timeouts.pollMs);
    }
  }

  async killNode(pnn: number): Promise<void> {
    const pid = await this.livePid(pnn);
    if (pid !== null) await killAll([pid]);
    await this.setPid(pnn, null);
  }

  async restartNode(pnn: number): Promise<void> {
    await this.killNode(pnn);
    await this.startNode(pnn);
  }

  pids(): number[] {
    return this.paths.flatMap((p) => processesWithBase(p.base));
  }

  private nodePaths(pnn: number): NodePaths {
    const p = this.paths[pnn];
    if (!p) throw new UnknownNodeError(pnn, this.paths.length);
    return p;
  }

  private async livePid(pnn: number): Promise<number | null> {
    const p = this.nodePaths(pnn);
    const fromFile = await readPidFile(p.pidFile);
    if (fromFile !== null && belongsToBase(fromFile, p.base)) return fromFile;
    const known = this.pidByPnn[pnn];
    return known !== null && known !== undefined && belongsToBase(known, p.base) ? known : null;
  }

  private async setPid(pnn: number, pid: number | null): Promise<void> {
    this.pidByPnn[pnn] = pid;
    await this.saveFile();
  }

  private saveFile(): Promise<void> {
    const file: ClusterFile = {
      version: 1, kind: 'embedded', dir: this.dir, clusterLock: clusterLockPath(this.dir),
      ctdbdPath: CLI_ENTRY, ctdbPath: this.opts.ctdbPath, ownerPid: this.opts.ownerPid,
      createdAt: this.createdAt, updatedAt: '',
      nodes: this.paths.map((p) => ({
        pnn: p.pnn, address: p.address, base: p.base, socketPath: p.socketPath, logFile: p.logFile,
        pid: this.pidByPnn[p.pnn] ?? null,
      })),
    };
    this.fileWrites = this.fileWrites.then(() => writeClusterFile(file));
    return this.fileWrites;
  }
}
