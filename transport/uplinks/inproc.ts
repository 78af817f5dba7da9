// In-process uplink: several transportds in one process (tests, single-process
// deployments). The hub plays the cluster: it knows the node list, may mark
// nodes unreachable, and delivers packets asynchronously in send order.

import type { Uplink, UplinkNode, UplinkPacketHandler, UplinkReachabilityHandler } from './uplink.ts';

export class InProcessHub {
  private readonly members = new Map<number, { reachable: boolean }>();
  private readonly uplinks = new Map<number, InProcessUplink>();

  /** `nodes`: cluster members; members without an attached uplink behave like legacy-only nodes. */
  constructor(nodes: number[] = []) {
    for (const n of nodes) this.members.set(n, { reachable: true });
  }

  /** Adds a member (e.g. a node added to the nodes file) and tells everyone. */
  addNode(node: number): void {
    if (this.members.has(node)) return;
    this.members.set(node, { reachable: true });
    this.notify(node, true);
  }

  /** Simulates a node dropping off the network (or coming back). */
  setReachable(node: number, reachable: boolean): void {
    const m = this.members.get(node);
    if (!m || m.reachable === reachable) return;
    m.reachable = reachable;
    this.notify(node, reachable);
    // The cut-off node sees everyone else change too.
    const self = this.uplinks.get(node);
    if (self) for (const other of this.members.keys()) if (other !== node) self.reachability(other, this.canReach(node, other));
  }

  createUplink(node: number): InProcessUplink {
    if (!this.members.has(node)) this.members.set(node, { reachable: true });
    return new InProcessUplink(this, node);
  }

  /** @internal */
  attach(uplink: InProcessUplink): void {
    if (this.uplinks.has(uplink.localNode)) throw new Error(`node ${uplink.localNode} already has an uplink on this hub`);
    this.uplinks.set(uplink.localNode, uplink);
  }

  /** @internal */
  detach(uplink: InProcessUplink): void {
    if (this.uplinks.get(uplink.localNode) === uplink) this.uplinks.delete(uplink.localNode);
  }

  /** @internal */
  nodesSeenBy(node: number): UplinkNode[] {
    return [...this.members.keys()].sort((a, b) => a - b).map((n) => ({ node: n, reachable: this.canReach(node, n) }));
  }

  /** @internal */
  deliver(from: number, to: number, bytes: Buffer): boolean {
    if (!this.members.has(to) || !this.canReach(from, to)) return false;
    const target = this.uplinks.get(to);
    // Like ctdbd with no tunnel endpoint registered: the packet vanishes.
    if (target) queueMicrotask(() => target.receive(bytes, from));
    return true;
  }

  private canReach(a: number, b: number): boolean {
    if (a === b) return true;
    return (this.members.get(a)?.reachable ?? false) && (this.members.get(b)?.reachable ?? false);
  }

  private notify(node: number, reachable: boolean): void {
    for (const u of this.uplinks.values()) if (u.localNode !== node) u.reachability(node, reachable && this.canReach(u.localNode, node));
  }
}

export class InProcessUplink implements Uplink {
  readonly kind = 'inproc';
  private packetHandler: UplinkPacketHandler | undefined;
  private reachHandler: UplinkReachabilityHandler | undefined;
  private running = false;

  constructor(private readonly hub: InProcessHub, readonly localNode: number) {}

  async start(): Promise<void> {
    this.hub.attach(this);
    this.running = true;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.hub.detach(this);
  }

  send(destNode: number, bytes: Buffer): boolean {
    if (!this.running) return false;
    return this.hub.deliver(this.localNode, destNode, bytes);
  }

  onPacket(handler: UplinkPacketHandler): void {
    this.packetHandler = handler;
  }

  onNodeReachability(handler: UplinkReachabilityHandler): void {
    this.reachHandler = handler;
  }

  knownNodes(): UplinkNode[] {
    return this.hub.nodesSeenBy(this.localNode);
  }

  /** @internal */
  receive(bytes: Buffer, from: number): void {
    if (this.running) this.packetHandler?.(bytes, from);
  }

  /** @internal */
  reachability(node: number, reachable: boolean): void {
    if (this.running) this.reachHandler?.(node, reachable);
  }
}
