import { setTimeout as sleep } from 'node:timers/promises';
import {
  createLocalCluster, EmbeddedDaemonUnavailableError, type LocalCluster, type LocalClusterKind,
} from '../../local-cluster/index.ts';
import { killAll } from '../../local-cluster/processes.ts';
import { BUILTIN_SERVICE, TransportClient, type TransportStatus } from '../../../transport/index.ts';
import { createRegistry } from '../../../transport/schemas.ts';
import { CLUSTERD_SERVICE } from '../../../components/framework/services.ts';
import { CLUSTERD_MESSAGES } from '../../../components/clusterd/messages.ts';
import type { ClusterStatus } from '../../../components/clusterd/status.ts';
import { localClusterBackend } from '../upgrade/backend.ts';
import { observe } from '../upgrade/observe.ts';
import { switchFailoverThrough } from '../upgrade/actions.ts';
import { plan } from '../upgrade/planner.ts';
import { formatStatus } from '../upgrade/format.ts';
import { STAGE_NAMES, STAGE_SERVICES, stageOf, type Stage } from '../upgrade/stages.ts';

/**
 * What `ctdb-bridge start` runs: a local cluster (embedded daemons, or real
 * ctdbd) brought straight to one stage of the rolling upgrade (default 4:
 * transportd on the ws uplink, clusterd and failoverd on every node, failover
 * handed over), with the services the upgrade CLI's local-cluster supervisor
 * starts (pid files in the cluster directory), so `ctdb-bridge upgrade ...
 * --local-cluster DIR` moves the same cluster by hand. cleanup() stops it
 * all by PID, whatever stage was reached.
 */

export interface StartOptions {
  kind: LocalClusterKind;
  nodes: number;
  dir: string;
  /** The stage every node is brought to. */
  stage: Stage;
  /** How long transportds may take to see each other, clusterds to agree, failover to be handed over. */
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

type Backend = Awaited<ReturnType<typeof localClusterBackend>>;

export class StartSession {
  cluster: LocalCluster | undefined;
  private backend: Backend | undefined;
  private interrupted = false;
  private readonly say: (line: string) => void;

  constructor(readonly opts: StartOptions) {
    this.say = opts.say ?? (() => undefined);
  }

  /** Makes the bring-up stop at its next step (Ctrl-C during start). */
  interrupt(): void {
    this.interrupted = true;
  }

  /** Each node's transportd socket (also where `transport status --socket` asks). */
  get transportSockets(): string[] {
    return this.backend ? this.backend.nodes.map((n) => this.backend!.manager.transportSocket(n.pnn)) : [];
  }

  async bringUp(): Promise<void> {
    const started = Date.now();
    const { stage } = this.opts;
    this.cluster = await this.startCluster();
    this.backend = await localClusterBackend({ dir: this.opts.dir });
    this.checkpoint();
    const want = STAGE_SERVICES[stage];
    const pnns = this.backend.nodes.map((n) => n.pnn);
    if (want.transportd !== null) {
      for (const pnn of pnns) this.backend.spawner.setUplink(pnn, want.transportd);
      await this.onEveryNode(pnns, 'transportd');
      this.say(`transportd (${want.transportd} uplink) running on every node; waiting for discovery`);
      await this.waitUntilAllSeeEachOther();
    }
    if (want.components) {
      await Promise.all([this.onEveryNode(pnns, 'clusterd'), this.onEveryNode(pnns, 'failoverd')]);
      this.say('clusterd and failoverd running on every node; waiting for a leader');
      await this.waitForOneLeader();
    }
    if (want.failoverd === 'active') await this.handOver();
    this.say(`cluster ready in stage ${stage} (${STAGE_NAMES[stage]}) after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }

  /** What `ctdb-bridge upgrade status` prints for this cluster. */
  async upgradeStatus(timeoutMs = 3000): Promise<string> {
    const obs = await observe({ ...this.backend!.observe, timeoutMs });
    const lowest = Math.min(...obs.nodes.map((n) => stageOf(n).stage));
    const next = lowest >= 4 ? null : plan(obs, { direction: 'advance', target: (lowest + 1) as Stage, nodes: 'all' });
    return formatStatus(obs, next);
  }

  /** transport.status of every node's transportd, in node order. */
  async statuses(timeoutMs = 3000): Promise<TransportStatus[]> {
    return Promise.all(this.transportSockets.map((socket) => queryStatus(socket, timeoutMs)));
  }

  /** clusterd.status of every node's clusterd, in node order. */
  async clusterStatuses(timeoutMs = 3000): Promise<ClusterStatus[]> {
    return Promise.all(this.transportSockets.map((socket) => queryClusterStatus(socket, timeoutMs)));
  }

  /** Stops every service (components first), then the cluster; by PID, also after a partial start. */
  async cleanup(): Promise<void> {
    await this.backend?.manager.stopAll().catch((err: Error) => this.say(`stopping the services failed (${err.message}); killing them`));
    const services = this.backend?.manager.pids() ?? [];
    if (!this.cluster) return;
    try {
      await this.cluster.down();
    } catch (err) {
      this.say(`orderly cluster shutdown failed (${(err as Error).message}); killing its processes`);
    }
    const left = [...services, ...this.cluster.pids()];
    if (!(await killAll(left))) throw new Error(`processes survived cleanup: ${left.join(', ')}`);
  }

  /** Last resort (second Ctrl-C): SIGKILL everything we started, now. */
  async killNow(): Promise<void> {
    await killAll([...(this.backend?.manager.pids() ?? []), ...(this.cluster?.pids() ?? [])], 2000);
  }

  private async onEveryNode(pnns: number[], service: 'transportd' | 'clusterd' | 'failoverd'): Promise<void> {
    // All at once (each is a Node process start); a failure still leaves the others for cleanup.
    const started = await Promise.allSettled(pnns.map((pnn) => this.backend!.manager.start(pnn, service)));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    this.checkpoint();
  }

  /** Stage 3 and 4: every failoverd active, ctdbd's takeover runs held off (no address moves: same allocation). */
  private async handOver(): Promise<void> {
    await switchFailoverThrough(this.transportSockets, 'active', {
      connectTimeoutMs: 3000, timeoutMs: this.opts.discoveryTimeoutMs ?? 30_000, pollMs: 100, progress: (line) => this.say(`handover: ${line}`),
    });
    this.checkpoint();
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
    const want = this.transportSockets.length;
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
      if (seen.length === this.transportSockets.length && terms.size === 1 && seen[0].leader !== null) return;
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
