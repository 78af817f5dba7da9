// The service-manager seam for a local cluster (tests, `ctdb-bridge start`):
// transportd, clusterd and failoverd as child processes of this process, per
// node, tracked and stopped by PID. It behaves as the units do: a start
// brings up what the service needs first, stopping failoverd drains the node
// first (and stops anyway when the drain fails), stopping transportd leaves
// the components running (they re-attach).

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { CLI_ENTRY } from '../../legacy/common/package-info.ts';
import type { LocalClusterNode } from '../local-cluster/types.ts';
import { spawnTransportd, transportdSocketPath } from '../cli/start/transportd-children.ts';
import { spawnComponent } from '../cli/start/component-children.ts';
import { stopBridgeChild, type BridgeChild } from '../cli/start/bridge-children.ts';
import type { ServiceManager, ServiceStatus } from './service-manager.ts';
import { DRAIN_WAIT_MS, SERVICE_FACTS, drainArgs, startOrder, type BridgeService } from './services.ts';

/** A running service process as the manager sees it. */
export interface SupervisedChild {
  pid: number;
  /** undefined while it runs; how it ended otherwise. */
  exit(): string | undefined;
  /** SIGTERM, SIGKILL after a grace period; resolves once the PID is gone. */
  stop(): Promise<void>;
}

export interface ServiceSpawner {
  /** Resolves once the service is ready (or throws, leaving nothing behind). */
  spawn(node: LocalClusterNode, service: BridgeService, transportSocket: string): Promise<SupervisedChild>;
  /** The service an earlier process started and left running (detached-spawner.ts), if any. */
  adopt?(node: LocalClusterNode, service: BridgeService, transportSocket: string): Promise<SupervisedChild | undefined>;
}

/** Runs `ctdb-bridge failover drain` for the node; throws when it fails. */
export type DrainRunner = (pnn: number, transportSocket: string) => Promise<void>;

export class UnknownNodeError extends Error {
  override name = 'UnknownNodeError';
  constructor(readonly pnn: number, known: readonly number[]) {
    super(`node ${pnn} is not in this local cluster (nodes ${known.join(', ')})`);
  }
}

/** A service that did not stop (stopAll's caller kills what is left by PID and says which). */
export class ServiceStopError extends Error {
  override name = 'ServiceStopError';
  constructor(readonly service: BridgeService, readonly pnn: number, readonly pid: number, cause: Error) {
    super(`node ${pnn}: ${service} (pid ${pid}) did not stop: ${cause.message}`, { cause });
  }
}

export interface LocalClusterServiceManagerOptions {
  cluster: { readonly dir: string; readonly nodes: readonly LocalClusterNode[] };
  /** Default: real child processes (scripts/cli/start/*-children.ts), logs in each node's directory. */
  spawner?: ServiceSpawner;
  /** Default: the drain the failoverd unit runs; false: stop without draining. */
  drain?: DrainRunner | false;
  /** What went wrong but did not stop the step (a failed drain). */
  warn?: (line: string) => void;
}

export class ChildProcessSpawner implements ServiceSpawner {
  constructor(private readonly opts: { logLevel?: string; pollIntervalMs?: number; startTimeoutMs?: number } = {}) {}

  async spawn(node: LocalClusterNode, service: BridgeService, transportSocket: string): Promise<SupervisedChild> {
    const logFile = join(node.base, `${service}.log`);
    const common = { pnn: node.pnn, logFile, logLevel: this.opts.logLevel ?? 'info', startTimeoutMs: this.opts.startTimeoutMs };
    const child: BridgeChild = service === 'transportd'
      ? await spawnTransportd({ ...common, ctdbSocket: node.socketPath, socketPath: transportSocket, pollIntervalMs: this.opts.pollIntervalMs })
      : await spawnComponent({ ...common, component: service, base: node.base, ctdbSocket: node.socketPath, transportSocket });
    return {
      pid: child.pid,
      exit: () => {
        const { exitCode, signalCode } = child.process;
        return exitCode === null && signalCode === null ? undefined : `exited with ${signalCode ?? `code ${exitCode}`}`;
      },
      stop: () => stopBridgeChild(child),
    };
  }
}

/** The failoverd unit's ExecStop, run against a local node's transportd. */
export function cliDrain(waitMs = DRAIN_WAIT_MS): DrainRunner {
  return (_pnn, transportSocket) => new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI_ENTRY, ...drainArgs(waitMs), '--socket', transportSocket], { timeout: waitMs + 30_000 },
      (err, _stdout, stderr) => (err ? reject(new Error(`${err.message.split('\n')[0]}${stderr.trim() ? `: ${stderr.trim()}` : ''}`)) : resolve()));
  });
}

export class LocalClusterServiceManager implements ServiceManager {
  private readonly spawner: ServiceSpawner;
  private readonly children = new Map<string, SupervisedChild>();
  /** One step at a time per node and service. */
  private readonly busy = new Map<string, Promise<unknown>>();

  constructor(private readonly opts: LocalClusterServiceManagerOptions) {
    this.spawner = opts.spawner ?? new ChildProcessSpawner();
  }

  transportSocket(pnn: number): string {
    return transportdSocketPath(this.opts.cluster.dir, pnn);
  }

  async start(pnn: number, service: BridgeService): Promise<void> {
    const node = this.node(pnn);
    return this.serially(pnn, service, async () => {
      for (const s of startOrder(service)) {
        if (s !== service) await this.start(pnn, s);
      }
      await this.adopt(pnn, service);
      if (this.running(pnn, service)) return;
      this.children.set(key(pnn, service), await this.spawner.spawn(node, service, this.transportSocket(pnn)));
    });
  }

  async stop(pnn: number, service: BridgeService): Promise<void> {
    this.node(pnn);
    return this.serially(pnn, service, async () => {
      const child = await this.adopt(pnn, service);
      if (!child) return;
      if (SERVICE_FACTS[service].drainsOnStop && this.opts.drain !== false && child.exit() === undefined) {
        const drain = this.opts.drain ?? cliDrain();
        await drain(pnn, this.transportSocket(pnn)).catch((err: Error) =>
          this.opts.warn?.(`node ${pnn}: drain before stopping ${service} failed, stopping anyway: ${err.message}`));
      }
      await child.stop().catch((err: Error) => {
        throw new ServiceStopError(service, pnn, child.pid, err);
      });
      this.children.delete(key(pnn, service));
    });
  }

  async status(pnn: number, service: BridgeService): Promise<ServiceStatus> {
    this.node(pnn);
    const child = await this.adopt(pnn, service);
    if (!child) return { pnn, service, state: 'stopped', pid: null };
    const exit = child.exit();
    return exit === undefined
      ? { pnn, service, state: 'running', pid: child.pid }
      : { pnn, service, state: 'failed', pid: null, detail: exit };
  }

  /** Every process started and not yet stopped (for cleanup by PID). */
  pids(): number[] {
    return [...this.children.values()].filter((c) => c.exit() === undefined).map((c) => c.pid);
  }

  /** Stops every service on every node, components before transportd (failoverd drains first, unless drain: false). */
  async stopAll(): Promise<void> {
    const order = [...startOrder('failoverd')].reverse();
    for (const service of order) {
      await Promise.all(this.opts.cluster.nodes.map((n) => this.stop(n.pnn, service)));
    }
  }

  /** The tracked child, or one the spawner adopts from an earlier process. */
  private async adopt(pnn: number, service: BridgeService): Promise<SupervisedChild | undefined> {
    const k = key(pnn, service);
    const tracked = this.children.get(k);
    if ((tracked && tracked.exit() === undefined) || !this.spawner.adopt) return tracked;
    const adopted = await this.spawner.adopt(this.node(pnn), service, this.transportSocket(pnn));
    if (adopted) this.children.set(k, adopted);
    return adopted ?? tracked;
  }

  private running(pnn: number, service: BridgeService): boolean {
    const child = this.children.get(key(pnn, service));
    return child !== undefined && child.exit() === undefined;
  }

  private node(pnn: number): LocalClusterNode {
    const node = this.opts.cluster.nodes.find((n) => n.pnn === pnn);
    if (!node) throw new UnknownNodeError(pnn, this.opts.cluster.nodes.map((n) => n.pnn));
    return node;
  }

  private serially<T>(pnn: number, service: BridgeService, step: () => Promise<T>): Promise<T> {
    const k = key(pnn, service);
    const next = (this.busy.get(k) ?? Promise.resolve()).catch(() => undefined).then(step);
    this.busy.set(k, next);
    return next;
  }
}

function key(pnn: number, service: BridgeService): string {
  return `${pnn}/${service}`;
}
