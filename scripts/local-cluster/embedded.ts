import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { daemonArgv, daemonEnv, DEFAULT_DAEMON_RUNTIME, type DaemonRuntime } from './daemon-runtime.ts';
import { LegacyClient } from '../../legacy/client/client.ts';
import { silentLogger } from '../../legacy/common/log.ts';
import type { LocalCluster } from './types.ts';
import type { RealClusterOptions } from './options.ts';
import { readClusterFile } from './cluster-file.ts';
import { AddressInUseError, ClusterTimeoutError, NodeStartError } from './errors.ts';
import { belongsToBase, isAlive, killAll, readPidFile, signal, waitForExit } from './processes.ts';
import { logTail, type NodeLaunch } from './real-node.ts';
import { LocalClusterBase } from './cluster-base.ts';

/**
 * The embedded kind of the local cluster: every node is our TypeScript
 * daemon (`ctdb-bridge node --config DIR/node.N`), a separate child process
 * started and stopped by PID, in the same directory layout as the real
 * kind, so Debian's `ctdb` works against it with CTDB_TEST_MODE=yes
 * CTDB_BASE=DIR/node.N. Readiness is probed over the node's own socket (no
 * ctdb CLI needed: this kind is the default when Samba is not installed).
 * Nodes start in parallel, with `--quick-start` (first election as soon as
 * every node is connected) unless told otherwise, and readiness is polled
 * every 100 ms: a local cluster is up in about a second.
 */

export interface EmbeddedClusterOptions extends RealClusterOptions {
  /** `ctdb-bridge node --quick-start` (default true); false keeps ctdbd's election waits. */
  quickStart?: boolean;
  /** Which build runs the nodes, with which Node flags and environment (default: ours, daemon-runtime.ts). */
  runtime?: DaemonRuntime;
}

/** Probing a node is a socket round trip: poll more often than ctdb status allows for real ctdbd. */
const EMBEDDED_POLL_MS = 100;

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
  let c: LegacyClient | undefined;
  try {
    c = await LegacyClient.connect({
      socketPath, reconnect: false, trackLeader: false, defaultTimeoutMs: timeoutMs, connectTimeoutMs: timeoutMs,
      logger: silentLogger('local-cluster-probe'),
    });
    const [nm, recoveryMode, vm] = await Promise.all([c.getNodeMap(), c.getRecmode(), c.getVnnMap()]);
    return { flags: nm.nodes.map((n) => n.flags), recoveryMode, generation: vm.generation };
  } catch {
    return null;
  } finally {
    await c?.close();
  }
}

export class EmbeddedLocalCluster extends LocalClusterBase {
  readonly kind = 'embedded' as const;
  protected override readonly parallelStart = true;
  private readonly quickStart: boolean;
  private readonly runtime: DaemonRuntime;

  constructor(options: EmbeddedClusterOptions) {
    super({ ...options, timeouts: { pollMs: EMBEDDED_POLL_MS, ...options.timeouts } });
    this.quickStart = options.quickStart ?? true;
    this.runtime = options.runtime ?? DEFAULT_DAEMON_RUNTIME;
  }

  static async open(dir: string, options: Omit<EmbeddedClusterOptions, 'dir'> = {}): Promise<EmbeddedLocalCluster> {
    const file = await readClusterFile(dir);
    return new EmbeddedLocalCluster({ ownerPid: file.ownerPid, ...options, dir, nodes: file.nodes.length }).attach(file);
  }

  protected daemonPath(): string {
    return this.runtime.entry;
  }

  /** Spawns `ctdb-bridge node` for one node and waits for its pid file and socket. */
  protected async startProcess(pnn: number): Promise<number> {
    const p = this.nodePaths(pnn);
    const already = await this.livePid(pnn);
    if (already !== null) return already;
    await rm(p.socketPath, { force: true });
    const errFile = join(p.base, 'daemon.stderr');
    const fd = openSync(errFile, 'a');
    const args = ['node', '--config', p.base, '--port', String(this.opts.port), ...(this.quickStart ? ['--quick-start'] : [])];
    const launch = this.nodeLaunch(pnn, {
      file: process.execPath, args: daemonArgv(args, this.runtime),
      env: daemonEnv('node', { ...process.env, CTDB_BASE: p.base, CTDB_TEST_MODE: 'yes' }, this.runtime),
    });
    const child = spawn(launch.file, launch.args, {
      env: launch.env,
      stdio: ['ignore', fd, fd],
      detached: true, // nodes outlive a CLI "up" and ignore its Ctrl-C
    });
    closeSync(fd);
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new NodeStartError(pnn, 'spawn failed', await logTail(errFile));
    await this.setPid(pnn, pid); // recorded before readiness, so a failed start is still cleaned up by PID
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

  /** How node `pnn`'s daemon is run; the result must exec into it (same PID). netns/ wraps it in the node's namespace. */
  protected nodeLaunch(_pnn: number, launch: NodeLaunch): NodeLaunch {
    return launch;
  }

  /** Orderly stop: SIGTERM, then SIGKILL after the stop timeout. */
  protected async stopProcess(_pnn: number, pid: number): Promise<void> {
    signal(pid, 'SIGTERM');
    if (!(await waitForExit([pid], this.opts.timeouts.stopMs))) await killAll([pid]);
  }

  protected async killProcess(_pnn: number, pid: number): Promise<void> {
    await killAll([pid]);
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

  protected async waitUntilNodeOk(pnn: number): Promise<void> {
    const deadline = Date.now() + this.opts.timeouts.nodeOkMs;
    for (;;) {
      const views = await Promise.all((await this.runningNodes()).map((p) => probeNode(p.socketPath)));
      if (views.every((v) => v && v.flags[pnn] === 0 && v.recoveryMode === 0)) return;
      if (Date.now() >= deadline) {
        throw new ClusterTimeoutError(`node ${pnn} OK`, this.opts.timeouts.nodeOkMs, await logTail(this.nodePaths(pnn).logFile));
      }
      await sleep(this.opts.timeouts.pollMs);
    }
  }

  protected async readFlags(pnn: number): Promise<Map<number, string[]> | null> {
    const view = await probeNode(this.nodePaths(pnn).socketPath);
    return view ? new Map(view.flags.map((f, i) => [i, flagNames(f)])) : null;
  }

  /** The pid file's PID, else the PID we spawned while it has not written one yet. */
  protected override async livePid(pnn: number): Promise<number | null> {
    const fromFile = await super.livePid(pnn);
    if (fromFile !== null) return fromFile;
    const known = this.pidByPnn[pnn];
    return known !== null && known !== undefined && belongsToBase(known, this.nodePaths(pnn).base) ? known : null;
  }
}
