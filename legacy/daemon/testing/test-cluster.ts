import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger, type Logger } from '../../common/log.ts';
import { loadDaemonConfig } from '../config.ts';
import { Daemon, type DaemonTiming } from '../daemon.ts';
import type { BudgetClock, MemoryLimits } from '../memory-budget.ts';
import type { IpEventRunner } from '../ip-events.ts';

/**
 * In-process embedded daemons on 127.0.S.x with an injected port and fast
 * timers, for unit and integration tests. Every daemon is a real node:
 * real unix sockets, real TCP links.
 */

export const FAST_TIMING: Partial<DaemonTiming> = {
  keepaliveIntervalMs: 200,
  keepaliveLimit: 3,
  leaderTimeoutMs: 600,
  electionTimeoutMs: 300,
  electionRebroadcastMs: 50,
  recoverIntervalMs: 100,
  rerecoveryTimeoutMs: 300,
  connectTimeoutMs: 300,
  reconnectIntervalMs: 100,
};

export interface TestClusterOptions {
  nodes?: number;
  timing?: Partial<DaemonTiming>;
  /** Extra ctdb.conf text appended per node. */
  extraConf?: string;
  /** ctdb.tunables content. */
  tunables?: string;
  /** public_addresses content (default: empty). */
  publicAddresses?: string;
  /** Runner of the public IP events (ip-events.ts). */
  ipEvents?: IpEventRunner;
  /** Nodes-file lines to write instead of the plain address list (e.g. with '#' entries). */
  nodesFile?: (addresses: string[]) => string;
  logger?: Logger;
  /** Memory budget limits and its clock (memory-budget.ts). */
  memory?: Partial<MemoryLimits>;
  budgetClock?: BudgetClock;
}

export class TestCluster {
  readonly daemons: Array<Daemon | undefined>;

  private constructor(
    readonly dir: string,
    readonly addresses: string[],
    readonly port: number,
    private readonly opts: TestClusterOptions,
  ) {
    this.daemons = addresses.map(() => undefined);
  }

  static async create(opts: TestClusterOptions = {}): Promise<TestCluster> {
    const n = opts.nodes ?? 3;
    const dir = await mkdtemp(join(tmpdir(), 'ctdb-embedded-'));
    const subnet = 150 + Math.floor(Math.random() * 90);
    const addresses = Array.from({ length: n }, (_, i) => `127.0.${subnet}.${i + 1}`);
    const port = 20000 + Math.floor(Math.random() * 40000);
    const c = new TestCluster(dir, addresses, port, opts);
    for (let pnn = 0; pnn < n; pnn++) await c.writeNodeDir(pnn);
    return c;
  }

  base(pnn: number): string {
    return join(this.dir, `node.${pnn}`);
  }

  socketPath(pnn: number): string {
    return join(this.base(pnn), 'run', 'ctdbd.socket');
  }

  private async writeNodeDir(pnn: number): Promise<void> {
    const base = this.base(pnn);
    await mkdir(join(base, 'run'), { recursive: true });
    const nodes = this.opts.nodesFile ? this.opts.nodesFile(this.addresses) : this.addresses.join('\n') + '\n';
    await writeFile(join(base, 'nodes'), nodes);
    await writeFile(join(base, 'public_addresses'), this.opts.publicAddresses ?? '');
    await writeFile(join(base, 'ctdb.conf'), [
      '[logging]', `\tlocation = file:${join(base, 'log.ctdb')}`, '\tlog level = NOTICE',
      '[cluster]', `\tnode address = ${this.addresses[pnn]}`, `\tcluster lock = ${join(this.dir, 'cluster.lock')}`,
      '[failover]', '\tdisabled = true', this.opts.extraConf ?? '', '',
    ].join('\n'));
    if (this.opts.tunables) await writeFile(join(base, 'ctdb.tunables'), this.opts.tunables);
  }

  async startNode(pnn: number, timing?: Partial<DaemonTiming>): Promise<Daemon> {
    const config = await loadDaemonConfig(this.base(pnn), { port: this.port });
    const d = new Daemon({
      config,
      logger: this.opts.logger ?? silentLogger('daemon'),
      timing: { ...FAST_TIMING, ...this.opts.timing, ...timing },
      memory: this.opts.memory,
      budgetClock: this.opts.budgetClock,
      ipEvents: this.opts.ipEvents,
    });
    await d.start();
    this.daemons[pnn] = d;
    return d;
  }

  async startAll(): Promise<void> {
    for (let pnn = 0; pnn < this.addresses.length; pnn++) await this.startNode(pnn);
  }

  async stopNode(pnn: number): Promise<void> {
    const d = this.daemons[pnn];
    this.daemons[pnn] = undefined;
    await d?.stop('test');
  }

  /** Waits until `cond` holds (polling). */
  async until(cond: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Every running daemon sees every running node connected and agrees on one leader with a valid VNN map. */
  settled(): boolean {
    const running = this.daemons.flatMap((d, pnn) => (d ? [pnn] : []));
    const leaders = new Set<number>();
    for (const pnn of running) {
      const d = this.daemons[pnn]!;
      for (const other of running) if (!d.state.isConnected(other) || !d.state.isActive(other)) return false;
      if (d.state.recoveryMode !== 0) return false;
      if (d.state.vnnMap.map.length !== running.length) return false;
      leaders.add(d.recoverd.leader);
      if (d.state.leader !== d.recoverd.leader) return false;
    }
    return leaders.size === 1 && running.includes([...leaders][0]);
  }

  async destroy(): Promise<void> {
    for (let pnn = 0; pnn < this.daemons.length; pnn++) await this.stopNode(pnn);
    await rm(this.dir, { recursive: true, force: true });
  }
}
