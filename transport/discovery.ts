// Which nodes run a transportd. The uplink says which nodes exist and which
// it can reach; hello/bye messages between transportds say which of those
// run one. A reachable node that stays silent is legacy-only, never failed.
// A transportd that dies without bye while its node stays up (SIGKILL, crash)
// is noticed by liveness: a transport node silent for a whole liveness
// interval is asked for a hello, and taken for legacy-only if it does not
// answer within the hello timeout. Any packet from the node counts as life.
// Only the uplink's node list makes a node known: hellos cannot add nodes,
// and what one hello may store is bounded (PROTOCOL.md, Trust and bounds).

import type { Logger } from 'pino';
import { MAX_HELLO_SERVICES, MAX_NODES, type NODE_STATES } from './schemas.ts';
import { LimitedLog } from '../legacy/common/log-limiter.ts';

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
  /**
   * Transport nodes from which nothing arrived for a whole interval get a hello
   * with wantReply (default 2000 ms; 0 turns liveness off). A dead transportd is
   * legacy-only at most 2 x this + helloTimeoutMs after its last packet.
   */
  livenessIntervalMs?: number;
  /** A transport node stopped answering and is now legacy-only (fail what waits on it). */
  nodeLost?(node: number, reason: string): void;
  now?: () => number;
  logger: Logger;
}

interface Entry extends NodeInfo {
  reachable: boolean;
  /** Hello timeout of a discovering node, or of a liveness probe. */
  timer: NodeJS.Timeout | undefined;
  /** Our answer to its hello could not be sent (the carrier could not reach it yet). */
  owesHello: boolean;
  /** Something arrived from the node since the last liveness sweep (set per packet: keep it a plain store). */
  heard: boolean;
  /** A liveness hello is out and its timeout armed. */
  probing: boolean;
}

export const DEFAULT_HELLO_TIMEOUT_MS = 3000;
export const DEFAULT_LIVENESS_INTERVAL_MS = 2000;

export class Discovery implements NodeView {
  /** The uplink's nodes (at most MAX_NODES - 1 besides this one): no other way in. */
  private readonly entries = new Map<number, Entry>();
  private readonly limitedLog: LimitedLog;
  private interval: NodeJS.Timeout | undefined;
  private livenessTimer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly helloTimeoutMs: number;
  private readonly livenessIntervalMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: DiscoveryOptions) {
    this.helloTimeoutMs = opts.helloTimeoutMs ?? DEFAULT_HELLO_TIMEOUT_MS;
    this.livenessIntervalMs = opts.livenessIntervalMs ?? DEFAULT_LIVENESS_INTERVAL_MS;
    this.now = opts.now ?? Date.now;
    this.limitedLog = new LimitedLog(opts.logger, { now: this.now });
  }

  /** Starts with the uplink's node list; says hello to every reachable node. */
  start(known: Array<{ node: number; reachable: boolean }>): void {
    this.running = true;
    this.sync(known);
    const every = this.opts.rehelloIntervalMs ?? 30_000;
    this.interval = setInterval(() => this.rehello(), every);
    this.interval.unref();
    if (this.livenessIntervalMs > 0) {
      this.livenessTimer = setInterval(() => this.livenessSweep(), this.livenessIntervalMs);
      this.livenessTimer.unref();
    }
  }

  stop(): void {
    this.running = false;
    clearInterval(this.interval);
    clearInterval(this.livenessTimer);
    for (const e of this.entries.values()) this.clearTimer(e);
  }

  /** Re-reads the uplink's node list: new nodes are added, vanished ones dropped. */
  sync(known: Array<{ node: number; reachable: boolean }>): void {
    const seen = new Set<number>();
    for (const { node, reachable } of known) {
      if (node === this.opts.node || seen.has(node)) continue;
      if (seen.size >= MAX_NODES - 1) {
        this.limitedLog.warn('too-many-nodes', { listed: known.length, max: MAX_NODES },
          `the uplink lists more nodes than ${MAX_NODES}; the rest are ignored`);
        break;
      }
      seen.add(node);
      const e = this.entries.get(node);
      if (!e) {
        this.entries.set(node, this.newEntry(node, false));
        if (reachable) this.reachabilityChanged(node, true);
      } else if (e.reachable !== reachable) {
        this.reachabilityChanged(node, reachable);
      }
    }
    for (const [node, e] of this.entries) {
      if (!seen.has(node)) {
        this.clearTimer(e);
        this.entries.delete(node);
      }
    }
  }

  /** Only for nodes of the uplink's list (a new node is added by sync(), which calls this). */
  reachabilityChanged(node: number, reachable: boolean): void {
    const e = this.entries.get(node);
    if (!e) return;
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

  /**
   * Records a peer's hello; returns true when it asked for ours in return.
   * A hello from a node outside the uplink's list, or listing more than
   * MAX_HELLO_SERVICES services, is refused (logged at a bounded rate).
   */
  helloReceived(hello: HelloBody): boolean {
    if (hello.node === this.opts.node) return false;
    const e = this.entries.get(hello.node);
    if (!e) {
      // Also a node ctdbd added a moment ago: once the uplink lists it, our hello asks it again.
      this.limitedLog.warn('hello-non-member', { peer: hello.node }, 'hello from a node that is not a cluster member ignored');
      return false;
    }
    if (hello.services.length > MAX_HELLO_SERVICES) {
      this.limitedLog.warn('hello-services', { peer: hello.node, services: hello.services.length, max: MAX_HELLO_SERVICES },
        'hello listing too many services refused');
      return false;
    }
    e.reachable = true;
    e.heard = true;
    this.clearTimer(e);
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

  /**
   * A valid packet arrived from `node` (per packet: O(1), no allocation): it
   * is alive; if we took it for legacy-only, ask again.
   */
  trafficFrom(node: number): void {
    const e = this.entries.get(node);
    if (!e) return;
    e.heard = true;
    if (e.state !== 'legacy-only') return;
    this.setState(e, 'discovering');
    this.opts.sendHello(node, true);
    this.armTimeout(e);
  }

  /** True when the bye was taken: a known node, and the bootId of its transportd as far as we know it. */
  byeReceived(node: number, bootId: string): boolean {
    const e = this.entries.get(node);
    if (!e || (e.bootId !== undefined && e.bootId !== bootId)) return false;
    if (e.reachable) this.setState(e, 'legacy-only');
    return true;
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
      .map(({ reachable: _r, timer: _t, owesHello: _o, heard: _h, probing: _p, ...info }) => withoutUndefined(info));
  }

  private newEntry(node: number, reachable: boolean): Entry {
    // Every field present from the start: one object shape for the per-packet lookup.
    return {
      node, state: 'unreachable', since: this.iso(), software: undefined, protocolVersions: undefined, bootId: undefined,
      startedAt: undefined, services: undefined, reachable, timer: undefined, owesHello: false, heard: false, probing: false,
    };
  }

  private clearTimer(e: Entry): void {
    clearTimeout(e.timer);
    e.timer = undefined;
    e.probing = false;
  }

  private armTimeout(e: Entry): void {
    this.clearTimer(e);
    e.timer = setTimeout(() => {
      if (e.state === 'discovering') this.setState(e, 'legacy-only');
    }, this.helloTimeoutMs);
    e.timer.unref();
  }

  /**
   * Every liveness interval: a transport node heard from since the last sweep
   * is fine (its flag is reset); a silent one is asked for a hello. Busy links
   * never get a probe, and the answer to one node's probe is traffic for the
   * other side's sweep too.
   */
  private livenessSweep(): void {
    for (const e of this.entries.values()) {
      if (e.state !== 'transport' || e.probing) continue;
      if (e.heard) {
        e.heard = false;
        continue;
      }
      this.probe(e);
    }
  }

  private probe(e: Entry): void {
    this.clearTimer(e);
    e.probing = true;
    this.opts.sendHello(e.node, true);
    e.timer = setTimeout(() => {
      e.timer = undefined;
      // Judge after pending I/O: if this process was stalled itself, the answer may be queued behind the timer.
      setImmediate(() => {
        if (!e.probing) return;
        e.probing = false;
        if (this.running && e.state === 'transport' && !e.heard) this.lost(e);
      });
    }, this.helloTimeoutMs);
    e.timer.unref();
  }

  /** Its transportd is gone without bye (killed, crashed, hung) while the uplink still reaches the node. */
  private lost(e: Entry): void {
    const reason = `its transportd stopped answering (silent for a liveness interval of ${this.livenessIntervalMs} ms, ` +
      `no answer to a hello within ${this.helloTimeoutMs} ms)`;
    this.opts.logger.info({ peer: e.node, bootId: e.bootId, livenessIntervalMs: this.livenessIntervalMs, helloTimeoutMs: this.helloTimeoutMs },
      'transportd on node stopped answering; taking the node for legacy-only');
    this.setState(e, 'legacy-only');
    this.opts.nodeLost?.(e.node, reason);
  }

  private rehello(): void {
    for (const e of this.entries.values()) {
      if (e.reachable && e.state !== 'transport') this.opts.sendHello(e.node, true);
    }
  }

  private setState(e: Entry, state: NodeState): void {
    if (state !== 'transport' && state !== 'discovering') this.clearTimer(e);
    if (state !== 'transport') {
      // Cleared, not deleted: a delete would turn the entry into a slow dictionary object.
      e.software = undefined;
      e.protocolVersions = undefined;
      e.startedAt = undefined;
      e.services = undefined;
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

/** Status shows only the fields a node has (entries keep every field, set or not). */
function withoutUndefined(info: NodeInfo): NodeInfo {
  return Object.fromEntries(Object.entries(info).filter(([, v]) => v !== undefined)) as unknown as NodeInfo;
}
