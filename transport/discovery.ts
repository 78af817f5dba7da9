// Which nodes run a transportd. The uplink says which nodes exist and which
// it can reach; hello/bye messages between transportds say which of those
// run one. A reachable node that stays silent is legacy-only, never failed.

import type { Logger } from 'pino';
import type { NODE_STATES } from './schemas.ts';

export type NodeState = (typeof NODE_STATES)[number];

export interface HelloBody {
  node: number;
  bootId: string;
  software: string;
  protocolVersions: number[];
  startedAt: string;
  services: number[];
  wantReply: boolean;
}

export interface NodeInfo {
  node: number;
  state: NodeState;
  /** When the node entered this state (ISO time). */
  since: string;
  software?: string;
  protocolVersions?: number[];
  bootId?: string;
  startedAt?: string;
  services?: number[];
}

/** What the router needs to know about other nodes. */
export interface NodeView {
  stateOf(node: number): NodeState | 'unknown';
  /** Remote nodes whose transportd announced itself (broadcast targets). */
  transportNodes(): number[];
}

export interface DiscoveryOptions {
  node: number;
  /** Sends a hello to one node over the uplink (bypassing the router). */
  sendHello(node: number, wantReply: boolean): void;
  /** A reachable node that has not said hello after this long is legacy-only. */
  helloTimeoutMs?: number;
  /** Legacy-only nodes are asked again this often (a transportd may have started there). */
  rehelloIntervalMs?: number;
  now?: () => number;
  logger: Logger;
}

interface Entry extends NodeInfo {
  reachable: boolean;
  timer?: NodeJS.Timeout;
  /** Our answer to its hello could not be sent (the carrier could not reach it yet). */
  owesHello?: boolean;
}

export class Discovery implements NodeView {
  private readonly entries = new Map<number, Entry>();
  private interval: NodeJS.Timeout | undefined;
  private readonly helloTimeoutMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: DiscoveryOptions) {
    this.helloTimeoutMs = opts.helloTimeoutMs ?? 3000;
    this.now = opts.now ?? Date.now;
  }

  /** Starts with the uplink's node list; says hello to every reachable node. */
  start(known: Array<{ node: number; reachable: boolean }>): void {
    this.sync(known);
    const every = this.opts.rehelloIntervalMs ?? 30_000;
    this.interval = setInterval(() => this.rehello(), every);
    this.interval.unref();
  }

  stop(): void {
    clearInterval(this.interval);
    for (const e of this.entries.values()) clearTimeout(e.timer);
  }

  /** Re-reads the uplink's node list: new nodes are added, vanished ones dropped. */
  sync(known: Array<{ node: number; reachable: boolean }>): void {
    const seen = new Set<number>();
    for (const { node, reachable } of known) {
      if (node === this.opts.node) continue;
      seen.add(node);
      const e = this.entries.get(node);
      if (!e) {
        this.entries.set(node, { node, state: 'unreachable', since: this.iso(), reachable: false });
        if (reachable) this.reachabilityChanged(node, true);
      } else if (e.reachable !== reachable) {
        this.reachabilityChanged(node, reachable);
      }
    }
    for (const [node, e] of this.entries) {
      if (!seen.has(node)) {
        clearTimeout(e.timer);
        this.entries.delete(node);
      }
    }
  }

  reachabilityChanged(node: number, reachable: boolean): void {
    if (node === this.opts.node) return;
    let e = this.entries.get(node);
    if (!e) {
      e = { node, state: 'unreachable', since: this.iso(), reachable: false };
      this.entries.set(node, e);
    }
    e.reachable = reachable;
    if (!reachable) {
      this.setState(e, 'unreachable');
      return;
    }
    if (e.owesHello) {
      e.owesHello = false;
      this.opts.sendHello(node, false);
    }
    if (e.state === 'transport') return;
    this.setState(e, 'discovering');
    this.opts.sendHello(node, true);
    this.armTimeout(e);
  }

  /** Records a peer's hello; returns true when it asked for ours in return. */
  helloReceived(hello: HelloBody): boolean {
    if (hello.node === this.opts.node) return false;
    let e = this.entries.get(hello.node);
    if (!e) {
      // The uplink has not told us about this node yet; a packet from it proves it reachable.
      e = { node: hello.node, state: 'unreachable', since: this.iso(), reachable: true };
      this.entries.set(hello.node, e);
    }
    e.reachable = true;
    clearTimeout(e.timer);
    const restarted = e.bootId !== undefined && e.bootId !== hello.bootId;
    Object.assign(e, {
      software: hello.software, protocolVersions: hello.protocolVersions, bootId: hello.bootId,
      startedAt: hello.startedAt, services: hello.services,
    });
    if (restarted) {
      this.opts.logger.info({ peer: e.node }, 'transportd on node restarted');
      e.since = this.iso();
    }
    this.setState(e, 'transport');
    return hello.wantReply;
  }

  /**
   * The answer to `node`'s hello could not be handed to the uplink (e.g. its
   * node map still shows the peer down while the peer already reaches us):
   * it is sent as soon as the uplink reports the node reachable.
   */
  helloUndelivered(node: number): void {
    const e = this.entries.get(node);
    if (e) e.owesHello = true;
  }

  /** A valid packet arrived from `node`: if we took it for legacy-only, ask again. */
  trafficFrom(node: number): void {
    const e = this.entries.get(node);
    if (!e || e.state !== 'legacy-only') return;
    this.setState(e, 'discovering');
    this.opts.sendHello(node, true);
    this.armTimeout(e);
  }

  byeReceived(node: number, bootId: string): void {
    const e = this.entries.get(node);
    if (!e || (e.bootId !== undefined && e.bootId !== bootId)) return;
    if (e.reachable) this.setState(e, 'legacy-only');
  }

  stateOf(node: number): NodeState | 'unknown' {
    if (node === this.opts.node) return 'self';
    return this.entries.get(node)?.state ?? 'unknown';
  }

  transportNodes(): number[] {
    return [...this.entries.values()].filter((e) => e.state === 'transport').map((e) => e.node);
  }

  /** Every known remote node, by node number. */
  list(): NodeInfo[] {
    return [...this.entries.values()]
      .sort((a, b) => a.node - b.node)
      .map(({ reachable: _r, timer: _t, owesHello: _o, ...info }) => info);
  }

  private armTimeout(e: Entry): void {
    clearTimeout(e.timer);
    e.timer = setTimeout(() => {
      if (e.state === 'discovering') this.setState(e, 'legacy-only');
    }, this.helloTimeoutMs);
    e.timer.unref();
  }

  private rehello(): void {
    for (const e of this.entries.values()) {
      if (e.reachable && e.state !== 'transport') this.opts.sendHello(e.node, true);
    }
  }

  private setState(e: Entry, state: NodeState): void {
    if (state !== 'transport' && state !== 'discovering') clearTimeout(e.timer);
    if (state !== 'transport') {
      delete e.software;
      delete e.protocolVersions;
      delete e.startedAt;
      delete e.services;
    }
    if (e.state === state) return;
    this.opts.logger.info({ peer: e.node, from: e.state, to: state }, 'node state changed');
    e.state = state;
    e.since = this.iso();
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }
}
