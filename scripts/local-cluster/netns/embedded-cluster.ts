import type { NodePaths } from '../layout.ts';
import type { NodeLaunch } from '../real-node.ts';
import type { AddressReservation } from '../addresses.ts';
import { readClusterFile, type ClusterFile } from '../cluster-file.ts';
import { EmbeddedLocalCluster, type EmbeddedClusterOptions } from '../embedded.ts';
import { LocalClusterError } from '../errors.ts';
import type { NetnsFabric, NetnsOptions } from './fabric.ts';
import { NetnsSupport } from './support.ts';
import { writePublicAddresses } from './node-files.ts';

/**
 * The embedded daemon, one network namespace per node (test mode, no
 * private mounts). It cannot host public addresses yet (native failover is
 * future work): this kind gives the same namespaces, bridge, client agent
 * and per-node process hook as the real one.
 */

export interface NetnsEmbeddedClusterOptions extends EmbeddedClusterOptions {
  netns?: NetnsOptions;
}

export class NetnsEmbeddedLocalCluster extends EmbeddedLocalCluster {
  private readonly support: NetnsSupport;

  constructor(options: NetnsEmbeddedClusterOptions) {
    super(options);
    this.support = new NetnsSupport(this.dir, options.netns ?? {}, this.opts.logger, () => this.saveFile());
  }

  static override async open(dir: string, options: Omit<NetnsEmbeddedClusterOptions, 'dir'> = {}): Promise<NetnsEmbeddedLocalCluster> {
    const file = await readClusterFile(dir);
    const cluster = new NetnsEmbeddedLocalCluster({ ownerPid: file.ownerPid, ...options, dir, nodes: file.nodes.length });
    cluster.attach(file);
    cluster.support.attach(file);
    return cluster;
  }

  get netns(): NetnsFabric {
    return this.support.fabric;
  }

  protected override preflight(): Promise<void> {
    return this.support.preflight(false);
  }

  protected override chooseAddresses(): Promise<AddressReservation> {
    if (this.opts.baseAddress) throw new LocalClusterError('INVALID_OPTION', 'a netns cluster chooses its own addresses (no base address)');
    return this.support.reserve(this.opts.nodeCount, this.opts.ownerPid);
  }

  protected override async writeLayout(addresses: string[]): Promise<NodePaths[]> {
    const nodes = await super.writeLayout(addresses);
    await writePublicAddresses(nodes, this.netns);
    return nodes;
  }

  protected override fileExtras(): Partial<ClusterFile> {
    return this.support.fileExtras();
  }

  protected override beforeStart(): Promise<void> {
    return this.netns.up();
  }

  protected override nodeLaunch(pnn: number, launch: NodeLaunch): NodeLaunch {
    return this.support.wrap(pnn, launch);
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
}
