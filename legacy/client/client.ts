import { Operation, Node, ControlFlag, isBroadcastNode } from '../protocol/constants.ts';
import { Srvid } from '../protocol/srvid.ts';
import { Control } from '../protocol/controls.ts';
import { writeTunnelFrameHeader, type Packet, type ReplyControl } from '../protocol/packets.ts';
import { createLogger, type Logger } from '../common/log.ts';
import { pinTickObjectShape } from '../common/tick-shape.ts';
import { LegacyConnection } from './connection.ts';
import { RequestTracker } from './request-tracker.ts';
import { SrvidRegistry } from './srvid-registry.ts';
import { ReconnectLoop, exponentialBackoff, type BackoffPolicy } from './reconnect.ts';
import { realTimers, type ClientTimers } from './timers.ts';
import { ControlsApi, type ControlOptions, type ControlReply } from './controls-api.ts';
import type { ClientState, LegacyMessage, LegacyTunnelPacket } from './events.ts';
import { controlLabel } from './control-label.ts';
import {
  LegacyClientClosedError, LegacyControlError, LegacyControlTimeoutError, LegacyDisconnectedError,
  LegacyInvalidArgumentError, LegacyNotConnectedError, nodeLabel,
} from './errors.ts';

export type MessageHandler = (message: LegacyMessage) => void;
export type TunnelHandler = (packet: LegacyTunnelPacket) => void;

export interface ReconnectOptions {
  backoff?: BackoffPolicy;
  /** Stop after this many failed attempts and close the client (default: retry forever). */
  maxAttempts?: number;
}

export interface LegacyClientOptions {
  /** Path of ctdbd's unix socket (see resolveSocketPath for ctdb's rules). */
  socketPath: string;
  /** Defaults to createLogger({ component: 'legacy-client' }); `node` is bound once the PNN is known. */
  logger?: Logger;
  timers?: ClientTimers;
  /** Per-control timeout unless the call gives its own (default 10 s, like `ctdb -t`). */
  defaultTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Reconnect after ctdbd goes away (default on). `false` leaves the client disconnected. */
  reconnect?: boolean | ReconnectOptions;
  /** Register SRVID_LEADER on connect and track the leader broadcasts, as `ctdb` does (default on). */
  trackLeader?: boolean;
  /** First request id (default 2147483448 like the C library); tests use it to exercise wrapping. */
  firstReqid?: number;
}

/** A registration that can be undone. */
export interface Subscription {
  readonly id: bigint;
  close(): Promise<void>;
}

export interface TunnelSendOptions {
  destnode: number;
  tunnelId: bigint;
  data?: Buffer;
  /** TunnelFlag bits; ctdbd passes them through untouched. */
  flags?: number;
  /** Header reqid; a real ctdbd replaces it with 0 on delivery. */
  reqid?: number;
}

const EMPTY = Buffer.alloc(0);

/**
 * Client for a ctdbd unix socket (real Samba daemon or ours). Controls are
 * correlated by reqid with per-call timeouts; messages and tunnel packets
 * go to registered handlers; after ctdbd goes away the client fails what is
 * in flight, reconnects with backoff and restores its SRVID and tunnel
 * registrations. Typed control helpers come from ControlsApi.
 */
export class LegacyClient extends ControlsApi {
  readonly socketPath: string;
  private readonly baseLog: Logger;
  private log: Logger;
  private readonly timers: ClientTimers;
  private readonly defaultTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly reconnectOpts: { backoff: BackoffPolicy; maxAttempts?: number } | undefined;
  private readonly trackLeader: boolean;
  private readonly tracker: RequestTracker<ReplyControl>;
  private readonly srvids = new SrvidRegistry<MessageHandler>();
  private readonly tunnels = new Map<bigint, TunnelHandler>();
  /** The last tunnel id sent a frame to, split in halves once (a client mostly uses one). */
  private readonly lastTunnelId = { value: -1n, low: 0, high: 0 };
  /** Which connection each SRVID was last registered on (to skip double registration). */
  private readonly registeredOn = new Map<bigint, LegacyConnection>();
  private conn: LegacyConnection | undefined;
  private reconnectLoop: ReconnectLoop | undefined;
  private stateValue: ClientState = 'idle';
  private pnnValue: number = Node.UNKNOWN_PNN;
  private leaderValue: number = Node.UNKNOWN_PNN;
  private readonly leaderWaiters = new Set<() => void>();
  private downSince = 0;
  private readonly leaderHandler: MessageHandler = (m) => this.onLeaderMessage(m);

  constructor(opts: LegacyClientOptions) {
    super();
    this.socketPath = opts.socketPath;
    this.baseLog = opts.logger ?? createLogger({ component: 'legacy-client' });
    this.log = this.baseLog.child({ node: 'unknown', socket: opts.socketPath });
    this.timers = opts.timers ?? realTimers;
    this.defaultTimeoutMs = opts.defaultTimeoutMs ?? 10_000;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 5_000;
    const rc = opts.reconnect ?? true;
    this.reconnectOpts = rc === false ? undefined : {
      backoff: (rc !== true && rc.backoff) || exponentialBackoff(),
      maxAttempts: rc === true ? undefined : rc.maxAttempts,
    };
    this.trackLeader = opts.trackLeader ?? true;
    this.tracker = new RequestTracker<ReplyControl>(this.timers, opts.firstReqid);
  }

  /** Construct and connect in one step. */
  static async connect(opts: LegacyClientOptions): Promise<LegacyClient> {
    const client = new LegacyClient(opts);
    await client.connect();
    return client;
  }

  get state(): ClientState {
    return this.stateValue;
  }

  get connected(): boolean {
    return this.stateValue === 'connected';
  }

  /** PNN of the daemon we are connected to (from GET_PNN); UNKNOWN_PNN before connecting. */
  get pnn(): number {
    return this.pnnValue;
  }

  /** Leader from the last SRVID_LEADER broadcast; UNKNOWN_PNN if none seen (or election running). */
  get leader(): number {
    return this.leaderValue;
  }

  /** Bytes queued for ctdbd but not yet written (for senders that want backpressure). */
  get bufferedBytes(): number {
    return this.conn?.bufferedBytes ?? 0;
  }

  /** Requests waiting for a reply. */
  get pendingRequests(): number {
    return this.tracker.size;
  }

  /** Open the socket, learn the PNN, register SRVID_LEADER (when tracking). */
  async connect(): Promise<void> {
    if (this.stateValue !== 'idle') {
      throw new LegacyInvalidArgumentError(`connect() called in state ${this.stateValue}`);
    }
    pinTickObjectShape(); // every socket event's nextTick stays on V8's fast path (see tick-shape.ts)
    this.stateValue = 'connecting';
    try {
      await this.establish();
    } catch (err) {
      if (this.stateValue === 'connecting') this.stateValue = 'idle';
      throw err;
    }
    this.stateValue = 'connected';
    this.log.info('connected to ctdbd');
    this.emit('connect', { pnn: this.pnnValue, socketPath: this.socketPath });
  }

  /** Close for good: stop reconnecting, fail pending requests, drop the socket. */
  async close(): Promise<void> {
    if (this.stateValue === 'closed') return;
    this.stateValue = 'closed';
    this.reconnectLoop?.cancel();
    this.reconnectLoop = undefined;
    this.tracker.failAll((what) => new LegacyClientClosedError(what));
    const conn = this.conn;
    this.conn = undefined;
    conn?.close('client closed');
    this.wakeLeaderWaiters();
    this.log.info('client closed');
    this.emit('close');
  }

  // ---- controls -------------------------------------------------------------

  /**
   * Send a control and wait for its REPLY_CONTROL. Never throws on a
   * non-zero status (several controls carry their answer in it); see
   * controlOk. Throws LegacyControlTimeoutError, LegacyDisconnectedError,
   * LegacyNotConnectedError, LegacyClientClosedError.
   */
  control(opcode: number, opts: ControlOptions = {}): Promise<ControlReply> {
    const conn = this.usableConnection(`control ${controlLabel(opcode)}`);
    return this.controlOn(conn, opcode, opts);
  }

  /** Like control() but a non-zero status rejects with LegacyControlError. */
  async controlOk(opcode: number, opts: ControlOptions = {}): Promise<ControlReply> {
    const reply = await this.control(opcode, opts);
    if (reply.status !== 0) {
      throw new LegacyControlError(opcode, opts.destnode ?? Node.CURRENT, reply.status, reply.errorText);
    }
    return reply;
  }

  /**
   * Send a control with CTRL_FLAG_NOREPLY (no answer will come). The only
   * way to address a broadcast node number. Throws when not connected.
   */
  controlNoReply(opcode: number, opts: ControlOptions = {}): void {
    const conn = this.usableConnection(`control ${controlLabel(opcode)}`);
    const destnode = opts.destnode ?? Node.CURRENT;
    checkNode(destnode);
    conn.send({
      operation: Operation.REQ_CONTROL, generation: 0, destnode, srcnode: this.pnnValue, reqid: 0,
      opcode, srvid: opts.srvid ?? 0n, clientId: 0, flags: ((opts.flags ?? 0) | ControlFlag.NOREPLY) >>> 0,
      data: opts.data ?? EMPTY,
    });
  }

  private controlOn(conn: LegacyConnection, opcode: number, opts: ControlOptions): Promise<ControlReply> {
    const destnode = opts.destnode ?? Node.CURRENT;
    checkNode(destnode);
    if (isBroadcastNode(destnode)) {
      // ctdbd never answers a broadcast control without NOREPLY (behaviour.md §1).
      return Promise.reject(new LegacyInvalidArgumentError(
        `control ${controlLabel(opcode)} to ${nodeLabel(destnode)} needs controlNoReply()`));
    }
    const timeoutMs = opts.timeoutMs ?? this.defaultTimeoutMs;
    const { reqid, promise } = this.tracker.start(timeoutMs, () => {
      this.log.warn({ opcode, destnode, timeoutMs }, 'control timed out');
      return new LegacyControlTimeoutError(opcode, destnode, timeoutMs);
    }, `control ${controlLabel(opcode)} to node ${nodeLabel(destnode)}`);
    conn.send({
      operation: Operation.REQ_CONTROL, generation: 0, destnode, srcnode: this.pnnValue, reqid,
      opcode, srvid: opts.srvid ?? 0n, clientId: 0, flags: (opts.flags ?? 0) >>> 0, data: opts.data ?? EMPTY,
    });
    return promise.then((r) => ({
      status: r.status,
      data: r.data,
      errorText: errorText(r.errorMessage),
      srcnode: r.srcnode,
      generation: r.generation,
    }));
  }

  // ---- messages -------------------------------------------------------------

  /** Send a REQ_MESSAGE to a PNN, CURRENT or a broadcast node number. Fire and forget. */
  sendMessage(destnode: number, srvid: bigint, data: Buffer = EMPTY): void {
    checkNode(destnode);
    checkU64(srvid, 'srvid');
    const conn = this.usableConnection('message');
    conn.send({ operation: Operation.REQ_MESSAGE, generation: 0, destnode, srcnode: this.pnnValue, reqid: 0, srvid, data });
  }

  /** To every node in the nodes list except deleted ones (this one included). */
  sendMessageToAll(srvid: bigint, data?: Buffer): void {
    this.sendMessage(Node.BROADCAST_ALL, srvid, data);
  }

  /** To every node that is not disconnected or deleted (this one included). */
  sendMessageToConnected(srvid: bigint, data?: Buffer): void {
    this.sendMessage(Node.BROADCAST_CONNECTED, srvid, data);
  }

  /** To every active node (not banned, stopped, disconnected or deleted). */
  sendMessageToActive(srvid: bigint, data?: Buffer): void {
    this.sendMessage(Node.BROADCAST_ACTIVE, srvid, data);
  }

  /** To the daemon we are connected to. */
  sendMessageToLocal(srvid: bigint, data?: Buffer): void {
    this.sendMessage(Node.CURRENT, srvid, data);
  }

  /**
   * Receive messages for `srvid` (SRVID_ALL = everything). The SRVID is
   * registered with ctdbd once for all local handlers and restored after a
   * reconnect. Rejects if ctdbd refuses or the client is not connected.
   */
  async registerSrvid(srvid: bigint, handler: MessageHandler): Promise<Subscription> {
    checkU64(srvid, 'srvid');
    await this.srvids.add(srvid, handler, async () => {
      const conn = this.usableConnection('REGISTER_SRVID');
      await this.registerSrvidOn(conn, srvid);
    });
    this.log.debug({ srvid: hex(srvid) }, 'srvid handler added');
    return { id: srvid, close: () => this.deregisterSrvid(srvid, handler) };
  }

  /** Remove one handler; the last one for an SRVID deregisters it with ctdbd. */
  async deregisterSrvid(srvid: bigint, handler: MessageHandler): Promise<void> {
    if (!this.srvids.remove(srvid, handler)) return;
    const conn = this.conn;
    if (!conn?.isOpen || this.stateValue !== 'connected') return; // daemon already forgot it
    const reply = await this.controlOn(conn, Control.DEREGISTER_SRVID, { srvid });
    // ENOENT (2) means ctdbd has no such registration: nothing left to undo.
    if (reply.status !== 0 && reply.status !== 2) {
      throw new LegacyControlError(Control.DEREGISTER_SRVID, Node.CURRENT, reply.status, reply.errorText);
    }
  }

  /** Resolve with the leader PNN once known, or UNKNOWN_PNN after `timeoutMs` (as `ctdb leader`). */
  waitForLeader(timeoutMs = this.defaultTimeoutMs): Promise<number> {
    if (this.leaderValue !== Node.UNKNOWN_PNN || this.stateValue === 'closed') {
      return Promise.resolve(this.leaderValue);
    }
    return new Promise((resolve) => {
      const check = () => {
        if (this.leaderValue !== Node.UNKNOWN_PNN || this.stateValue === 'closed') finish();
      };
      const finish = () => {
        this.timers.clearTimeout(timer);
        this.leaderWaiters.delete(check);
        resolve(this.leaderValue);
      };
      const timer = this.timers.setTimeout(finish, timeoutMs);
      this.leaderWaiters.add(check);
    });
  }

  // ---- tunnels --------------------------------------------------------------

  /**
   * Bind a tunnel id to this client (TUNNEL_REGISTER). ctdbd allows one
   * holder per id and daemon, so a second registration fails with
   * LegacyControlError (status -1). Restored after reconnect.
   */
  async registerTunnel(tunnelId: bigint, handler: TunnelHandler): Promise<Subscription> {
    checkU64(tunnelId, 'tunnelId');
    if (this.tunnels.has(tunnelId)) {
      throw new LegacyInvalidArgumentError(`tunnel 0x${tunnelId.toString(16)} is already registered by this client`);
    }
    const conn = this.usableConnection('TUNNEL_REGISTER');
    this.tunnels.set(tunnelId, handler);
    try {
      await this.registerTunnelOn(conn, tunnelId);
    } catch (err) {
      if (this.tunnels.get(tunnelId) === handler) this.tunnels.delete(tunnelId);
      throw err;
    }
    return { id: tunnelId, close: () => this.deregisterTunnel(tunnelId) };
  }

  async deregisterTunnel(tunnelId: bigint): Promise<void> {
    if (!this.tunnels.delete(tunnelId)) return;
    const conn = this.conn;
    if (!conn?.isOpen || this.stateValue !== 'connected') return;
    const reply = await this.controlOn(conn, Control.TUNNEL_DEREGISTER, { srvid: tunnelId });
    if (reply.status !== 0) {
      throw new LegacyControlError(Control.TUNNEL_DEREGISTER, Node.CURRENT, reply.status, reply.errorText);
    }
  }

  /**
   * Send a REQ_TUNNEL. ctdbd silently drops it unless destnode is a concrete
   * PNN and the tunnel id is registered on the local daemon (behaviour.md §3).
   */
  sendTunnel(opts: TunnelSendOptions): void {
    checkU64(opts.tunnelId, 'tunnelId');
    const conn = this.tunnelConnection(opts.destnode);
    conn.send({
      operation: Operation.REQ_TUNNEL, generation: 0, destnode: opts.destnode, srcnode: this.pnnValue,
      reqid: opts.reqid ?? 0, tunnelId: opts.tunnelId, flags: (opts.flags ?? 0) >>> 0, data: opts.data ?? EMPTY,
    });
  }

  /**
   * sendTunnel() for a caller that built its data TUNNEL_DATA_OFFSET bytes
   * into `frame`: the REQ_TUNNEL header is written in place (exact length,
   * no padding) and the frame goes out without another copy. The caller
   * must not touch `frame` afterwards.
   */
  sendTunnelFrame(opts: { destnode: number; tunnelId: bigint; flags?: number; frame: Buffer }): void {
    const id = this.lastTunnelId;
    if (id.value !== opts.tunnelId) {
      // Checked and split once per id: BigInt work costs more than the rest of the send.
      checkU64(opts.tunnelId, 'tunnelId');
      id.value = opts.tunnelId;
      id.low = Number(opts.tunnelId & 0xffffffffn);
      id.high = Number(opts.tunnelId >> 32n);
    }
    const conn = this.tunnelConnection(opts.destnode);
    conn.write(writeTunnelFrameHeader(opts.frame, opts.destnode, this.pnnValue, id.low, id.high, (opts.flags ?? 0) >>> 0));
  }

  /** Checks a tunnel destination (ctdbd drops broadcasts and CURRENT_NODE) and returns the live connection. */
  private tunnelConnection(destnode: number): LegacyConnection {
    checkNode(destnode);
    if (destnode === Node.CURRENT || isBroadcastNode(destnode)) {
      throw new LegacyInvalidArgumentError(`tunnel packets need a concrete PNN, got ${nodeLabel(destnode)}`);
    }
    return this.usableConnection('tunnel');
  }

  /** Tunnel ids this client holds. */
  registeredTunnels(): bigint[] {
    return [...this.tunnels.keys()];
  }

  /** SRVIDs this client has registered with ctdbd. */
  registeredSrvids(): bigint[] {
    return this.srvids.srvids();
  }

  // ---- connection lifecycle --------------------------------------------------

  /** Open a socket, GET_PNN, restore registrations; the connection becomes current on success. */
  private async establish(): Promise<{ srvids: number; tunnels: number }> {
    const conn = await LegacyConnection.open(this.socketPath, () => this.log, this.connectTimeoutMs);
    if (this.stateValue === 'closed') {
      conn.close('client closed');
      throw new LegacyClientClosedError('connect');
    }
    this.conn = conn;
    conn.on('packet', (p) => this.onPacket(p));
    conn.on('close', (reason) => this.onConnectionClosed(conn, reason));
    try {
      const reply = await this.controlOn(conn, Control.GET_PNN, {});
      if (reply.status < 0) throw new LegacyControlError(Control.GET_PNN, Node.CURRENT, reply.status, reply.errorText);
      this.setPnn(reply.status);
      if (this.trackLeader && !this.srvids.has(Srvid.LEADER)) {
        await this.srvids.add(Srvid.LEADER, this.leaderHandler, () => this.registerSrvidOn(conn, Srvid.LEADER));
      }
      return await this.restoreRegistrations(conn);
    } catch (err) {
      conn.close('setup failed');
      if (this.conn === conn) this.conn = undefined;
      throw err;
    }
  }

  /** After a reconnect: register every SRVID and tunnel again on the new connection. */
  private async restoreRegistrations(conn: LegacyConnection): Promise<{ srvids: number; tunnels: number }> {
    let srvids = 0;
    let tunnels = 0;
    const restore = async (kind: 'srvid' | 'tunnel', id: bigint, op: () => Promise<void>) => {
      try {
        await op();
        if (kind === 'srvid') srvids++; else tunnels++;
      } catch (err) {
        if (!conn.isOpen) throw err; // lost again: the whole attempt fails
        this.log.error({ kind, id: hex(id), err: (err as Error).message }, 'could not restore registration');
        this.emit('reregisterFailed', { kind, id, error: err as Error });
      }
    };
    // Registrations made on an earlier connection (a first connect has none besides LEADER).
    const pending: Promise<void>[] = [];
    for (const srvid of this.srvids.srvids()) {
      if (this.registeredOn.get(srvid) === conn) continue;
      pending.push(restore('srvid', srvid, () => this.registerSrvidOn(conn, srvid)));
    }
    for (const tunnelId of this.tunnels.keys()) {
      pending.push(restore('tunnel', tunnelId, () => this.registerTunnelOn(conn, tunnelId)));
    }
    await Promise.all(pending);
    return { srvids, tunnels };
  }

  private async registerSrvidOn(conn: LegacyConnection, srvid: bigint): Promise<void> {
    const reply = await this.controlOn(conn, Control.REGISTER_SRVID, { srvid });
    if (reply.status !== 0) {
      throw new LegacyControlError(Control.REGISTER_SRVID, Node.CURRENT, reply.status, reply.errorText);
    }
    this.registeredOn.set(srvid, conn);
  }

  private async registerTunnelOn(conn: LegacyConnection, tunnelId: bigint): Promise<void> {
    const reply = await this.controlOn(conn, Control.TUNNEL_REGISTER, { srvid: tunnelId });
    if (reply.status !== 0) {
      throw new LegacyControlError(Control.TUNNEL_REGISTER, Node.CURRENT, reply.status, reply.errorText);
    }
  }

  private onConnectionClosed(conn: LegacyConnection, reason: string): void {
    if (this.conn !== conn) return; // an abandoned attempt
    this.conn = undefined;
    this.registeredOn.clear();
    const wasState = this.stateValue;
    if (wasState === 'closed') return;
    const willReconnect = this.reconnectOpts !== undefined && wasState === 'connected';
    const failed = this.tracker.failAll((what) => new LegacyDisconnectedError(what, reason));
    if (wasState !== 'connected') return; // failure during connect()/a reconnect attempt: the caller handles it
    this.downSince = Date.now();
    this.log.warn({ reason, failedRequests: failed, willReconnect }, 'disconnected from ctdbd');
    this.setLeader(Node.UNKNOWN_PNN);
    if (willReconnect) {
      this.stateValue = 'reconnecting';
      this.startReconnect();
    } else {
      this.stateValue = 'idle';
    }
    this.emit('disconnect', { reason, failedRequests: failed, willReconnect });
  }

  private startReconnect(): void {
    const opts = this.reconnectOpts!;
    const loop = new ReconnectLoop({
      backoff: opts.backoff,
      timers: this.timers,
      maxAttempts: opts.maxAttempts,
      attempt: async (n) => {
        const restored = await this.establish();
        if (loop.isCancelled) return;
        this.reconnectLoop = undefined;
        this.stateValue = 'connected';
        const downMs = Date.now() - this.downSince;
        this.log.info({ attempts: n, ...restored, downMs }, 'reconnected to ctdbd');
        this.emit('reconnect', { pnn: this.pnnValue, attempts: n, ...restored, downMs });
      },
      onAttemptFailed: (n, err, nextDelayMs) => {
        this.log.info({ attempt: n, err: (err as Error).message, nextDelayMs }, 'reconnect attempt failed');
        this.emit('reconnectFailed', { attempt: n, error: err as Error, nextDelayMs });
      },
      onGiveUp: (attempts, err) => {
        this.log.error({ attempts }, 'giving up reconnecting');
        this.emit('giveUp', { attempts, error: err as Error });
        void this.close();
      },
    });
    this.reconnectLoop = loop;
    loop.start();
  }

  private usableConnection(what: string): LegacyConnection {
    if (this.stateValue === 'closed') throw new LegacyClientClosedError(what);
    const conn = this.conn;
    if (this.stateValue !== 'connected' || !conn?.isOpen) throw new LegacyNotConnectedError(what, this.stateValue);
    return conn;
  }

  // ---- incoming packets -----------------------------------------------------

  private onPacket(p: Packet): void {
    switch (p.operation) {
      case Operation.REPLY_CONTROL:
        if (!this.tracker.complete(p.reqid, p)) {
          this.log.debug({ reqid: p.reqid }, 'reply for unknown or expired request');
        }
        return;
      case Operation.REQ_MESSAGE: {
        const message: LegacyMessage = { srvid: p.srvid, data: p.data, srcnode: p.srcnode, generation: p.generation };
        const handlers = this.srvids.handlersFor(p.srvid);
        if (handlers.length === 0) {
          this.emit('unhandledMessage', message);
          return;
        }
        for (const h of handlers) this.invoke(h, message, 'message handler');
        return;
      }
      case Operation.REQ_TUNNEL: {
        const packet: LegacyTunnelPacket = {
          tunnelId: p.tunnelId, flags: p.flags, data: p.data, srcnode: p.srcnode, reqid: p.reqid, generation: p.generation,
        };
        const handler = this.tunnels.get(p.tunnelId);
        if (!handler) {
          this.emit('unhandledTunnel', packet);
          return;
        }
        this.invoke(handler, packet, 'tunnel handler');
        return;
      }
      default:
        this.log.warn({ operation: p.operation, reqid: p.reqid }, 'unexpected packet from ctdbd ignored');
    }
  }

  private invoke<T>(fn: (arg: T) => void, arg: T, what: string): void {
    try {
      fn(arg);
    } catch (err) {
      this.log.error({ err }, `${what} threw`);
    }
  }

  private onLeaderMessage(m: LegacyMessage): void {
    if (m.data.length < 4) {
      this.log.warn({ length: m.data.length }, 'short SRVID_LEADER message ignored');
      return;
    }
    this.setLeader(m.data.readUInt32LE(0));
  }

  private setLeader(pnn: number): void {
    const previous = this.leaderValue;
    if (pnn === previous) return;
    this.leaderValue = pnn;
    this.log.debug({ leader: pnn, previous }, 'leader changed');
    this.emit('leader', { pnn, previous });
    this.wakeLeaderWaiters();
  }

  private wakeLeaderWaiters(): void {
    for (const w of [...this.leaderWaiters]) w();
  }

  private setPnn(pnn: number): void {
    if (pnn === this.pnnValue) return;
    this.pnnValue = pnn;
    this.log = this.baseLog.child({ node: pnn, socket: this.socketPath });
  }
}

function errorText(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.toString('utf8', 0, nul === -1 ? b.length : nul);
}

function checkNode(pnn: number): void {
  if (!Number.isInteger(pnn) || pnn < 0 || pnn > 0xffffffff) {
    throw new LegacyInvalidArgumentError(`invalid node number ${String(pnn)}`);
  }
}

function checkU64(v: bigint, what: string): void {
  if (typeof v !== 'bigint' || v < 0n || v > 0xffffffffffffffffn) {
    throw new LegacyInvalidArgumentError(`invalid ${what} ${String(v)} (expected a u64 bigint)`);
  }
}

function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}
