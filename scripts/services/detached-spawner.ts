// A ServiceSpawner whose services outlive the process that started them
// (the `upgrade` CLI exits between steps; a killed CLI must not take the
// cluster's services with it): detached children writing their stderr to the
// node's log, a pid file per service in the node's run directory, and
// adoption of what an earlier run started (pid file + /proc cmdline, so a
// recycled PID is never mistaken for ours). transportd's uplink is chosen per
// node (stage 4 restarts it with the ws uplink).

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFileAtomic } from '../common/atomic-file.ts';
import { daemonArgv, daemonEnv } from '../local-cluster/daemon-runtime.ts';
import { isAlive, readPidFile, signal, waitForExit } from '../local-cluster/processes.ts';
import type { LocalClusterNode } from '../local-cluster/types.ts';
import { DEFAULT_WS_PORT } from '../../transport/uplinks/ws-config.ts';
import type { ServiceSpawner, SupervisedChild } from './local-cluster-service-manager.ts';
import type { BridgeService } from './services.ts';

export type DetachedUplink = 'tunnel' | 'ws';

export interface DetachedSpawnerOptions {
  /** The local cluster's directory: the ws uplink's cluster secret lives there. */
  clusterDir: string;
  logLevel?: string;
  /** tunnel: how often transportd reads ctdbd's node map. */
  pollIntervalMs?: number;
  startTimeoutMs?: number;
  /** ws: the port on every node's address (default 4380). */
  wsPort?: number;
  /** SIGTERM grace before SIGKILL. */
  stopGraceMs?: number;
  /**
   * A netns local cluster: the node's network namespace. The ws uplink
   * listens on the node's address, which only exists there; everything else
   * talks over unix sockets and runs on the host.
   */
  namespaceOf?(pnn: number): string | undefined;
}

export class DetachedStartError extends Error {
  override name = 'DetachedStartError';
  constructor(service: string, pnn: number, detail: string) {
    super(`${service} for node ${pnn} did not start: ${detail}`);
  }
}

export function pidFilePath(node: LocalClusterNode, service: BridgeService): string {
  return join(node.base, 'run', `ctdb-bridge-${service}.pid`);
}

/** The command line of a live process, or null. */
function cmdline(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return null;
  }
}

const READY: Record<BridgeService, (pnn: number) => RegExp> = {
  transportd: (pnn) => new RegExp(`transportd node ${pnn} listening on `),
  clusterd: (pnn) => new RegExp(`clusterd node ${pnn} attached to transportd`),
  failoverd: (pnn) => new RegExp(`failoverd node ${pnn} attached to transportd`),
};

export class DetachedSpawner implements ServiceSpawner {
  private readonly uplinks = new Map<number, DetachedUplink>();
  private secretFile: Promise<string> | undefined;

  constructor(private readonly opts: DetachedSpawnerOptions) {}

  /** The uplink the node's next transportd start uses (default: tunnel). */
  setUplink(pnn: number, uplink: DetachedUplink): void {
    this.uplinks.set(pnn, uplink);
  }

  secretPath(): string {
    return join(this.opts.clusterDir, 'ws-cluster.secret');
  }

  async spawn(node: LocalClusterNode, service: BridgeService, transportSocket: string): Promise<SupervisedChild> {
    await mkdir(join(node.base, 'run'), { recursive: true, mode: 0o700 });
    const args = service === 'transportd'
      ? await this.transportdArgs(node, transportSocket)
      : ['--base', node.base, '--ctdb-socket', node.socketPath, '--socket', transportSocket];
    const logFile = join(node.base, `${service}.log`);
    const fd = openSync(logFile, 'a');
    const from = statSync(logFile).size;
    const ns = service === 'transportd' && this.uplinks.get(node.pnn) === 'ws' ? this.opts.namespaceOf?.(node.pnn) : undefined;
    // `ip netns exec` execs: the PID is node's own either way.
    const [file, argv] = ns
      ? ['ip', ['netns', 'exec', ns, process.execPath, ...daemonArgv([service, ...args])]]
      : [process.execPath, daemonArgv([service, ...args])];
    const proc = spawn(file, argv, {
      detached: true,
      stdio: ['ignore', 'ignore', fd],
      // CTDB_BASE: the local cluster's last-resort sweep (processesWithBase) finds these too.
      env: daemonEnv(service, { ...process.env, CTDB_BASE: node.base, CTDB_BRIDGE_LOG_LEVEL: this.opts.logLevel ?? process.env.CTDB_BRIDGE_LOG_LEVEL ?? 'warn' }),
    });
    closeSync(fd);
    if (proc.pid === undefined) throw new DetachedStartError(service, node.pnn, 'spawn failed');
    proc.unref();
    const pid = proc.pid;
    // Recorded before it is ready: a run killed while waiting leaves it adoptable, never unowned.
    // Atomic: a run killed mid-write must not leave an empty pid file (the service would be unowned).
    await writeFileAtomic(pidFilePath(node, service), `${pid}\n`);
    const child = this.child(node, service, pid);
    const deadline = Date.now() + (this.opts.startTimeoutMs ?? 15_000);
    for (;;) {
      const text = await readTail(logFile, from);
      if (READY[service](node.pnn).test(text)) break;
      if (!isAlive(pid) || Date.now() > deadline) {
        await child.stop();
        const last = text.trim().split('\n').slice(-3).join(' | ');
        throw new DetachedStartError(service, node.pnn, `${isAlive(pid) ? 'not ready in time' : 'exited'}${last ? `: ${last}` : ''}`);
      }
      await sleep(25);
    }
    return child;
  }

  /** The service an earlier run started for this node, when it still runs. */
  async adopt(node: LocalClusterNode, service: BridgeService, transportSocket: string): Promise<SupervisedChild | undefined> {
    const pid = await readPidFile(pidFilePath(node, service));
    if (pid === null) return undefined;
    const argv = isAlive(pid) ? cmdline(pid) : null;
    if (!argv || !argv.includes(service) || !argv.includes(transportSocket)) {
      await rm(pidFilePath(node, service), { force: true });
      return undefined;
    }
    if (service === 'transportd' && !this.uplinks.has(node.pnn)) {
      const i = argv.indexOf('--uplink');
      this.uplinks.set(node.pnn, argv[i + 1] === 'ws' ? 'ws' : 'tunnel');
    }
    return this.child(node, service, pid);
  }

  private child(node: LocalClusterNode, service: BridgeService, pid: number): SupervisedChild {
    const grace = this.opts.stopGraceMs ?? 3000;
    return {
      pid,
      exit: () => (isAlive(pid) ? undefined : 'exited'),
      stop: async () => {
        if (isAlive(pid)) {
          signal(pid, 'SIGTERM');
          if (!(await waitForExit([pid], grace))) {
            signal(pid, 'SIGKILL');
            await waitForExit([pid], 2000);
          }
        }
        const recorded = await readPidFile(pidFilePath(node, service));
        if (recorded === pid) await rm(pidFilePath(node, service), { force: true });
      },
    };
  }

  private async transportdArgs(node: LocalClusterNode, socket: string): Promise<string[]> {
    const uplink = this.uplinks.get(node.pnn) ?? 'tunnel';
    if (uplink === 'tunnel') {
      return ['--uplink', 'tunnel', '--ctdb-socket', node.socketPath, '--socket', socket, '--node', String(node.pnn),
        ...(this.opts.pollIntervalMs ? ['--poll-interval', String(this.opts.pollIntervalMs)] : [])];
    }
    return ['--uplink', 'ws', '--node', String(node.pnn), '--socket', socket, '--nodes-file', join(node.base, 'nodes'),
      '--ws-port', String(this.opts.wsPort ?? DEFAULT_WS_PORT), '--secret-file', await this.secret()];
  }

  /** The cluster's ws secret, created once (0600, exclusive create: runs started later reuse it). */
  private secret(): Promise<string> {
    this.secretFile ??= this.createSecret();
    return this.secretFile;
  }

  private async createSecret(): Promise<string> {
    const path = this.secretPath();
    try {
      const f = await open(path, 'wx', 0o600);
      await f.writeFile(randomBytes(32).toString('hex'));
      await f.close();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    return path;
  }
}

async function readTail(path: string, from: number): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.slice(from);
}
