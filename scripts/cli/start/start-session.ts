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
    for (const node of this.cluster.nodes) {
      this.children.push(await spawnTransportd({
        pnn: node.pnn, ctdbSocket: node.socketPath, socketPath: transportdSocketPath(this.opts.dir, node.pnn),
        logFile: join(this.opts.dir, `node.${node.pnn}`, 'transportd.log'),
      }));
      this.checkpoint();
    }
    this.say(`transportd running on every node (pids ${this.children.map((c) => c.pid).join(', ')}); waiting for discovery`);
    await this.waitUntilAllSeeEachOther();
    this.say(`cluster ready after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }

  /** transport.status of every node's transportd, in node order. */
  async statuses(timeoutMs = 3000): Promise<TransportStatus[]> {
    return Promise.all(this.children.map((c) => queryStatus(c.socketPath, timeoutMs)));
  }

  /** Stops every transportd, then the cluster; by PID, also after a partial start. */
  async cleanup(): Promise<void> {
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
    await killAll([...this.children.map((c) => c.pid), ...(this.cluster?.pids() ?? [])], 2000);
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
