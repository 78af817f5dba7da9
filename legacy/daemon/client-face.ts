import { chmod, mkdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../common/log.ts';
import { ClientStream, type StreamEvent } from './client-stream.ts';
import { DaemonStartError } from './errors.ts';
import { DEFAULT_MEMORY_LIMITS, MemoryBudget, type BudgetEntry } from './memory-budget.ts';
import type { PacketSink } from './messaging.ts';
import { ClientPids } from './client-pids.ts';
import { socketInode, type SsRunner } from './peer-cred.ts';
import { batchWrite, beginDispatch, endDispatch, type BatchTarget } from './write-batch.ts';
import { EAGER_PACKET_LIMIT } from '../protocol/partial-packet.ts';
import { MemoryReclaimer } from './reclaim.ts';

/**
 * The daemon's unix-socket face (behaviour.md §1): any number of clients,
 * no login, a client is its connection. Packets are framed leniently
 * (client-stream.ts) and handed to the daemon; writes are batched per input
 * chunk (write-batch.ts) so that bursts leave in one writev.
 */

export const DEFAULT_MAX_CLIENT_PACKET = DEFAULT_MEMORY_LIMITS.maxClientPacket;

export interface ClientFaceOptions {
  socketPath: string;
  logger: Logger;
  allocateClientId(): number;
  releaseClientId(id: number): void;
  onPacket(client: ClientConn, packet: Buffer): void;
  onClose(client: ClientConn): void;
  /** MaxQueueDropMsg: a client with more packets queued than this is dropped. */
  maxQueuedPackets(): number;
  maxPacketSize?: number;
  /** Memory budget for incomplete packets (memory-budget.ts); a private one with the defaults when unset. */
  budget?: MemoryBudget;
  /** Test hook for the peer-pid lookup (default: client-pids.ts's ss helper). */
  ss?: SsRunner;
  /** Collects the read buffers a client left behind by streaming a big packet it never finished (default: V8's full collection). */
  reclaimer?: MemoryReclaimer;
}

export class ClientConn implements PacketSink, BatchTarget {
  closed = false;
  /** Packets written while the socket wanted a drain. */
  private backlog = 0;
  batchEpoch = 0;
  batchCorked = false;
  private readonly stream: ClientStream;
  /** This connection's account in the memory budget. */
  private readonly account: BudgetEntry;

  constructor(
    readonly clientId: number,
    readonly socket: Socket,
    private readonly face: ClientFace,
    maxPacketSize: number,
  ) {
    this.stream = new ClientStream(maxPacketSize);
    this.account = face.budget.register({ clientId }, () => this.evicted());
    socket.once('close', () => this.released());
  }

  sendPacket(packet: Buffer): void {
    if (this.closed) return;
    const s = this.socket;
    if (s.writableNeedDrain) {
      if (++this.backlog > this.face.maxQueued()) {
        this.face.log.warn({ clientId: this.clientId, queued: this.backlog }, 'client queue exceeds MaxQueueDropMsg: dropping client');
        this.close();
        return;
      }
    } else {
      this.backlog = 0;
    }
    batchWrite(this, packet);
  }

  /** @internal */
  onData(chunk: Buffer): void {
    beginDispatch();
    try {
      const s = this.stream;
      s.push(chunk, this.onPacket, this.onEvent);
      this.face.budget.update(this.account, s.heldBytes, s.midPacket, s.packetsOut);
    } finally {
      endDispatch();
    }
  }

  private readonly onPacket = (packet: Buffer): void => this.face.opts.onPacket(this, packet);

  private readonly onEvent = (e: StreamEvent): void => {
    if (e.kind === 'fatal') {
      this.face.log.warn({ clientId: this.clientId, reason: e.reason }, 'bad packet from client: disconnecting it');
      this.close();
    } else {
      this.face.log.warn({ clientId: this.clientId, length: e.length, reason: e.reason }, 'dropping bad packet from client');
    }
  };

  close(): void {
    if (this.closed) return;
    this.socket.destroy();
  }

  /** The budget disconnects us (it logged why): our partial packet's memory goes back at once. */
  private evicted(): void {
    this.dropPartial();
    this.close();
  }

  private released(): void {
    this.face.budget.unregister(this.account);
    this.dropPartial();
  }

  /** A big packet left unfinished also left as many bytes of read buffers as garbage (reclaim.ts). */
  private dropPartial(): void {
    if (this.stream.heldBytes > EAGER_PACKET_LIMIT) this.face.reclaimer.schedule();
    this.stream.release();
  }
}

export class ClientFace {
  readonly clients = new Set<ClientConn>();
  readonly log: Logger;
  /** Peer pids of the clients (PROCESS_EXISTS, CHECK_PID_SRVID). */
  readonly pids: ClientPids<ClientConn>;
  private server: Server | undefined;
  private readonly maxPacketSize: number;
  readonly budget: MemoryBudget;
  readonly reclaimer: MemoryReclaimer;

  constructor(readonly opts: ClientFaceOptions) {
    this.log = opts.logger;
    this.budget = opts.budget ?? new MemoryBudget({}, this.log);
    this.reclaimer = opts.reclaimer ?? new MemoryReclaimer();
    this.maxPacketSize = opts.maxPacketSize ?? this.budget.limits.maxClientPacket;
    this.pids = new ClientPids({ logger: this.log, ss: opts.ss, socketPath: opts.socketPath, inodeOf: (c) => socketInode(c.socket) });
  }

  maxQueued(): number {
    return this.opts.maxQueuedPackets();
  }

  async start(): Promise<void> {
    const path = this.opts.socketPath;
    await mkdir(dirname(path), { recursive: true });
    // A stale socket from a crashed daemon would make listen() fail.
    await unlink(path).catch(() => undefined);
    const server = createServer({ allowHalfOpen: false }, (socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new DaemonStartError(`cannot listen on ${path}: ${err.message}`, err)));
      server.listen(path, () => resolve());
    });
    server.on('error', (err) => this.log.error({ err: err.message }, 'client socket error'));
    // Only the owner (root in production) may talk to ctdbd.
    await chmod(path, 0o700);
    this.server = server;
  }

  private accept(socket: Socket): void {
    const client = new ClientConn(this.opts.allocateClientId(), socket, this, this.maxPacketSize);
    this.clients.add(client);
    this.pids.add(client);
    socket.on('data', (chunk: Buffer) => client.onData(chunk));
    socket.on('error', (err) => this.log.debug({ clientId: client.clientId, err: err.message }, 'client socket error'));
    socket.on('close', () => {
      client.closed = true;
      this.clients.delete(client);
      this.pids.remove(client);
      this.opts.releaseClientId(client.clientId);
      this.opts.onClose(client);
    });
  }

  get count(): number {
    return this.clients.size;
  }

  async stop(): Promise<void> {
    this.pids.stop();
    this.reclaimer.stop();
    for (const c of this.clients) c.close();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    await unlink(this.opts.socketPath).catch(() => undefined);
  }
}
