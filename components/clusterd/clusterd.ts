// clusterd: membership, health and leadership as a component. The decisions
// are the pure core's (core/); this module is its I/O: heartbeats and votes
// over the transport, ctdbd's node map and leader (legacy-view.ts),
// transportd's node states, the epoch file, the cluster lock, subscribers,
// the shadow comparison with ctdbd, and one log line per state change.

import type { Logger } from 'pino';
import { resolveSocketPath } from '../../legacy/client/socket-path.ts';
import { BUILTIN_SERVICE, LOCAL_NODE, type Endpoint } from '../../transport/endpoint.ts';
import type { IncomingContext } from '../../transport/dispatcher.ts';
import type { TransportStatus } from '../../transport/builtin-service.ts';
import { LimitedLog } from '../../legacy/common/log-limiter.ts';
import type { ComponentContext, ComponentDefinition, ComponentInstance } from '../framework/component.ts';
import { CLUSTERD_SERVICE } from '../framework/services.ts';
import type { ClusterdMode } from '../framework/bridge-conf.ts';
import { ClusterdCore, type Action, type Answer, type CoreConfig, type NodeView } from './core/index.ts';
import { ClusterLock } from './cluster-lock.ts';
import { configureClusterd, type ClusterdConfig } from './config.ts';
import { EpochStore } from './epoch-store.ts';
import { NotFromClusterdError, RefusedInputError, UnknownNodeError } from './errors.ts';
import { LegacyView, type LegacySnapshot } from './legacy-view.ts';
import { CLUSTERD_MESSAGES } from './messages.ts';
import { DifferenceCounter } from '../framework/differences.ts';
import { differences } from './shadow.ts';
import { Subscribers } from './subscribers.ts';
import type { ClusterEvent, ClusterStatus, NodeStatus } from './status.ts';

export interface ClusterdOptions {
  /** ctdbd's socket (default: as `ctdb` finds it: CTDB_SOCKET, test mode, /run/ctdb/ctdbd.socket). */
  ctdbSocket?: string;
  /** How often the core is ticked (default 50 ms). */
  tickMs?: number;
  /** How often transportd's node states are read (default 500 ms). */
  transportPollMs?: number;
  /** Debian's fcntl mutex helper (tests may point elsewhere). */
  fcntlHelper?: string;
}

export function clusterdComponent(opts: ClusterdOptions = {}): ComponentDefinition<ClusterdConfig> {
  return {
    name: 'clusterd',
    service: CLUSTERD_SERVICE,
    messages: CLUSTERD_MESSAGES,
    configure: configureClusterd,
    create: (ctx) => new Clusterd(ctx, opts),
  };
}

export class Clusterd implements ComponentInstance<ClusterdConfig> {
  private config: ClusterdConfig;
  private core: ClusterdCore | undefined;
  private readonly log: Logger;
  private readonly complaints: LimitedLog;
  private readonly subscribers = new Subscribers();
  private readonly shadow = new DifferenceCounter();
  private readonly legacy: LegacyView;
  private readonly epochs: EpochStore;
  private lock: ClusterLock | undefined;
  private tickTimer: unknown;
  private transportTimer: unknown;
  private eventSeq = 0;
  private stopped = false;

  constructor(private readonly ctx: ComponentContext<ClusterdConfig>, private readonly opts: ClusterdOptions) {
    this.config = ctx.config;
    this.log = ctx.logger;
    this.complaints = new LimitedLog(this.log);
    this.epochs = new EpochStore(this.config.stateDir);
    this.legacy = new LegacyView({
      socketPath: resolveSocketPath(opts.ctdbSocket), pollMs: this.config.legacyPollMs, logger: this.log,
      timers: ctx.timers, onChange: (s) => this.onLegacy(s),
    });
  }

  init(): void {
    const t = this.ctx.transport;
    t.handle('clusterd.heartbeat', (body, c) => this.answer(c, body, (now, from) => this.core!.onHeartbeat(now, from, body)));
    t.handle('clusterd.vote', (body, c) => this.answer(c, body, (now, from) => this.core!.onVote(now, from, body)));
    t.handle('clusterd.status', () => this.status());
    t.handle('clusterd.subscribe', (_b, c: IncomingContext) => {
      this.subscribers.add(c.src, this.ctx.timers.now());
      return this.status();
    });
    t.handle('clusterd.unsubscribe', (_b, c: IncomingContext) => {
      this.subscribers.remove(c.src);
      return {};
    });
    t.handle('clusterd.set-mode', (body: { mode: ClusterdMode }) => {
      const previous = this.config.mode;
      this.setMode(body.mode, 'clusterd.set-mode request');
      return { mode: this.config.mode, previous };
    });
  }

  activate(): void {
    // Once: later activations (after a transportd restart) find everything running.
    if (!this.core) {
      this.createCore();
      this.legacy.start();
    }
    this.tickTimer ??= this.ctx.timers.setInterval(() => this.perform(this.core!.tick(this.now())), this.opts.tickMs ?? 50);
    this.transportTimer ??= this.ctx.timers.setInterval(() => void this.pollTransport(), this.opts.transportPollMs ?? 500);
  }

  deactivate(reason: string): void {
    // Heartbeats and votes fail while transportd is away; the core keeps
    // ticking so a leader whose lease runs out steps down on time.
    this.log.info({ reason }, 'clusterd cut off from transportd');
  }

  reconfigure(config: ClusterdConfig): void {
    const changed = ['nodes', 'heartbeatIntervalMs', 'deadAfterMs', 'leaseMs', 'clusterLock']
      .filter((k) => JSON.stringify(config[k as keyof ClusterdConfig]) !== JSON.stringify(this.config[k as keyof ClusterdConfig]));
    const mode = config.mode;
    this.config = { ...config, mode: this.config.mode };
    this.setMode(mode, 'configuration reloaded');
    if (changed.length > 0 && this.core) {
      this.log.warn({ changed, reason: 'reload' }, 'membership and timing changes apply when clusterd restarts');
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.tickTimer !== undefined) this.ctx.timers.clearInterval(this.tickTimer);
    if (this.transportTimer !== undefined) this.ctx.timers.clearInterval(this.transportTimer);
    await this.legacy.stop();
    await this.lock?.release();
  }

  status(): ClusterStatus {
    const now = this.now();
    const view = this.core?.view(now);
    const legacy = this.legacy.snapshot;
    const addresses = new Map(this.config.nodes.map((n) => [n.pnn, n.address]));
    const nodes: NodeStatus[] = (view?.nodes ?? []).map((n: NodeView) => ({
      pnn: n.pnn, address: addresses.get(n.pnn) ?? '', state: n.state, legacyFlags: n.legacyFlags ?? null,
      clusterd: n.clusterd, heartbeatAgeMs: n.heartbeatAgeMs ?? null,
    }));
    return {
      node: this.ctx.transport.node,
      mode: this.config.mode,
      leader: view?.leader ?? null,
      epoch: view?.epoch ?? 0,
      leaseRemainingMs: view?.iAmLeader ? (view.leaseRemainingMs ?? null) : null,
      nodes,
      legacy: { reachable: legacy !== undefined, leader: legacy?.leader ?? null },
      differences: { current: this.shadow.current, total: this.shadow.total },
      clusterLock: this.config.clusterLock === undefined ? null : this.lock?.holding ? 'held' : 'not-held',
    };
  }

  private now(): number {
    return this.ctx.timers.now();
  }

  private createCore(): void {
    const self = this.ctx.transport.node;
    if (!this.config.nodes.some((n) => n.pnn === self)) {
      throw new UnknownNodeError(self, 'is this node (transportd says so) but is not in the nodes file');
    }
    const config: CoreConfig = {
      self, nodes: this.config.nodes.map((n) => n.pnn), heartbeatIntervalMs: this.config.heartbeatIntervalMs,
      deadAfterMs: this.config.deadAfterMs, leaseMs: this.config.leaseMs, leaseMarginMs: Math.min(50, this.config.leaseMs / 10),
      candidateStepMs: Math.max(20, Math.min(100, this.config.leaseMs / 8)), lockRequired: this.config.clusterLock !== undefined,
    };
    const initialEpoch = this.epochs.read();
    this.core = new ClusterdCore(config, { now: this.now(), initialEpoch });
    if (this.config.clusterLock !== undefined) {
      this.lock = new ClusterLock({
        spec: this.config.clusterLock, logger: this.log, fcntlHelper: this.opts.fcntlHelper,
        onLost: () => this.perform(this.core!.lockState(this.now(), 'lost')),
      });
    }
    this.log.info({ self, nodes: config.nodes, epoch: initialEpoch, mode: this.config.mode, reason: 'start' }, 'clusterd started');
  }

  /** Runs a heartbeat/vote handler: the sender must be a node of the nodes file and say who it is. */
  private answer(c: IncomingContext, body: { node: number }, handle: (now: number, from: number) => Answer<unknown>): unknown {
    const from = c.src.node;
    if (!this.core) throw new UnknownNodeError(from, 'asked before this clusterd knows its node');
    if (c.src.service !== CLUSTERD_SERVICE) {
      // Only a node's clusterd holds this service (transportd enforces claims); any other local client could otherwise vote for its node.
      this.complaints.warn('not-clusterd', { from, service: c.src.service, type: c.type }, 'clusterd message not from a clusterd; refused');
      throw new NotFromClusterdError(from, c.src.service);
    }
    if (body.node !== from) {
      this.complaints.warn('spoofed', { from, claimed: body.node, type: c.type }, 'clusterd message names another node than its sender; refused');
      throw new UnknownNodeError(body.node, `is not the sender (node ${from})`);
    }
    if (!this.config.nodes.some((n) => n.pnn === from)) {
      this.complaints.warn('unknown-node', { from, type: c.type }, 'clusterd message from a node that is not in the nodes file; refused');
      throw new UnknownNodeError(from, 'is not in the nodes file');
    }
    const { reply, actions } = handle(this.now(), from);
    this.perform(actions);
    // The core refused it (stale epoch, ...): state unchanged, logged by perform(); the sender gets a typed error.
    const refusal = actions.find((a) => a.kind === 'bad-input');
    if (refusal) throw new RefusedInputError(from, refusal.reason);
    return reply;
  }

  private perform(actions: Action[]): void {
    for (const a of actions) {
      switch (a.kind) {
        case 'send-heartbeat':
          this.ctx.transport.request(this.peer(a.to), 'clusterd.heartbeat', a.body, { timeoutMs: Math.max(100, this.config.deadAfterMs / 2) })
            .then((r) => this.perform(this.core!.onHeartbeatReply(this.now(), a.to, r as never)),
              () => this.perform(this.core!.heartbeatFailed(this.now(), a.to)));
          break;
        case 'send-vote':
          this.ctx.transport.request(this.peer(a.to), 'clusterd.vote', a.body, { timeoutMs: this.config.leaseMs })
            .then((r) => this.perform(this.core!.onVoteReply(this.now(), a.to, r as never)),
              () => this.perform(this.core!.voteFailed(this.now(), a.to)));
          break;
        case 'persist-epoch':
          this.epochs.write(a.epoch);
          break;
        case 'acquire-lock':
          void this.lock!.acquire().then((outcome) => {
            if (this.stopped) return;
            this.perform(this.core!.lockState(this.now(), outcome === 'held' ? 'held' : 'unavailable'));
          });
          break;
        case 'release-lock':
          void this.lock?.release();
          break;
        case 'node-changed':
          this.log.info({ pnn: a.node.pnn, state: a.node.state, previous: a.previous ?? null, reason: a.reason }, 'node state changed');
          this.publish({ kind: 'node', reason: a.reason, view: this.nodeStatus(a.node), previousState: a.previous ?? null });
          this.compareWithLegacy();
          break;
        case 'leader-changed':
          this.log.info({ leader: a.leader ?? null, previous: a.previous ?? null, epoch: a.epoch, reason: a.reason }, 'leader changed');
          this.publish({ kind: 'leader', reason: a.reason, leader: a.leader ?? null, previousLeader: a.previous ?? null });
          this.compareWithLegacy();
          break;
        case 'bad-input':
          this.complaints.warn(`bad-input:${a.reason}`, { from: a.from, reason: a.reason }, 'clusterd input refused');
          break;
      }
    }
  }

  private peer(pnn: number): Endpoint {
    return { node: pnn, service: CLUSTERD_SERVICE };
  }

  private nodeStatus(n: NodeView): NodeStatus {
    const address = this.config.nodes.find((c) => c.pnn === n.pnn)?.address ?? '';
    return {
      pnn: n.pnn, address, state: n.state, legacyFlags: n.legacyFlags ?? null, clusterd: n.clusterd,
      heartbeatAgeMs: n.heartbeatAgeMs ?? null,
    };
  }

  private publish(event: Omit<ClusterEvent, 'seq' | 'node' | 'epoch'> & { epoch?: number }): void {
    const now = this.now();
    const full: ClusterEvent = {
      seq: ++this.eventSeq, node: this.ctx.transport.node, epoch: this.core?.view(now).epoch ?? 0, ...event,
    };
    for (const sub of this.subscribers.current(now)) {
      try {
        this.ctx.transport.send(sub, 'clusterd.event', full);
      } catch (err) {
        this.complaints.warn('event-send', { subscriber: sub, err }, 'could not send a clusterd event');
      }
    }
  }

  private setMode(mode: ClusterdMode, reason: string): void {
    if (mode === this.config.mode) return;
    const previous = this.config.mode;
    this.config = { ...this.config, mode };
    this.log.info({ mode, previous, reason }, 'clusterd mode changed');
    this.publish({ kind: 'mode', reason, mode });
  }

  private onLegacy(snapshot: LegacySnapshot | undefined): void {
    if (!this.core) return;
    this.perform(this.core.legacyView(this.now(), snapshot?.nodes));
    this.compareWithLegacy();
  }

  private compareWithLegacy(): void {
    if (!this.core) return;
    const view = this.core.view(this.now());
    const fresh = this.shadow.update(differences({ nodes: view.nodes, leader: view.leader, legacy: this.legacy.snapshot }));
    for (const d of fresh) {
      this.log.info({ subject: d.subject, ours: d.ours, legacy: d.legacy, total: this.shadow.total, mode: this.config.mode },
        'clusterd view differs from ctdbd');
    }
  }

  private async pollTransport(): Promise<void> {
    if (!this.core || !this.ctx.transport.connected) return;
    try {
      const status = await this.ctx.transport.request<TransportStatus>(
        { node: LOCAL_NODE, service: BUILTIN_SERVICE }, 'transport.status', {}, { timeoutMs: 2000 });
      for (const n of status.nodes) {
        if (n.node === status.node) continue;
        this.perform(this.core.transportNodeState(this.now(), n.node, n.state as never));
      }
    } catch (err) {
      this.complaints.warn('transport-status', { err }, 'could not read transportd status');
    }
  }
}
