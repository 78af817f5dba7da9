import type { RealClusterOptions } from '../options.ts';
import type { NodePaths } from '../layout.ts';
import type { NodeContext, NodeLaunch } from '../real-node.ts';
import type { AddressReservation } from '../addresses.ts';
import { readClusterFile, type ClusterFile } from '../cluster-file.ts';
import { RealLocalCluster } from '../real-cluster.ts';
import { LocalClusterError } from '../errors.ts';
import type { NetnsFabric, NetnsOptions, IsolationMethod } from './fabric.ts';
import { NetnsSupport } from './support.ts';
import { writeCtdbdFiles, writePublicAddresses, type CtdbdFilesOptions } from './node-files.ts';

/**
 * Real Samba ctdbd OUTSIDE test mode, one network namespace per node, with
 * public IP failover on: every node's ctdbd runs in its own network
 * namespace and in a private mount namespace where its node directory
 * covers /etc/ctdb, /run/ctdb and /var/lib/ctdb (launcher.ts), so the
 * legacy event scripts (10.interface) really add and remove the public
 * addresses on the node's eth0. The ctdb CLI still reaches every node from
 * the host through DIR/node.N/run/ctdbd.socket.
 * killNode() is a kill -9 of ctdbd only, as on a real host: the node's
 * namespace keeps the addresses it held (and its responder) until ctdbd
 * starts again (10.interface "init" removes them); the survivors' takeover
 * and gratuitous ARP are what move the client over. isolateNode() cuts the
 * whole node off instead.
 */

export interface NetnsClusterOptions extends RealClusterOptions {
  netns?: NetnsOptions;
  /** Legacy event scripts to enable (default 00.ctdb and 10.interface). */
  eventScripts?: string[];
}

export class NetnsRealLocalCluster extends RealLocalCluster {
  private readonly support: NetnsSupport;
  private readonly eventScripts?: string[];

  constructor(options: NetnsClusterOptions) {
    super(options);
    this.support = new NetnsSupport(this.dir, options.netns ?? {}, this.opts.logger, () => this.saveFile());
    this.eventScripts = options.eventScripts;
  }

  static override async open(dir: string, options: Omit<NetnsClusterOptions, 'dir'> = {}): Promise<NetnsRealLocalCluster> {
    const file = await readClusterFile(dir);
    const cluster = new NetnsRealLocalCluster({
      ctdbdPath: file.ctdbdPath, ctdbPath: file.ctdbPath, ownerPid: file.ownerPid, ...options, dir, nodes: file.nodes.length,
    });
    cluster.attach(file);
    cluster.support.attach(file);
    return cluster;
  }

  /** Namespaces, addresses, client probes, isolation, extra per-node processes. */
  get netns(): NetnsFabric {
    return this.support.fabric;
  }

  protected override async preflight(): Promise<void> {
    await super.preflight();
    await this.support.preflight(true);
  }

  protected override chooseAddresses(): Promise<AddressReservation> {
    if (this.opts.baseAddress) throw new LocalClusterError('INVALID_OPTION', 'a netns cluster chooses its own addresses (no base address)');
    return this.support.reserve(this.opts.nodeCount, this.opts.ownerPid);
  }

  protected override async writeLayout(addresses: string[]): Promise<NodePaths[]> {
    const nodes = await super.writeLayout(addresses);
    await writePublicAddresses(nodes, this.netns);
    const files: CtdbdFilesOptions = { logLevel: this.opts.logLevel, ...(this.eventScripts ? { eventScripts: this.eventScripts } : {}) };
    await writeCtdbdFiles(this.dir, nodes, files);
    return nodes;
  }

  protected override fileExtras(): Partial<ClusterFile> {
    return this.support.fileExtras();
  }

  protected override beforeStart(): Promise<void> {
    return this.netns.up();
  }

  protected override nodeContext(pnn: number): NodeContext {
    const ctx = super.nodeContext(pnn);
    if (!this.support.planned) return ctx;
    return { ...ctx, launch: this.support.wrap(pnn, ctdbdLaunch(ctx), ctx.paths.base) };
  }

  override async down(): Promise<void> {
    await this.support.down(() => super.down());
  }

  override killAllNow(): void {
    super.killAllNow();
    this.support.killAllNow();
  }

  override pids(): number[] {
    return [...new Set([...super.pids(), ...this.support.pids()])];
  }

  whoAnswers(ip: string): Promise<number | undefined> {
    return this.netns.whoAnswers(ip);
  }

  isolateNode(pnn: number, how: IsolationMethod = 'link'): Promise<void> {
    return this.netns.isolate(pnn, how);
  }

  healNode(pnn: number): Promise<void> {
    return this.netns.heal(pnn);
  }
}

/** ctdbd outside test mode: no CTDB_TEST_MODE; CTDB_BASE names the node directory (= /etc/ctdb inside its mounts). */
function ctdbdLaunch(ctx: NodeContext): NodeLaunch {
  const env: NodeJS.ProcessEnv = { ...process.env, CTDB_BASE: ctx.paths.base };
  delete env.CTDB_TEST_MODE;
  delete env.CTDB_SOCKET;
  // The event scripts call ip, iptables and ethtool.
  if (!(env.PATH ?? '').split(':').includes('/usr/sbin')) env.PATH = `${env.PATH ?? '/usr/bin:/bin'}:/usr/sbin:/sbin`;
  return { file: ctx.ctdbdPath, args: [], env };
}
