// transportd: one per node. Local components attach over a unix socket (or
// in-process links); packets are routed by destination endpoint to a local
// endpoint or through the uplink to another node's transportd.

import { randomUUID } from 'node:crypto';
import type { Server, Socket } from 'node:net';
import type { Logger } from 'pino';
import { createLogger } from '../legacy/common/log.ts';
import { pinTickObjectShape } from '../legacy/common/tick-shape.ts';
import { CONTROL_SERVICE, BUILTIN_SERVICE, EPHEMERAL_SERVICE_BASE, LOCAL_NODE, MAX_SERVICE, isConcreteNode } from './endpoint.ts';
import { DEFAULT_MAX_PAYLOAD, Flag, HEADER_SIZE, SUPPORTED_PROTOCOL_VERSIONS, kindOf, readRawHeader, type TransportHeader } from './header.ts';
import {
  BadRequestError, PayloadTooLargeError, ServiceInUseError, TransportDecodeError, UnreachableNodeError,
  VersionMismatchError, toWireError,
} from './errors.ts';
import { ServiceDispatcher } from './dispatcher.ts';
import { Discovery, type HelloBody } from './discovery.ts';
import { Router, type Origin, type RouteSink } from './router.ts';
import { createBuiltinService, type TransportStatus } from './builtin-service.ts';
import { PendingRequests } from './pending-requests.ts';
import { buildErrorReply, buildPacket, buildReply, decodeEnvelope } from './message.ts';
import { decodePacket, encodePacketAt, type Packet } from './packet.ts';
import { inProcessLinkPair, socketLink, type PacketLink } from './link.ts';
import { DEFAULT_MAX_LOCAL_CONNECTIONS, closeUnixSocket, listenUnixSocket } from './local-socket.ts';
import { MAX_HELLO_SERVICES, createRegistry, type MessageRegistry } from './schemas.ts';
import { LimitedLog } from '../legacy/common/log-limiter.ts';
import { TransportClient, type TransportClientOptions } from './api.ts';
import { SOFTWARE_VERSION } from './version.ts';
import type { Uplink } from './uplinks/uplink.ts';

export type { TransportStatus } from './builtin-service.ts';

export interface TransportdOptions {
  node: number;
  uplink: Uplink;
  /** Unix socket for local components; omitted: only in-process links (openLink/connectClient). */
  socketPath?: string;
  maxPayload?: number;
  /** A reachable node that has not said hello after this long is legacy-only (default 3000 ms). */
  helloTimeoutMs?: number;
  rehelloIntervalMs?: number;
  /**
   * Transport nodes silent for this long are asked for a hello; no answer within
   * helloTimeoutMs: legacy-only, requests waiting on them failed (default 2000 ms, 0: off).
   */
  livenessIntervalMs?: number;
  /** How long a request sent through the uplink is remembered for failing it early (default 10 min). */
  pendingRequestTtlMs?: number;
  /** Most requests remembered that way; the oldest are forgotten first (default 100,000). */
  maxPendingRequests?: number;
  /** Unix-socket clients connected at once; more are closed at once (default 1024). */
  maxLocalConnections?: number;
  software?: string;
  logger?: Logger;
  now?: () => number;
}

interface Connection {
  id: string;
  link: PacketLink;
  name: string;
  attached: boolean;
  /** The router's view of this connection, made once (not per packet). */
  origin: Origin;
}

const INTERNAL_CONTROL = 'internal:control';
const EMPTY_PAYLOAD = Buffer.alloc(0);
const INTERNAL_BUILTIN = 'internal:builtin';
const INTERNAL_NAMES: Record<string, string> = { [INTERNAL_CONTROL]: 'transportd', [INTERNAL_BUILTIN]: 'builtin' };

export class Transportd {
  readonly node: number;
  readonly bootId = randomUUID();
  readonly registry: MessageRegistry = createRegistry();
  private readonly uplink: Uplink;
  private readonly logger: Logger;
  /** Complaints about bad input (peers, local clients): bounded per kind and interval. */
  private readonly limitedLog: LimitedLog;
  private readonly now: () => number;
  private readonly maxPayload: number;
  private readonly software: string;
  private readonly discovery: Discovery;
  private readonly router: Router;
  /** Requests out through the uplink, failed at once when their node becomes unreachable. */
  private readonly pending: PendingRequests;
  private readonly internal = new Map<string, ServiceDispatcher>();
  private readonly connections = new Map<string, Connection>();
  private readonly internalOrigins = new Map<string, Origin>();
  private server: Server | undefined;
  private startedAt = 0;
  private nextConnection = 1;
  private nextEphemeral = EPHEMERAL_SERVICE_BASE;
  private running = false;
  private received = 0;

  constructor(private readonly opts: TransportdOptions) {
    if (!isConcreteNode(opts.node)) throw new Error(`bad node number ${opts.node}`);
    if (opts.uplink.localNode !== opts.node) throw new Error(`uplink is for node ${opts.uplink.localNode}, not ${opts.node}`);
    this.node = opts.node;
    this.uplink = opts.uplink;
    this.logger = opts.logger ?? createLogger({ component: 'transportd', node: opts.node });
    this.now = opts.now ?? Date.now;
    this.limitedLog = new LimitedLog(this.logger, { now: this.now });
    this.software = opts.software ?? SOFTWARE_VERSION;
    const carrierLimit = (opts.uplink.maxPacketSize ?? Infinity) - HEADER_SIZE;
    this.maxPayload = Math.min(opts.maxPayload ?? DEFAULT_MAX_PAYLOAD, carrierLimit);
    this.discovery = new Discovery({
      node: this.node,
      sendHello: (n, wantReply) => this.sendHello(n, wantReply),
      helloTimeoutMs: opts.helloTimeoutMs,
      rehelloIntervalMs: opts.rehelloIntervalMs,
      livenessIntervalMs: opts.livenessIntervalMs,
      nodeLost: (n, reason) => this.failPendingTo(n, reason),
      now: this.now,
      logger: this.logger,
    });
    this.router = new Router(this.node, this.discovery);
    this.pending = new PendingRequests({ ttlMs: opts.pendingRequestTtlMs, maxEntries: opts.maxPendingRequests, now: this.now });
  }

  get socketPath(): string | undefined {
    return this.opts.socketPath;
  }

  async start(): Promise<void> {
    if (this.running) return;
    pinTickObjectShape(); // every socket event's nextTick stays on V8's fast path (see tick-shape.ts)
    this.startedAt = this.now();
    this.setupInternalServices();
    this.uplink.onPacket((bytes, from) => this.fromUplink(bytes, from));
    this.uplink.onNodeReachability((node, reachable) => {
      this.discovery.reachabilityChanged(node, reachable);
      this.discovery.sync(this.uplink.knownNodes());
      if (!reachable) this.failPendingTo(node, 'the uplink lost it');
    });
    if (this.opts.socketPath) {
      this.server = await listenUnixSocket(this.opts.socketPath, (socket) => this.acceptSocket(socket), {
        maxConnections: this.opts.maxLocalConnections,
        refused: () => this.limitedLog.warn('local-connections', { max: this.opts.maxLocalConnections ?? DEFAULT_MAX_LOCAL_CONNECTIONS },
          'local connection refused: too many clients connected'),
      });
    }
    await this.uplink.start();
    this.running = true;
    this.discovery.start(this.uplink.knownNodes());
    this.logger.info({ uplink: this.uplink.kind, socket: this.opts.socketPath }, 'transportd started');
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const node of this.discovery.transportNodes()) {
      this.sendControl(node, 'transport.bye', { node: this.node, bootId: this.bootId });
    }
    this.discovery.stop();
    for (const conn of this.connections.values()) conn.link.close();
    if (this.server && this.opts.socketPath) await closeUnixSocket(this.server, this.opts.socketPath);
    this.server = undefined;
    await this.uplink.stop();
    this.logger.info('transportd stopped');
  }

  /** Client end of a new in-process link (single-process deployments, tests). */
  openLink(): PacketLink {
    const [clientSide, serverSide] = inProcessLinkPair(this.maxPayload);
    this.acceptLink(serverSide);
    return clientSide;
  }

  /** A TransportClient attached in-process; `setup` registers handlers before the service is claimed. */
  async connectClient(
    opts: Omit<TransportClientOptions, 'link' | 'socketPath'> = {},
    setup?: (client: TransportClient) => void,
  ): Promise<TransportClient> {
    const client = new TransportClient({ maxPayload: this.maxPayload, ...opts, link: this.openLink() });
    setup?.(client);
    return client.connect();
  }

  status(): TransportStatus {
    const startedAt = new Date(this.startedAt).toISOString();
    const services = this.router.services().map(({ service, endpointId }) => ({
      service, name: this.connections.get(endpointId)?.name ?? INTERNAL_NAMES[endpointId] ?? endpointId,
    }));
    return {
      node: this.node,
      software: this.software,
      protocolVersions: [...SUPPORTED_PROTOCOL_VERSIONS],
      uplink: this.uplink.kind,
      startedAt,
      uptimeSeconds: Math.max(0, (this.now() - this.startedAt) / 1000),
      services,
      nodes: [
        {
          node: this.node, state: 'self', since: startedAt, software: this.software,
          protocolVersions: [...SUPPORTED_PROTOCOL_VERSIONS], bootId: this.bootId, startedAt,
          services: this.announcedServices(),
        },
        ...this.discovery.list(),
      ],
    };
  }

  /** Packets taken in so far, from local clients and the uplink (how busy the daemon is). */
  get packetsReceived(): number {
    return this.received;
  }

  /** Sizes of the tables fed by peers and local clients (diagnostics, tests): each has a bound. */
  tableSizes(): { nodes: number; pendingRequests: number; connections: number; services: number } {
    return {
      nodes: this.discovery.list().length, pendingRequests: this.pending.size, connections: this.connections.size,
      services: this.router.services().length,
    };
  }

  // ---- internal services ----

  private setupInternalServices(): void {
    const control = new ServiceDispatcher({ registry: this.registry, logger: this.logger, node: () => this.node });
    control.subscribe('transport.hello', (body: HelloBody, ctx) => {
      if (!this.fromPeerTransportd(ctx.type, body.node, ctx.src)) return;
      if (this.discovery.helloReceived(body) && !this.sendHello(body.node, false)) this.discovery.helloUndelivered(body.node);
    });
    control.subscribe('transport.bye', (body: { node: number; bootId: string }, ctx) => {
      if (!this.fromPeerTransportd(ctx.type, body.node, ctx.src)) return;
      if (this.discovery.byeReceived(body.node, body.bootId)) this.failPendingTo(body.node, 'its transportd shut down');
    });
    const builtin = createBuiltinService({
      node: this.node, software: this.software, startedAt: this.startedAt, now: this.now, registry: this.registry,
      logger: this.logger, maxPayload: this.maxPayload, status: () => this.status(),
    });
    this.internal.set(INTERNAL_CONTROL, control);
    this.internal.set(INTERNAL_BUILTIN, builtin);
    for (const endpointId of this.internal.keys()) this.internalOrigins.set(endpointId, { kind: 'local', endpointId });
    this.router.claim(INTERNAL_CONTROL, CONTROL_SERVICE);
    this.router.claim(INTERNAL_BUILTIN, BUILTIN_SERVICE);
  }

  /**
   * Control messages count only from service 0 of another node's transportd,
   * about that node: local clients cannot reach service 0 (the router refuses
   * it), and the uplink checked the source node against the sender it knows.
   */
  private fromPeerTransportd(type: string, about: number, src: { node: number; service: number }): boolean {
    if (src.service === CONTROL_SERVICE && src.node !== this.node && about === src.node) return true;
    this.limitedLog.warn('control-source', { type, about, src }, 'control message not from that node\'s transportd ignored');
    return false;
  }

  /** What hello and status announce: the lowest-numbered services, at most MAX_HELLO_SERVICES (well-known ones first). */
  private announcedServices(): number[] {
    return this.router.services().slice(0, MAX_HELLO_SERVICES).map((s) => s.service);
  }

  /** False when the uplink could not take the hello (node not reachable from here yet). */
  private sendHello(node: number, wantReply: boolean): boolean {
    const hello: HelloBody = {
      node: this.node, bootId: this.bootId, software: this.software, protocolVersions: [...SUPPORTED_PROTOCOL_VERSIONS],
      startedAt: new Date(this.startedAt).toISOString(), services: this.announcedServices(), wantReply,
    };
    return this.sendControl(node, 'transport.hello', hello);
  }

  /** Control messages go straight to the uplink: discovery must reach nodes the router would refuse. */
  private sendControl(node: number, type: string, body: unknown): boolean {
    const packet = buildPacket({
      src: { node: this.node, service: CONTROL_SERVICE }, dest: { node, service: CONTROL_SERVICE },
      type, version: this.registry.latest(type), body, requestId: 0, flags: Flag.NOREPLY,
    });
    return this.toUplink(node, packet);
  }

  // ---- local connections ----

  private acceptSocket(socket: Socket): void {
    this.acceptLink(socketLink(socket, { maxPayload: this.maxPayload }));
  }

  private acceptLink(link: PacketLink): void {
    const id = `conn:${this.nextConnection++}`;
    const conn: Connection = { id, link, name: 'unattached', attached: false, origin: { kind: 'local', endpointId: id } };
    this.connections.set(conn.id, conn);
    link.start({
      packet: (p) => this.fromLocal(conn, p),
      invalid: (error, raw) => this.rejectInvalid(error, raw, (reply) => link.send(reply), conn.origin),
      close: (err) => {
        this.connections.delete(conn.id);
        const released = this.router.releaseAll(conn.id);
        for (const service of released) this.pending.dropService(service);
        if (err) this.logger.warn({ err, conn: conn.id, name: conn.name }, 'local connection failed');
        this.logger.debug({ conn: conn.id, name: conn.name, released }, 'local connection closed');
      },
    });
  }

  private fromLocal(conn: Connection, packet: Packet): void {
    this.received++;
    if (!conn.attached) {
      this.attach(conn, packet);
      return;
    }
    this.router.route(packet, conn.origin, this.sink);
  }

  /** The first packet on a connection must be a transportd.attach request. */
  private attach(conn: Connection, packet: Packet): void {
    const h = packet.header;
    const answer = (reply: Packet): void => {
      try {
        conn.link.send(reply);
      } catch (err) {
        this.logger.warn({ err }, 'could not answer attach');
      }
    };
    if (kindOf(h.flags) !== 'request') {
      this.logger.warn({ conn: conn.id, header: h }, 'packet before attach dropped');
      return;
    }
    try {
      if (h.dest.service !== CONTROL_SERVICE || (h.dest.node !== LOCAL_NODE && h.dest.node !== this.node)) {
        throw new BadRequestError('attach to the local transportd (control service) first');
      }
      const envelope = decodeEnvelope(packet.payload, this.registry);
      if (envelope.type !== 'transportd.attach') throw new BadRequestError(`expected transportd.attach, got ${envelope.type}`);
      this.registry.validate(envelope.type, h.payloadVersion, 'body', envelope.body);
      const body = envelope.body as { name: string; service?: number };
      const service = body.service ?? this.allocateEphemeral();
      if (service === CONTROL_SERVICE || service === BUILTIN_SERVICE || !this.router.claim(conn.id, service)) {
        throw new ServiceInUseError(service);
      }
      conn.attached = true;
      conn.name = body.name;
      this.logger.debug({ conn: conn.id, name: body.name, service }, 'local endpoint attached');
      answer(buildReply(h, envelope.type, h.payloadVersion, {
        node: this.node, service, software: this.software, protocolVersions: [...SUPPORTED_PROTOCOL_VERSIONS],
      }));
    } catch (err) {
      this.logger.warn({ err, conn: conn.id }, 'attach refused');
      answer(buildErrorReply(h, toWireError(err, this.node)));
    }
  }

  private allocateEphemeral(): number {
    for (;;) {
      const s = this.nextEphemeral;
      this.nextEphemeral = s >= MAX_SERVICE ? EPHEMERAL_SERVICE_BASE : s + 1;
      if (this.router.ownerOf(s) === undefined) return s;
    }
  }

  // ---- uplink ----

  private fromUplink(bytes: Buffer, from: number | undefined): void {
    if (!this.running) return;
    this.received++;
    let packet: Packet;
    try {
      packet = decodePacket(bytes, this.maxPayload);
      // The uplink hands over the packet's own bytes: delivered to a socket client they go out as
      // they came, the header (re)written in place, not copied (a 64 KiB copy and allocation per packet).
      packet.frame = bytes;
    } catch (err) {
      if (!(err instanceof TransportDecodeError) || bytes.length < HEADER_SIZE) {
        this.limitedLog.warn('uplink-undecodable', { err, from, size: bytes.length }, 'undecodable packet from uplink dropped');
        return;
      }
      const { magicOk, ...raw } = readRawHeader(bytes);
      if (!magicOk) {
        this.limitedLog.warn('uplink-magic', { err, from }, 'uplink packet without transport magic dropped');
        return;
      }
      const refusal = this.router.uplinkRefusal(raw, from);
      if (refusal !== undefined) {
        this.limitedLog.warn('uplink-refused', { reason: refusal, from, header: raw }, 'packet from uplink refused');
        return;
      }
      this.rejectInvalid(err, raw, (reply) => this.toUplink(raw.src.node, reply), { kind: 'uplink', node: from });
      return;
    }
    const h = packet.header;
    // Checked before anything counts it: a refused packet is no sign of life and settles nothing.
    const refusal = this.router.uplinkRefusal(h, from);
    if (refusal !== undefined) {
      this.limitedLog.warn('uplink-refused', { reason: refusal, from, header: h }, 'packet from uplink refused');
      return;
    }
    this.discovery.trafficFrom(h.src.node);
    if (h.flags & Flag.REPLY) this.pending.settle(h.src.node, h.dest.service, h.requestId);
    this.router.routeAccepted(packet, this.sink);
  }

  /**
   * A frame whose header breaks a rule: answer with an error reply when it
   * is a request we can address (unknown protocol version, oversize, ...).
   */
  private rejectInvalid(error: TransportDecodeError, raw: TransportHeader, send: (reply: Packet) => void, origin: Origin): void {
    this.limitedLog.warn('invalid-frame', { err: error, origin, header: raw }, 'invalid transport frame');
    if (!(raw.flags & Flag.REQUEST) || raw.requestId === 0) return;
    let reason: Error;
    if (error.field === 'protocolVersion') {
      reason = new VersionMismatchError('protocol', '', raw.protocolVersion, [...SUPPORTED_PROTOCOL_VERSIONS]);
    } else if (error.field === 'payloadLength') {
      reason = new PayloadTooLargeError(raw.payloadLength, this.maxPayload);
    } else {
      reason = new BadRequestError(error.message);
    }
    // Reply in our own protocol version; only fields that pass our rules are echoed back.
    const request: TransportHeader = {
      ...raw, protocolVersion: SUPPORTED_PROTOCOL_VERSIONS[0], payloadVersion: 1, flags: Flag.REQUEST,
      dest: { node: isConcreteNode(raw.dest.node) ? raw.dest.node : this.node, service: raw.dest.service },
    };
    try {
      send(buildErrorReply(request, toWireError(reason, this.node)));
    } catch (err) {
      this.logger.warn({ err }, 'could not send error reply for invalid frame');
    }
  }

  // ---- carrying out routing decisions ----

  /** What the router's decisions do here. */
  private readonly sink: RouteSink = {
    deliver: (endpointId, packet) => this.deliver(endpointId, packet),
    uplink: (node, packet) => {
      if (!this.toUplink(node, packet)) {
        this.router.reject(packet, new UnreachableNodeError(node, 'the uplink cannot reach it'), this.sink);
      } else if (packet.header.flags & Flag.REQUEST) {
        this.pending.add(packet.header);
      }
    },
    drop: (reason, packet, level) => {
      if (level === 'warn') this.limitedLog.warn('packet-dropped', { reason, header: packet.header }, 'packet dropped');
      else this.logger.debug({ reason, header: packet.header }, 'packet dropped');
    },
  };

  /** Encodes once, in place when the packet has room, leaving room for the carrier's own headers when it takes them. */
  private toUplink(node: number, packet: Packet): boolean {
    const { frameRoom } = this.uplink;
    if (frameRoom && this.uplink.sendFrame) {
      return this.uplink.sendFrame(node, encodePacketAt(packet, frameRoom, this.maxPayload, true));
    }
    return this.uplink.send(node, encodePacketAt(packet, 0, this.maxPayload, true));
  }

  /** Answers every request still waiting on `node` with unreachable-node, now. */
  private failPendingTo(node: number, reason: string): void {
    const headers = this.pending.takeNode(node);
    if (headers.length === 0) return;
    this.logger.info({ peer: node, requests: headers.length, reason }, 'failing requests pending to a lost node');
    const error = new UnreachableNodeError(node, reason);
    for (const header of headers) this.router.reject({ header, payload: EMPTY_PAYLOAD }, error, this.sink);
  }

  private deliver(endpointId: string, packet: Packet): void {
    const service = this.internal.get(endpointId);
    if (service) {
      service.dispatchTo(packet, (reply) => {
        if (this.running) this.router.route(reply, this.internalOrigins.get(endpointId)!, this.sink);
      });
      return;
    }
    const conn = this.connections.get(endpointId);
    if (!conn) return;
    try {
      conn.link.send(packet);
    } catch (err) {
      this.logger.warn({ err, conn: endpointId }, 'could not deliver to local endpoint');
    }
  }
}
