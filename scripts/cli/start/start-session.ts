import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createLocalCluster, EmbeddedDaemonUnavailableError, type LocalCluster, type LocalClusterKind,
} from '../../local-cluster/index.ts';
import { killAll } from '../../local-cluster/processes.ts';
import { BUILTIN_SERVICE, TransportClient, type TransportStatus } from '../../../transport/index.ts';
import {
  spawnTransportd, stopAllTransportds, transportdSocketPath, type TransportdChild,
} from './transportd-children.ts';
import { spawnComponent } from './component-children.ts';
import { stopBridgeChild, type BridgeChild } from './bridge-children.ts';
import { createRegistry } from '../../../transport/schemas.ts';
import { CLUSTERD_SERVICE } from '../../../components/framework/services.ts';
import { CLUSTERD_MESSAGES } from '../../../components/clusterd/messages.ts';
import type { ClusterStatus } from '../../../components/clusterd/status.ts';

/**
 * What `ctdb-bridge start` runs: a local cluster (embedded daemons, or real
 * ctdbd), one transportd child process per node on the tunnel uplink, and the
 * wait until every transportd sees every other one. cleanup() stops it all by
 * PID, whatever stage was reached.
 */

export interface StartOptions {
  kind: LocalClusterKind;
  nodes: number;
  dir: string;
  /** How long transportds may take to see each other. */
  discoveryTimeoutMs?: number;
  /** Progress lines for the operator. */
  say?: (line: string) => void;
}

export class StartInterruptedError extends Error {
  override name = 'StartInterruptedError';
  constructor() {
    super('interrupted');
  }
}

export class StartSession {
  cluster: LocalCluster | undefined;
  readonly children: TransportdChild[] = [];
  /** clusterd per node. */
  readonly components: BridgeChild[] = [];
  private interrupted = false;
  private readonly say: (line: string) => void;

  constructor(readonly opts: StartOptions) {
    this.say = opts.say ?? (() => undefined);
  }

  /** Makes the bring-up stop at its next step (Ctrl-C during start). */
  interrupt(): void {
    this.interrupted = true;
  }

  async bringUp(): Promise<void> {
    const started = Date.now();
    this.cluster = await this.startCluster();
    this.checkpoint();
    // All at once (each is a Node process start); the ones that started are kept for cleanup.
    const spawned = await Promise.allSettled(this.cluster.nodes.map((node) => spawnTransportd({
      pnn: node.pnn, ctdbSocket: node.socketPath, socketPath: transportdSocketPath(this.opts.dir, node.pnn),
      logFile: join(this.opts.dir, `node.${node.pnn}`, 'transportd.log'),
    })));
    for (const r of spawned) if (r.status === 'fulfilled') this.children.push(r.value);
    const failed = spawned.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    this.checkpoint();
    this.say(`transportd running on every node (pids ${this.children.map((c) => c.pid).join(', ')}); waiting for discovery`);
    await this.waitUntilAllSeeEachOther();
    const clusterds = await Promise.allSettled(this.cluster.nodes.map((node) => spawnComponent({
      component: 'clusterd', pnn: node.pnn, base: node.base, ctdbSocket: node.socketPath,
      transportSocket: transportdSocketPath(this.opts.dir, node.pnn), logFile: join(node.base, 'clusterd.log'), logLevel: 'info',
    })));
    for (const r of clusterds) if (r.status === 'fulfilled') this.components.push(r.value);
    const clusterdFailed = clusterds.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (clusterdFailed) throw clusterdFailed.reason;
    this.checkpoint();
    this.say(`clusterd running on every node (pids ${this.components.map((c) => c.pid).join(', ')}); waiting for a leader`);
    await this.waitForOneLeader();
    this.say(`cluster ready after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }

  /** transport.status of every node's transportd, in node order. */
  async statuses(timeoutMs = 3000): Promise<TransportStatus[]> {
    return Promise.all(this.children.map((c) => queryStatus(c.socketPath, timeoutMs)));
  }

  /** clusterd.status of every node's clusterd, in node order. */
  async clusterStatuses(timeoutMs = 3000): Promise<ClusterStatus[]> {
    return Promise.all(this.children.map((c) => queryClusterStatus(c.socketPath, timeoutMs)));
  }

  /** Stops every component, every transportd, then the cluster; by PID, also after a partial start. */
  async cleanup(): Promise<void> {
    await Promise.all(this.components.map((c) => stopBridgeChild(c)));
    await stopAllTransportds(this.children);
    if (!this.cluster) return;
    try {
      await this.cluster.down();
    } catch (err) {
      this.say(`orderly cluster shutdown failed (${(err as Error).message}); killing its processes`);
    }
    const left = this.cluster.pids();
    if (!(await killAll(left))) throw new Error(`processes survived cleanup: ${left.join(', ')}`);
  }

  /** Last resort (second Ctrl-C): SIGKILL everything we started, now. */
  async killNow(): Promise<void> {
    await killAll([...this.components.map((c) => c.pid), ...this.children.map((c) => c.pid), ...(this.cluster?.pids() ?? [])], 2000);
  }

  private async startCluster(): Promise<LocalCluster> {
    const { kind, nodes, dir } = this.opts;
    this.say(`starting a ${nodes}-node ${kind === 'real' ? 'real ctdbd' : 'embedded'} cluster in ${dir}`);
    let cluster = createLocalCluster({ kind, nodes, dir });
    this.cluster = cluster;
    try {
      await cluster.up();
    } catch (err) {
      if (!(err instanceof EmbeddedDaemonUnavailableError)) throw err;
      this.say(`the embedded daemon is not available (${err.message}); falling back to real ctdbd`);
      cluster = createLocalCluster({ kind: 'real', nodes, dir });
      this.cluster = cluster;
      await cluster.up();
    }
    return cluster;
  }

  private async waitUntilAllSeeEachOther(): Promise<void> {
    const deadline = Date.now() + (this.opts.discoveryTimeoutMs ?? 30_000);
    const want = this.children.length;
    for (;;) {
      this.checkpoint();
      const seen = await this.statuses().catch(() => []);
      const ready = seen.length === want &&
        seen.every((s) => s.nodes.filter((n) => n.state === 'self' || n.state === 'transport').length === want);
      if (ready) return;
      if (Date.now() > deadline) {
        const views = seen.map((s) => `node ${s.node}: ${s.nodes.map((n) => `${n.node}=${n.state}`).join(' ')}`).join('; ');
        throw new Error(`transportds did not all see each other within ${this.opts.discoveryTimeoutMs ?? 30_000} ms (${views})`);
      }
      await sleep(200);
    }
  }

  /** Every clusterd follows the same leader in the same epoch. */
  private async waitForOneLeader(): Promise<void> {
    const deadline = Date.now() + (this.opts.discoveryTimeoutMs ?? 30_000);
    for (;;) {
      this.checkpoint();
      const seen = await this.clusterStatuses().catch(() => []);
      const terms = new Set(seen.map((s) => `${s.leader}/${s.epoch}`));
      if (seen.length === this.components.length && terms.size === 1 && seen[0].leader !== null) return;
      if (Date.now() > deadline) throw new Error(`clusterds did not agree on a leader (${[...terms].join(', ')})`);
      await sleep(50);
    }
  }

  private checkpoint(): void {
    if (this.interrupted) throw new StartInterruptedError();
  }
}

async function queryStatus(socketPath: string, timeoutMs: number): Promise<TransportStatus> {
  const client = new TransportClient({ socketPath, name: 'ctdb-bridge-start', defaultTimeoutMs: timeoutMs });
  await client.connect();
  try {
    return await client.request<TransportStatus>({ node: client.node, service: BUILTIN_SERVICE }, 'transport.status', {});
  } finally {
    await client.close();
  }
}

async function queryClusterStatus(socketPath: string, timeoutMs: number): Promise<ClusterStatus> {
  const client = new TransportClient({
    socketPath, name: 'ctdb-bridge-start', defaultTimeoutMs: timeoutMs, registry: createRegistry(CLUSTERD_MESSAGES),
  });
  await client.connect();
  try {
    return await client.request<ClusterStatus>({ node: client.node, service: CLUSTERD_SERVICE }, 'clusterd.status', {});
  } finally {
    await client.close();
  }
}
