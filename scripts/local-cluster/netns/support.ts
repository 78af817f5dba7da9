import type { Logger } from '../../../legacy/common/log.ts';
import type { AddressReservation } from '../addresses.ts';
import { readClusterFile, type ClusterFile } from '../cluster-file.ts';
import { processesWithBase } from '../processes.ts';
import type { NodeLaunch } from '../real-node.ts';
import { LocalClusterError } from '../errors.ts';
import { NetnsFabric, type NetnsOptions } from './fabric.ts';
import { assertNetnsUsable } from './preflight.ts';
import { sweepStaleNetns } from './sweep.ts';

/**
 * What both netns kinds (real ctdbd, embedded daemon) add to their
 * LocalClusterBase flow, by composition: the fabric is planned where the
 * base class chooses addresses, recorded in cluster.json, built before the
 * first node starts and torn down after the last one stopped.
 */
export class NetnsSupport {
  private current: NetnsFabric | null = null;

  constructor(
    private readonly dir: string,
    readonly options: NetnsOptions,
    private readonly logger: Logger,
    private readonly save: () => Promise<void>,
  ) {}

  /** The cluster's fabric; throws before up() has planned it. */
  get fabric(): NetnsFabric {
    if (!this.current) throw new LocalClusterError('NETNS_NOT_STARTED', `the netns cluster in ${this.dir} has not been started`);
    return this.current;
  }

  get planned(): boolean {
    return this.current !== null;
  }

  /** Root, tools, directory; then leftovers of crashed runs are swept so their subnets and names are free. */
  async preflight(ctdbd: boolean): Promise<void> {
    await assertNetnsUsable({ dir: this.dir, ctdbd });
    await sweepStaleNetns({ logger: this.logger });
    await this.removePreviousFabric();
  }

  /**
   * A previous netns cluster in the same directory whose nodes are all gone
   * (e.g. a CLI cluster without owner after a crash) may still hold its
   * namespaces and helpers: remove them. A running one is left for the
   * base class to refuse.
   */
  private async removePreviousFabric(): Promise<void> {
    const previous = await readClusterFile(this.dir).catch(() => null);
    if (!previous?.netns || previous.nodes.some((n) => processesWithBase(n.base).length > 0)) return;
    const fabric = NetnsFabric.fromRecord(this.dir, previous.nodes.length, previous.netns, this.options,
      { logger: this.logger, save: async () => undefined });
    if (fabric.existingNamespaces().length === 0 && fabric.pids().length === 0) return;
    this.logger.warn({ id: previous.netns.id }, 'removing the namespaces of the previous cluster in this directory');
    await fabric.teardown();
  }

  /** Plans id and subnet; the node addresses are the namespaces' (nothing to reserve on the host). */
  async reserve(nodeCount: number, ownerPid: number | undefined): Promise<AddressReservation> {
    this.current = await NetnsFabric.plan(this.dir, nodeCount, ownerPid, this.options, { logger: this.logger, save: this.save });
    return { addresses: this.current.topology.privateAddresses, release: async () => undefined };
  }

  /** Re-attaches to the fabric recorded in cluster.json. */
  attach(file: ClusterFile): void {
    if (!file.netns) throw new LocalClusterError('NOT_NETNS', `the cluster in ${file.dir} was not started with --netns`);
    this.current = NetnsFabric.fromRecord(this.dir, file.nodes.length, file.netns, this.options, { logger: this.logger, save: this.save });
  }

  fileExtras(): Partial<ClusterFile> {
    return this.current ? { netns: this.current.record } : {};
  }

  /** Tags the launch and wraps it into node `pnn`'s network namespace (and its private mounts when `mountsOf` is given). */
  wrap(pnn: number, launch: NodeLaunch, mountsOf?: string): NodeLaunch {
    return this.fabric.wrapForNode(pnn, { ...launch, env: this.fabric.taggedEnv(launch.env) }, mountsOf);
  }

  /** Runs the kind's own down(), then removes the fabric whatever happened. */
  async down(stopNodes: () => Promise<void>): Promise<void> {
    try {
      await stopNodes();
    } finally {
      await this.current?.teardown();
    }
  }

  killAllNow(): void {
    this.current?.teardownSync();
  }

  pids(): number[] {
    return this.current?.pids() ?? [];
  }
}
