// Imported, not the global: Node defines global Buffer as a getter, a call per use.
import { Buffer } from 'node:buffer';
import { readFile, unlink, writeFile } from 'node:fs/promises';
import type { Logger } from '../common/log.ts';
import { createLogger } from '../common/log.ts';
import {
  ControlFlag, FIRST_REQID, KEEPALIVE_VERSION_4_17, Node, NodeFlag, Operation, RecoveryMode, RunState,
} from '../protocol/constants.ts';
import { ClientFace, type ClientConn } from './client-face.ts';
import { ClusterState, timevalNow } from './cluster-state.ts';
import { candidateAddresses, type DaemonConfig } from './config.ts';
import { buildControlTable } from './controls/index.ts';
import type { ControlRequest, ControlResult, ControlTable } from './controls/types.ts';
import { pinoLevelFor } from './debug-levels.ts';
import { DaemonStartError, PacketBoundsError } from './errors.ts';
import {
  buildKeepalive, buildMessage, buildReplyCall, buildReplyControl, buildReqControl, C, CALL, copyPacket, H, M,
  R, reusePacket, sizeLie, T, validMagic, type SizeLie,
} from './fast-packets.ts';
import { KeepaliveMonitor } from './keepalive.ts';
import { MemoryBudget, type BudgetClock, type MemoryLimits } from './memory-budget.ts';
import { isInternal, SrvidRegistry, TunnelRegistry, type InternalListener } from './messaging.ts';
import { NodeLinks } from './node-links.ts';
import { PendingControls, type PendingControl } from './pending-controls.ts';
import type { SsRunner } from './peer-cred.ts';
import { Recoverd } from './recoverd.ts';
import { newStatistics } from './statistics.ts';
import { pinTickObjectShape } from '../common/tick-shape.ts';
import { Tunables } from './tunables.ts';
import { Srvid } from '../protocol/srvid.ts';
import { PublicIpTable } from './public-ips.ts';
import type { IpEventRunner } from './ip-events.ts';
import { IpEventRelay } from './ip-event-relay.ts';
import { TickleTracker } from './tcp-tickles.ts';
import { releaseAllPublicIps } from './controls/public-ips.ts';

/**
 * The embedded, wire-compatible ctdbd: one node. Wires the unix-socket face,
 * the node-to-node links, keepalives, the control handlers, messages and
 * tunnels, and the recovery-daemon module (leader election). Packet routing
 * follows behaviour.md §1-§4; the hot paths read and patch headers in place
 * (fast-packets.ts) instead of decoding into objects.
 */

export interface DaemonTiming {
  keepaliveIntervalMs: number;
  keepaliveLimit: number;
  leaderTimeoutMs: number;
  electionTimeoutMs: number;
  electionRebroadcastMs: number;
  recoverIntervalMs: number;
  rerecoveryTimeoutMs: number;
  controlTimeoutMs: number;
  connectTimeoutMs: number;
  reconnectIntervalMs: number;
  /**
   * At startup, before any leader or election was heard of: once every node
   * is connected, start the first election after this long instead of
   * waiting out the leader timeout. Infinity (the default) waits as ctdbd does.
   */
  startupElectionDelayMs: number;
}

/**
 * `ctdb-bridge node --quick-start`, the embedded local cluster's default:
 * one machine, every node on loopback, so the first election starts as soon
 * as all nodes are connected and ends after 0.5 s of quiet instead of
 * ctdbd's 5 s leader timeout plus 3 s ElectionTimeout. Only waits change:
 * the tunables (`ctdb getvar ElectionTimeout`) and the outcome (`ctdb
 * status`) stay ctdbd's. Later elections (a leader died) use the same short
 * election period; the leader timeout itself is unchanged.
 */
export const QUICK_START_TIMING: Readonly<Partial<DaemonTiming>> = {
  startupElectionDelayMs: 0,
  electionTimeoutMs: 500,
  electionRebroadcastMs: 100,
};

export interface DaemonOptions {
  config: DaemonConfig;
  logger?: Logger;
  /** Overrides of timer values (tests); unset ones follow the tunables / ctdb.conf. */
  timing?: Partial<DaemonTiming>;
  /** Write run/ctdbd.pid (default true). */
  writePidFile?: boolean;
  /** Called once the daemon stopped because of a SHUTDOWN control or a fatal condition. */
  onShutdown?: (reason: string) => void;
  /** Keepalive version sent and expected (default 4.17's). */
  keepaliveVersion?: number;
  ss?: SsRunner;
  /** Memory budget for incomplete packets (memory-budget.ts); unset limits take the defaults. */
  memory?: Partial<MemoryLimits>;
  /** Clock and timer of the budget's time limit (tests). */
  budgetClock?: BudgetClock;
  /** Runs takeip / releaseip / ipreallocated on this host (ip-events.ts); unset: the record only. */
  ipEvents?: IpEventRunner;
}

export interface ControlReply {
  status: number;
  data: Buffer;
  error: string;
}

const DISCONNECTED_TEXT = Buffer.from('ctdb_control to disconnected node');
const NODE_DEAD_TEXT = Buffer.from('node is disconnected');
const TIMED_OUT_TEXT = Buffer.from('ctdb_control timed out');
const CLIENT_LIE_TEXT = Buffer.from('ctdb_control with inconsistent lengths');
/** ctdbd counts its recovery daemon among the clients (PING, statistics). */
const INTERNAL_CLIENTS = 1;

export class Daemon {
  readonly config: DaemonConfig;
  readonly log: Logger;
  readonly tunables = new Tunables();
  readonly stats = newStatistics();
  readonly srvids = new SrvidRegistry();
  readonly tunnels = new TunnelRegistry();
  readonly startTime = timevalNow();
  state!: ClusterState;
  /** This node's public addresses and who holds them (set at start, once the PNN is known). */
  publicIps!: PublicIpTable;
  ipEvents: IpEventRunner | undefined;
  /** Connections per public address, for the tickle ACKs after a takeover (set at start). */
  tickles!: TickleTracker;
  pnn = -1;
  address = '';
  debugLevel: number;
  readonly clientFace: ClientFace;
  /** Bytes held for incomplete packets, client and node connections together. */
  readonly budget: MemoryBudget;
  links: NodeLinks | undefined;
  recoverd!: Recoverd;
  /** Client id of the in-process recovery daemon. */
  recoverdClientId = 0;
  readonly keepaliveVersion: number;
  private keepalive: KeepaliveMonitor | undefined;
  private readonly controls: ControlTable;
  private readonly pending = new PendingControls();
  private nextReqid = FIRST_REQID;
  private readonly usedIds = new Set<number>();
  private sweeper: NodeJS.Timeout | undefined;
  private readonly timingOverrides: Partial<DaemonTiming>;
  private running = false;
  private stopping: Promise<void> | undefined;
  /** REGISTER_NOTIFY blobs per client, sent when the client goes away. */
  readonly notifies = new Map<ClientConn, Map<bigint, Buffer>>();

  constructor(private readonly opts: DaemonOptions) {
    this.config = opts.config;
    this.debugLevel = this.config.logLevel;
    this.log = opts.logger ?? createLogger({ component: 'daemon', level: pinoLevelFor(this.debugLevel) });
    this.timingOverrides = opts.timing ?? {};
    this.keepaliveVersion = opts.keepaliveVersion ?? KEEPALIVE_VERSION_4_17;
    this.ipEvents = opts.ipEvents;
    this.tunables.applyFile(this.config.tunables, `${this.config.base}/ctdb.tunables`);
    this.controls = buildControlTable();
    this.budget = new MemoryBudget(opts.memory, this.log, opts.budgetClock);
    this.clientFace = new ClientFace({
      budget: this.budget,
      socketPath: this.config.socketPath,
      logger: this.log,
      allocateClientId: () => this.allocateClientIdPersistent(),
      releaseClientId: (id) => this.usedIds.delete(id),
      onPacket: (c, p) => this.onClientPacket(c, p),
      onClose: (c) => this.onClientClose(c),
      maxQueuedPackets: () => this.tunables.get('MaxQueueDropMsg'),
      ss: opts.ss,
    });
  }

  timing<K extends keyof DaemonTiming>(key: K): DaemonTiming[K] {
    const o = this.timingOverrides[key];
    if (o !== undefined) return o;
    const t = this.tunables;
    switch (key) {
      case 'keepaliveIntervalMs': return t.get('KeepaliveInterval') * 1000;
      case 'keepaliveLimit': return t.get('KeepaliveLimit');
      case 'leaderTimeoutMs': return this.config.leaderTimeoutSec * 1000;
      case 'electionTimeoutMs': return t.get('ElectionTimeout') * 1000;
      case 'electionRebroadcastMs': return 500;
      case 'recoverIntervalMs': return t.get('RecoverInterval') * 1000;
      case 'rerecoveryTimeoutMs': return t.get('RerecoveryTimeout') * 1000;
      case 'controlTimeoutMs': return t.get('ControlTimeout') * 1000;
      case 'startupElectionDelayMs': return Infinity;
      default: return 1000; // connect timeout, reconnect interval
    }
  }

  get generation(): number {
    return this.state.vnnMap.generation;
  }

  /** Number of clients as ctdbd reports it (its recovery daemon included). */
  get clientCount(): number {
    return this.clientFace.count + INTERNAL_CLIENTS;
  }

  // ---------------------------------------------------------------- lifecycle

  async start(): Promise<void> {
    if (this.running) return;
    pinTickObjectShape(); // keeps every socket event's nextTick on V8's fast path (see tick-shape.ts)
    await this.bindNodeAddress();
    const log = this.log.child({ node: this.pnn });
    (this as { log: Logger }).log = log;
    this.links!.setLogger(log);
    this.budget.setLogger(log);
    this.state = new ClusterState(this.config.nodes, this.pnn, this.config);
    this.publicIps = new PublicIpTable(this.pnn, this.config.publicAddresses);
    this.ipEvents ??= new IpEventRelay({
      pnn: this.pnn,
      log,
      hasListener: (srvid) => (this.srvids.listenersOf(srvid)?.length ?? 0) > 0,
      sendMessage: (dest, srvid, data) => this.sendMessage(dest, srvid, data),
      onMessage: (srvid, handle) => { this.registerInternal(srvid, 'ip-events', (_s, data) => handle(data)); },
    });
    this.tickles = new TickleTracker({
      pnn: this.pnn,
      log,
      hosts: (address) => this.publicIps.hosts(address),
      hostedAddresses: () => this.publicIps.hosted().map((h) => h.address),
      connectedPeers: () => this.state.broadcastTargets(Node.BROADCAST_CONNECTED).filter((p) => p !== this.pnn),
      sendNoReply: (pnn, opcode, data) => { void this.sendControl(pnn, opcode, data, { flags: ControlFlag.NOREPLY }); },
      updateIntervalMs: () => this.tunables.get('TickleUpdateInterval') * 1000,
    });
    if (this.config.startAsStopped) this.state.setOwnFlags(NodeFlag.STOPPED, 0);
    if (this.config.startAsDisabled) this.state.setOwnFlags(NodeFlag.PERMANENTLY_DISABLED, 0);
    this.state.runState = RunState.SETUP;
    this.stats.statisticsStartTime = { sec: this.startTime[0], usec: this.startTime[1] };
    if (this.opts.writePidFile !== false) await this.writePidFile();
    this.recoverdClientId = this.allocateClientIdPersistent();
    try {
      await this.clientFace.start();
    } catch (err) {
      await this.links?.stop();
      throw err;
    }
    this.running = true;
    this.recoverd = new Recoverd(this);
    this.keepalive = new KeepaliveMonitor(this.config.nodes.length, {
      connectedPeers: () => this.state.nodes
        .filter((n) => n.pnn !== this.pnn && (n.flags & (NodeFlag.DISCONNECTED | NodeFlag.DELETED)) === 0)
        .map((n) => n.pnn),
      sendKeepalive: (pnn) => this.sendKeepalive(pnn),
      declareDead: (pnn, reason) => this.nodeDead(pnn, reason),
    }, () => this.timing('keepaliveIntervalMs'), () => this.timing('keepaliveLimit'));
    this.keepalive.start();
    this.tickles.start();
    this.budget.start();
    this.sweeper = setInterval(() => this.sweepPending(), 1000);
    this.sweeper.unref?.();
    this.state.runState = RunState.FIRST_RECOVERY;
    this.links!.connectAll();
    this.recoverd.start();
    log.info({ address: this.address, socket: this.config.socketPath, pid: process.pid }, 'embedded ctdbd started');
  }

  /** Finds our PNN: the configured node address, else the first listed address that binds. */
  private async bindNodeAddress(): Promise<void> {
    const errors: string[] = [];
    for (const address of candidateAddresses(this.config)) {
      const entry = this.config.nodes.find((n) => !n.deleted && n.address === address)!;
      const links = new NodeLinks({
        ownAddress: address,
        port: this.config.port,
        peers: this.config.nodes.filter((n) => !n.deleted && n.pnn !== entry.pnn).map((n) => ({ pnn: n.pnn, address: n.address })),
        logger: this.log,
        onPacket: (pnn, p) => this.onNodePacket(pnn, p),
        onConnected: (pnn) => this.nodeConnected(pnn),
        onLinkFailure: (pnn, reason) => this.nodeDead(pnn, reason),
        connectTimeoutMs: this.timing('connectTimeoutMs'),
        reconnectIntervalMs: this.timing('reconnectIntervalMs'),
        budget: this.budget,
      });
      try {
        await links.listen();
        this.links = links;
        this.pnn = entry.pnn;
        this.address = address;
        return;
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    throw new DaemonStartError(`no node address could be bound: ${errors.join('; ')}`);
  }

  private async writePidFile(): Promise<void> {
    const path = this.config.pidFile;
    const old = await readFile(path, 'utf8').catch(() => undefined);
    const oldPid = old ? Number(old.trim()) : NaN;
    if (Number.isInteger(oldPid) && oldPid > 0 && oldPid !== process.pid && isAlive(oldPid)) {
      await this.links?.stop();
      throw new DaemonStartError(`pid file ${path} names running process ${oldPid}: another ctdbd is running`);
    }
    await writeFile(path, `${process.pid}\n`);
  }

  /** Stops everything; safe to call more than once. */
  stop(reason = 'stopped'): Promise<void> {
    if (!this.stopping) this.stopping = this.doStop(reason);
    return this.stopping;
  }

  private async doStop(reason: string): Promise<void> {
    this.log.info({ reason }, 'embedded ctdbd stopping');
    if (this.state) this.state.runState = RunState.SHUTDOWN;
    if (this.publicIps) await releaseAllPublicIps(this);
    if (this.ipEvents instanceof IpEventRelay) this.ipEvents.stop();
    this.running = false;
    this.recoverd?.stop();
    this.keepalive?.stop();
    this.tickles?.stop();
    if (this.sweeper) clearInterval(this.sweeper);
    this.budget.stop();
    for (const p of this.pending.takeWhere(() => true)) {
      p.resolve?.({ status: -1, data: Buffer.alloc(0), error: 'daemon shutting down' });
    }
    await this.links?.stop();
    await this.clientFace.stop();
    if (this.opts.writePidFile !== false) {
      const content = await readFile(this.config.pidFile, 'utf8').catch(() => '');
      if (content.trim() === String(process.pid)) await unlink(this.config.pidFile).catch(() => undefined);
    }
  }

  /** SHUTDOWN control or fatal condition: stop and tell the owner. */
  shutdown(reason: string): void {
    void this.stop(reason).then(() => this.opts.onShutdown?.(reason));
  }

  // ------------------------------------------------------------ id allocation

  /** Request ids and client ids share ctdbd's pool (never 0). */
  allocateId(): number {
    for (;;) {
      const id = this.nextReqid;
      this.nextReqid = id >= 0x7fffffff ? 1 : id + 1;
      if (!this.pending.has(id) && !this.usedIds.has(id)) {
        return id;
      }
    }
  }

  private allocateClientIdPersistent(): number {
    const id = this.allocateId();
    this.usedIds.add(id);
    return id;
  }

  // ---------------------------------------------------------- client packets

  private onClientPacket(client: ClientConn, p: Buffer): void {
    this.stats.clientPacketsRecv++;
    if (!validMagic(p)) {
      this.log.warn({ clientId: client.clientId }, 'packet with bad magic or version from client: dropped');
      return;
    }
    const lie = sizeLie(p);
    if (lie) {
      this.clientLie(client, p, lie);
      return;
    }
    try {
      switch (p.readUInt32LE(H.OPERATION)) {
        case Operation.REQ_CONTROL: this.clientControl(client, p); break;
        case Operation.REQ_MESSAGE: this.clientMessage(p); break;
        case Operation.REQ_TUNNEL: this.clientTunnel(p); break;
        case Operation.REQ_CALL: this.clientCall(client, p); break;
        default:
          this.log.warn({ clientId: client.clientId, operation: p.readUInt32LE(H.OPERATION) },
            'client sent an operation clients may not send: dropped');
      }
    } catch (err) {
      // A size check missed above: the copy refused to read past the packet. Drop it, stay up.
      if (!(err instanceof PacketBoundsError)) throw err;
      this.log.error({ clientId: client.clientId, err: err.message }, 'client packet refused by a packet copy: dropped');
    }
  }

  /**
   * A client packet whose declared sizes exceed it: dropped, logged; a control
   * that expects a reply gets an error (a broadcast one gets nothing, as always).
   */
  private clientLie(client: ClientConn, p: Buffer, lie: SizeLie): void {
    this.log.warn({ clientId: client.clientId, operation: lie.operation, field: lie.field, ...lie.declared, end: lie.end, length: lie.length },
      'client packet with inconsistent lengths: dropped');
    if (lie.operation !== Operation.REQ_CONTROL) return;
    const flags = p.length >= C.FLAGS + 4 ? p.readUInt32LE(C.FLAGS) : 0;
    const dest = p.readUInt32LE(H.DESTNODE);
    const broadcast = dest === Node.BROADCAST_ALL || dest === Node.BROADCAST_ACTIVE || dest === Node.BROADCAST_CONNECTED;
    if ((flags & ControlFlag.NOREPLY) !== 0 || broadcast) return;
    client.sendPacket(buildReplyControl(this.generation, 0, this.pnn, p.readUInt32LE(H.REQID), -1, undefined, CLIENT_LIE_TEXT));
    this.stats.clientPacketsSent++;
  }

  /** Sizes were checked by onClientPacket (sizeLie). */
  private clientControl(client: ClientConn, p: Buffer): void {
    this.stats.client.reqControl++;
    let dest = p.readUInt32LE(H.DESTNODE);
    const reqid = p.readUInt32LE(H.REQID);
    const flags = p.readUInt32LE(C.FLAGS);
    const noreply = (flags & ControlFlag.NOREPLY) !== 0;
    if (dest === Node.CURRENT) dest = this.pnn;
    if (dest === Node.BROADCAST_ALL || dest === Node.BROADCAST_ACTIVE || dest === Node.BROADCAST_CONNECTED) {
      // ctdbd refuses broadcasts that expect replies and sends nothing at all.
      if (!noreply) {
        this.log.warn({ clientId: client.clientId, dest }, 'broadcast control without NOREPLY: ignored');
        return;
      }
      const datalen = p.readUInt32LE(C.DATALEN);
      for (const target of this.state.broadcastTargets(dest)) {
        if (target === this.pnn) {
          void this.execute(this.requestFrom(p, this.pnn, client.clientId, client));
        } else {
          this.sendNode(target, copyPacket(p, C.DATA + datalen, C.CMIN, this.generation, target, this.pnn, this.allocateId()),
            Operation.REQ_CONTROL, client.clientId);
        }
      }
      return;
    }
    if (dest === this.pnn) {
      const req = this.requestFrom(p, this.pnn, client.clientId, client);
      const r = this.execute(req);
      if (noreply) return;
      if (r instanceof Promise) {
        void r.then((res) => this.replyToClient(client, reqid, res));
      } else {
        this.replyToClient(client, reqid, r);
      }
      return;
    }
    if (!this.state.isConnected(dest)) {
      if (!noreply) {
        client.sendPacket(buildReplyControl(this.generation, 0, this.pnn, reqid, -1, undefined, DISCONNECTED_TEXT));
        this.stats.clientPacketsSent++;
      }
      return;
    }
    const ourReqid = this.allocateId();
    const datalen = p.readUInt32LE(C.DATALEN);
    const out = reusePacket(p, C.DATA + datalen, C.CMIN, this.generation, dest, this.pnn, ourReqid);
    out.writeUInt32LE(client.clientId, C.CLIENT_ID);
    if (!this.sendNode(dest, out, Operation.REQ_CONTROL)) {
      if (!noreply) this.replyToClient(client, reqid, { status: -1, error: 'ctdb_control to disconnected node' });
      return;
    }
    // Registered after the write (the packet leaves sooner): its reply cannot
    // be read before this handler returns.
    if (!noreply) {
      this.pending.add(ourReqid, {
        destnode: dest, deadline: Date.now() + this.timing('controlTimeoutMs'), client, clientReqid: reqid,
      });
    }
  }

  private requestFrom(p: Buffer, srcnode: number, clientId: number, client: ClientConn | undefined): ControlRequest {
    const datalen = p.readUInt32LE(C.DATALEN);
    return {
      opcode: p.readUInt32LE(C.OPCODE),
      srvid: p.readBigUInt64LE(C.SRVID),
      clientId,
      flags: p.readUInt32LE(C.FLAGS),
      // Handlers may keep the data: copy small payloads out of the shared chunk.
      data: datalen === 0 ? EMPTY : Buffer.from(p.subarray(C.DATA, C.DATA + datalen)),
      srcnode,
      client,
    };
  }

  private replyToClient(client: ClientConn, reqid: number, r: ControlResult): void {
    const err = r.error ? Buffer.from(r.error) : undefined;
    client.sendPacket(buildReplyControl(this.generation, 0, this.pnn, reqid, r.status, r.data, err));
    this.stats.clientPacketsSent++;
  }

  /** Runs a control on this node. Unknown opcodes answer -1 without data. */
  execute(req: ControlRequest): ControlResult | Promise<ControlResult> {
    const handler = this.controls.get(req.opcode);
    if (!handler) {
      this.log.debug({ opcode: req.opcode, srcnode: req.srcnode }, 'unknown or unsupported control');
      return { status: -1 };
    }
    try {
      const r = handler(req, this);
      if (r instanceof Promise) {
        return r.catch((err: unknown) => {
          this.log.error({ opcode: req.opcode, err: (err as Error).message }, 'control handler failed');
          return { status: -1, error: (err as Error).message };
        });
      }
      return r;
    } catch (err) {
      this.log.error({ opcode: req.opcode, err: (err as Error).message }, 'control handler failed');
      return { status: -1, error: (err as Error).message };
    }
  }

  private clientMessage(p: Buffer): void {
    this.stats.client.reqMessage++;
    let dest = p.readUInt32LE(H.DESTNODE);
    if (dest === Node.CURRENT) dest = this.pnn;
    this.routeMessage(p, dest);
  }

  /** Sends a message packet (ours to patch) to a node, a broadcast set, or locally. */
  private routeMessage(p: Buffer, dest: number): void {
    const exact = M.DATA + p.readUInt32LE(M.DATALEN);
    if (dest === this.pnn) {
      this.deliverMessage(p, exact);
      return;
    }
    if (dest === Node.BROADCAST_ALL || dest === Node.BROADCAST_ACTIVE || dest === Node.BROADCAST_CONNECTED) {
      let local = false;
      for (const target of this.state.broadcastTargets(dest)) {
        if (target === this.pnn) local = true;
        else if (this.state.isConnected(target)) {
          this.sendNode(target, copyPacket(p, exact, M.CMIN, this.generation, target, this.pnn, 0), Operation.REQ_MESSAGE);
        }
      }
      if (local) this.deliverMessage(p, exact);
      return;
    }
    if (!this.state.isValidNode(dest)) {
      this.log.warn({ dest }, 'message for a node outside the nodes list: dropped');
      return;
    }
    if (this.state.isConnected(dest)) {
      this.sendNode(dest, reusePacket(p, exact, M.CMIN, this.generation, dest, this.pnn, 0), Operation.REQ_MESSAGE);
    }
  }

  /** Hands a message to every local listener of its SRVID (one shared packet). */
  private deliverMessage(p: Buffer, exact: number): void {
    const srvid = p.readBigUInt64LE(M.SRVID);
    const own = this.srvids.listenersOf(srvid);
    const all = srvid === Srvid.ALL ? undefined : this.srvids.allListeners();
    if (!own && !all) return;
    let out: Buffer | undefined;
    // Copies: a handler may (de)register while we iterate.
    for (const list of [own && own.length > 1 ? own.slice() : own, all?.slice()]) {
      if (!list) continue;
      for (let i = 0; i < list.length; i++) {
        const l = list[i];
        if (isInternal(l)) {
          l.handle(srvid, p.subarray(M.DATA, exact));
          continue;
        }
        out ??= reusePacket(p, exact, M.CMIN, this.generation, 0, this.pnn, 0);
        l.sendPacket(out);
        this.stats.clientPacketsSent++;
      }
    }
  }

  private clientTunnel(p: Buffer): void {
    this.stats.client.reqTunnel++;
    const dest = p.readUInt32LE(H.DESTNODE);
    // Only a concrete node; CURRENT_NODE and broadcasts are dropped silently (as ctdbd).
    if (!this.state.isValidNode(dest)) return;
    const tunnelId = p.readBigUInt64LE(T.TUNNEL_ID);
    if (!this.tunnels.holder(tunnelId)) return;
    const exact = T.DATA + p.readUInt32LE(T.DATALEN);
    const out = reusePacket(p, exact, T.CMIN, this.generation, dest, this.pnn, 0);
    if (dest === this.pnn) {
      setImmediate(() => this.deliverTunnel(out));
    } else if (this.state.isConnected(dest)) {
      this.sendNode(dest, out, Operation.REQ_TUNNEL);
    }
  }

  private deliverTunnel(p: Buffer): void {
    const tunnelId = p.readBigUInt64LE(T.TUNNEL_ID);
    const holder = this.tunnels.holder(tunnelId);
    if (!holder) {
      this.log.info({ tunnelId: `0x${tunnelId.toString(16)}` }, 'tunnel packet for an unregistered tunnel id: discarded');
      return;
    }
    const exact = T.DATA + p.readUInt32LE(T.DATALEN);
    holder.sendPacket(reusePacket(p, exact, T.CMIN, this.generation, 0, this.pnn, 0));
    this.stats.clientPacketsSent++;
  }

  private clientCall(client: ClientConn, p: Buffer): void {
    this.stats.client.reqCall++;
    const reqid = p.readUInt32LE(H.REQID);
    const dbId = p.readUInt32LE(CALL.DB_ID);
    this.log.warn({ clientId: client.clientId, dbId: `0x${dbId.toString(16)}` },
      'REQ_CALL: the embedded daemon has no databases yet');
    client.sendPacket(buildReplyCall(this.generation, 0, this.pnn, reqid, -1));
    this.stats.clientPacketsSent++;
  }

  private onClientClose(client: ClientConn): void {
    this.srvids.removeListener(client);
    this.tunnels.removeClient(client);
    this.tickles?.clientGone(client.clientId);
    // Outstanding forwarded controls of this client: answers are dropped.
    this.pending.takeWhere((p) => p.client === client);
    const notifies = this.notifies.get(client);
    if (notifies) {
      this.notifies.delete(client);
      for (const [srvid, data] of notifies) this.sendMessage(Node.BROADCAST_CONNECTED, srvid, data);
    }
  }

  // ------------------------------------------------------------ node packets

  private onNodePacket(linkPnn: number, p: Buffer): void {
    this.stats.nodePacketsRecv++;
    const lie = sizeLie(p);
    if (lie) {
      this.nodeLie(linkPnn, p, lie);
      return;
    }
    const srcnode = p.readUInt32LE(H.SRCNODE);
    const op = p.readUInt32LE(H.OPERATION);
    if (!(op === Operation.REQ_CALL && p.readUInt32LE(44) > 0)) this.keepalive?.received(srcnode);
    switch (op) {
      case Operation.REQ_KEEPALIVE: this.nodeKeepalive(linkPnn, p); break;
      case Operation.REQ_CONTROL: this.nodeControl(p); break;
      case Operation.REPLY_CONTROL: this.nodeReplyControl(p); break;
      case Operation.REQ_MESSAGE:
        this.stats.node.reqMessage++;
        this.deliverMessage(p, M.DATA + p.readUInt32LE(M.DATALEN));
        break;
      case Operation.REQ_TUNNEL:
        this.stats.node.reqTunnel++;
        this.deliverTunnel(p);
        break;
      case Operation.REQ_CALL: this.nodeCall(p); break;
      default:
        this.log.debug({ peer: linkPnn, op }, 'node packet for an operation the embedded daemon does not handle: dropped');
    }
  }

  /**
   * A node packet whose declared sizes exceed it is a framing violation of
   * that link, as a bad length is for ctdbd: the link is failed (node dead,
   * both connections reset). A control waiting for this reply gets an error
   * of its own, never bytes of the lie's size.
   */
  private nodeLie(linkPnn: number, p: Buffer, lie: SizeLie): void {
    this.log.warn({ peer: linkPnn, operation: lie.operation, field: lie.field, ...lie.declared, end: lie.end, length: lie.length },
      'node packet with inconsistent lengths: failing the link');
    if (lie.operation === Operation.REPLY_CONTROL) {
      const reqid = p.readUInt32LE(H.REQID);
      const pend = this.pending.take(reqid);
      // A control pending at another node is not this liar's to fail.
      if (pend && pend.destnode !== linkPnn) this.pending.add(reqid, pend);
      else if (pend) this.failPending(pend, Buffer.from(`ctdb_control reply from node ${linkPnn} had inconsistent lengths`));
    }
    this.nodeDead(linkPnn, `packet with inconsistent lengths (${lie.field})`);
  }

  /** Sizes were checked by onNodePacket (sizeLie). */
  private nodeControl(p: Buffer): void {
    this.stats.node.reqControl++;
    const srcnode = p.readUInt32LE(H.SRCNODE);
    const reqid = p.readUInt32LE(H.REQID);
    const noreply = (p.readUInt32LE(C.FLAGS) & ControlFlag.NOREPLY) !== 0;
    const req = this.requestFrom(p, srcnode, p.readUInt32LE(C.CLIENT_ID), undefined);
    const r = this.execute(req);
    if (noreply) return;
    if (r instanceof Promise) void r.then((res) => this.answerNode(srcnode, reqid, res));
    else this.answerNode(srcnode, reqid, r);
  }

  private answerNode(srcnode: number, reqid: number, res: ControlResult): void {
    const err = res.error ? Buffer.from(res.error) : undefined;
    this.sendNode(srcnode, buildReplyControl(this.generation, srcnode, this.pnn, reqid, res.status, res.data, err), Operation.REPLY_CONTROL);
  }

  private nodeReplyControl(p: Buffer): void {
    this.stats.node.replyControl++;
    const reqid = p.readUInt32LE(H.REQID);
    const pend = this.pending.take(reqid);
    if (!pend) return;
    if (pend.client) {
      if (pend.client.closed) return;
      // Sizes were checked by onNodePacket (sizeLie): dl + el bytes are there.
      const dl = p.readUInt32LE(R.DATALEN);
      const el = p.readUInt32LE(R.ERRORLEN);
      pend.client.sendPacket(reusePacket(p, R.DATA + dl + el, R.CMIN, this.generation, 0, this.pnn, pend.clientReqid!));
      this.stats.clientPacketsSent++;
    } else if (pend.resolve) {
      const dl = p.readUInt32LE(R.DATALEN);
      const el = p.readUInt32LE(R.ERRORLEN);
      const data = Buffer.from(p.subarray(R.DATA, R.DATA + dl));
      let error = p.toString('utf8', R.DATA + dl, R.DATA + dl + el);
      if (error.endsWith('\0')) error = error.slice(0, -1);
      pend.resolve({ status: p.readInt32LE(R.STATUS), data, error });
    }
  }

  private nodeCall(p: Buffer): void {
    this.stats.node.reqCall++;
    // Call traffic from another generation is dropped silently (behaviour.md §2).
    if (p.readUInt32LE(H.GENERATION) !== this.generation || this.state.selfInactive) return;
    const srcnode = p.readUInt32LE(H.SRCNODE);
    const dbId = p.readUInt32LE(CALL.DB_ID);
    const msg = Buffer.from(`Unknown database in request. db_id==0x${dbId.toString(16).padStart(8, '0')}\0`);
    const b = Buffer.alloc(Math.max(48, (40 + msg.length + 7) & ~7));
    b.writeUInt32LE(b.length, 0);
    b.writeUInt32LE(0x43544442, 4);
    b.writeUInt32LE(1, 8);
    b.writeUInt32LE(this.generation, 12);
    b.writeUInt32LE(Operation.REPLY_ERROR, 16);
    b.writeUInt32LE(srcnode, 20);
    b.writeUInt32LE(this.pnn, 24);
    b.writeUInt32LE(p.readUInt32LE(H.REQID), 28);
    b.writeInt32LE(-1, 32);
    b.writeUInt32LE(msg.length, 36);
    msg.copy(b, 40);
    this.sendNode(srcnode, b, Operation.REPLY_ERROR);
  }

  private nodeKeepalive(linkPnn: number, p: Buffer): void {
    this.stats.keepalivePacketsRecv++;
    if (this.tunables.get('AllowMixedVersions') === 1) return;
    if (p.length < 40) {
      this.fatal(`node ${linkPnn} sent a keepalive without version: an old version is running`);
      return;
    }
    const version = p.readUInt32LE(32);
    if (version === this.keepaliveVersion) return;
    const peerUptime = p.readUInt32LE(36);
    const ours = this.uptimeSeconds();
    if (peerUptime > ours || (peerUptime === ours && version > this.keepaliveVersion)) {
      this.fatal(`node ${linkPnn} runs version 0x${version.toString(16)} and has been up longer: shutting down`);
    }
  }

  private fatal(reason: string): void {
    this.log.error({ reason }, 'fatal condition');
    this.shutdown(reason);
  }

  uptimeSeconds(): number {
    return Math.floor(Date.now() / 1000) - this.startTime[0];
  }

  // ------------------------------------------------------------------ links

  /** Writes a packet to a node (or loops it back next turn when it is us). */
  private sendNode(pnn: number, packet: Buffer, op: number, _clientId?: number): boolean {
    if (pnn === this.pnn) {
      setImmediate(() => this.onNodePacket(pnn, packet));
      return true;
    }
    if (!this.links?.send(pnn, packet)) return false;
    this.stats.nodePacketsSent++;
    if (op === Operation.REQ_KEEPALIVE) this.stats.keepalivePacketsSent++;
    return true;
  }

  private sendKeepalive(pnn: number): void {
    this.sendNode(pnn, buildKeepalive(this.generation, pnn, this.pnn, this.keepaliveVersion, this.uptimeSeconds()), Operation.REQ_KEEPALIVE);
  }

  private nodeConnected(pnn: number): void {
    this.state.markConnected(pnn);
    this.keepalive?.reset(pnn);
    const connected = this.state.nodes.filter((n) => n.pnn !== this.pnn && this.state.isConnected(n.pnn)).length;
    this.log.info({ peer: pnn, address: this.state.node(pnn)?.address, connected }, 'node connected');
    // Send a keepalive right away so the peer sees traffic from us.
    this.sendKeepalive(pnn);
    this.recoverd?.nodeConnected();
  }

  /** A node failed: flags, both links reset, its pending controls fail. */
  nodeDead(pnn: number, reason: string): void {
    const node = this.state.node(pnn);
    if (!node || pnn === this.pnn) return;
    const wasUp = (node.flags & NodeFlag.DISCONNECTED) === 0;
    this.state.markDead(pnn);
    this.links?.reset(pnn);
    this.keepalive?.reset(pnn);
    for (const p of this.pending.takeWhere((w) => w.destnode === pnn)) this.failPending(p, NODE_DEAD_TEXT);
    if (wasUp) {
      this.log.warn({ peer: pnn, reason }, 'node is dead');
      this.recoverd?.nodeDead(pnn);
    }
  }

  private failPending(p: PendingControl, text: Buffer): void {
    if (p.client && !p.client.closed) {
      p.client.sendPacket(buildReplyControl(this.generation, 0, this.pnn, p.clientReqid!, -1, undefined, text));
      this.stats.clientPacketsSent++;
    } else if (p.resolve) {
      p.resolve({ status: -1, data: EMPTY, error: text.toString() });
    }
  }

  private sweepPending(): void {
    const now = Date.now();
    for (const p of this.pending.takeWhere((w) => w.deadline <= now)) {
      this.stats.timeouts.control++;
      this.failPending(p, TIMED_OUT_TEXT);
    }
  }

  // ------------------------------------------------ API for internal modules

  /**
   * A control issued by this daemon (the recovery-daemon module): to itself
   * (executed next turn), or to a connected node.
   */
  sendControl(destnode: number, opcode: number, data?: Buffer,
    opts: { srvid?: bigint; flags?: number; timeoutMs?: number } = {}): Promise<ControlReply> {
    const flags = opts.flags ?? 0;
    if (destnode === this.pnn) {
      return new Promise((resolve) => setImmediate(() => {
        const r = this.execute({
          opcode, srvid: opts.srvid ?? 0n, clientId: this.recoverdClientId, flags, data: data ?? EMPTY,
          srcnode: this.pnn, client: undefined,
        });
        void Promise.resolve(r).then((res) => resolve({ status: res.status, data: res.data ?? EMPTY, error: res.error ?? '' }));
      }));
    }
    if (!this.state.isConnected(destnode)) {
      return Promise.resolve({ status: -1, data: EMPTY, error: DISCONNECTED_TEXT.toString() });
    }
    return new Promise((resolve) => {
      const reqid = this.allocateId();
      const noreply = (flags & ControlFlag.NOREPLY) !== 0;
      const packet = buildReqControl(this.generation, destnode, this.pnn, reqid, opcode, opts.srvid ?? 0n,
        this.recoverdClientId, flags, data);
      if (!noreply) {
        this.pending.add(reqid, { destnode, deadline: Date.now() + (opts.timeoutMs ?? this.timing('controlTimeoutMs')), resolve });
      }
      if (!this.sendNode(destnode, packet, Operation.REQ_CONTROL)) {
        this.pending.take(reqid);
        resolve({ status: -1, data: EMPTY, error: DISCONNECTED_TEXT.toString() });
      } else if (noreply) {
        resolve({ status: 0, data: EMPTY, error: '' });
      }
    });
  }

  /** A message from this daemon (srcnode = us), routed like a client's. */
  sendMessage(destnode: number, srvid: bigint, data: Buffer): void {
    if (!this.running) return;
    this.routeMessage(buildMessage(this.generation, destnode, this.pnn, srvid, data), destnode);
  }

  registerInternal(srvid: bigint, name: string, handle: (srvid: bigint, data: Buffer) => void): InternalListener {
    const l: InternalListener = { internal: true, name, handle };
    this.srvids.register(srvid, l);
    return l;
  }

  /** Recovery mode change with ctdbd's bookkeeping (statistics, runstate). */
  setRecoveryMode(mode: number): void {
    const st = this.state;
    if (mode === st.recoveryMode) return;
    st.recoveryMode = mode;
    this.stats.recovering = mode === RecoveryMode.ACTIVE ? 1 : 0;
    if (mode === RecoveryMode.NORMAL && st.runState === RunState.FIRST_RECOVERY) {
      st.runState = RunState.RUNNING;
      this.tickles?.startedUp();
    }
    this.log.info(`recovery mode set to ${mode === RecoveryMode.ACTIVE ? 'ACTIVE' : 'NORMAL'}`);
  }

  /** START_RECOVERY / END_RECOVERY: the times UPTIME reports. */
  recoveryStarted(): void {
    this.state.lastRecoveryStarted = timevalNow();
  }

  recoveryFinished(): void {
    this.state.lastRecoveryFinished = timevalNow();
    this.stats.numRecoveries++;
  }

  /** Becoming inactive (stopped, banned): ctdbd invalidates its generation and enters recovery. */
  becameInactive(): void {
    this.state.vnnMap = { ...this.state.vnnMap, generation: 1 };
    this.setRecoveryMode(RecoveryMode.ACTIVE);
  }

  /** SET_DEBUG: the CTDB level, mirrored onto the pino logger. */
  setDebugLevel(level: number): void {
    this.debugLevel = level | 0;
    // A logger the embedder silenced (tests) stays silent.
    if (this.log.level !== 'silent') this.log.level = pinoLevelFor(this.debugLevel);
  }

  get isRunning(): boolean {
    return this.running;
  }
}

const EMPTY = Buffer.alloc(0);

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export { EMPTY };
