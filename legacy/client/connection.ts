import { createConnection, type Socket } from 'node:net';
import { EventEmitter } from 'node:events';
import { PacketFramer } from '../protocol/framing.ts';
import { decodePacket, encodePacket, type Packet } from '../protocol/packets.ts';
import { CtdbProtocolError } from '../protocol/errors.ts';
import type { Logger } from '../common/log.ts';
import { LegacyConnectError } from './errors.ts';

export interface ConnectionEvents {
  packet: [packet: Packet];
  /** Emitted once, when the socket is gone for whatever reason. */
  close: [reason: string];
}

/**
 * One unix-socket connection to ctdbd: socket + framer + decoder + write
 * queue. Knows nothing about requests or SRVIDs. The first write of a tick
 * goes to the kernel at once (a lone request is the latency case); further
 * writes in the same tick are corked together into one syscall (many small
 * messages are the throughput case).
 */
export class LegacyConnection extends EventEmitter<ConnectionEvents> {
  private readonly framer = new PacketFramer();
  private closed = false;
  /** idle: nothing written this tick; sent: one write went out uncorked; corked: later ones are held. */
  private tick: 'idle' | 'sent' | 'corked' = 'idle';
  /** Packets dropped because they could not be decoded (logged each time). */
  badPackets = 0;

  /** `logger` is read at each use: the client rebinds it once the PNN is known. */
  private constructor(private readonly socket: Socket, private readonly logger: () => Logger) {
    super();
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => this.shutdown(`socket error: ${err.code ?? err.message}`));
    socket.on('close', () => this.shutdown('socket closed by ctdbd'));
    socket.on('end', () => this.shutdown('socket closed by ctdbd'));
  }

  /** Open the socket; rejects with LegacyConnectError (ENOENT, ECONNREFUSED, EACCES, timeout). */
  static open(socketPath: string, log: () => Logger, timeoutMs: number): Promise<LegacyConnection> {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ path: socketPath });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new LegacyConnectError(socketPath, 'ETIMEDOUT'));
      }, timeoutMs);
      const onError = (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        socket.destroy();
        reject(new LegacyConnectError(socketPath, err.code, err));
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        resolve(new LegacyConnection(socket, log));
      });
    });
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Encode (client padding: exact length rounded to 8) and queue one packet. */
  send(packet: Packet): void {
    this.write(encodePacket(packet, { padding: 'client' }));
  }

  write(bytes: Buffer): void {
    if (this.closed) return;
    if (this.tick === 'idle') {
      this.tick = 'sent';
      process.nextTick(this.endTick);
    } else if (this.tick === 'sent') {
      this.tick = 'corked';
      this.socket.cork();
    }
    this.socket.write(bytes);
  }

  private readonly endTick = (): void => {
    const corked = this.tick === 'corked';
    this.tick = 'idle';
    if (corked && !this.closed) this.socket.uncork();
  };

  /** Bytes queued in the socket but not yet handed to the kernel. */
  get bufferedBytes(): number {
    return this.socket.writableLength;
  }

  close(reason = 'closed by client'): void {
    if (this.closed) return;
    this.socket.end();
    this.socket.destroy();
    this.shutdown(reason);
  }

  private onData(chunk: Buffer): void {
    try {
      this.framer.push(chunk, (bytes) => this.onPacket(bytes));
    } catch (err) {
      // The stream cannot be resynchronised: drop the connection.
      this.logger().error({ err }, 'framing error on ctdbd socket, closing');
      this.socket.destroy();
      this.shutdown(`framing error: ${(err as Error).message}`);
    }
  }

  private onPacket(bytes: Buffer): void {
    let packet: Packet;
    try {
      packet = decodePacket(bytes);
    } catch (err) {
      if (!(err instanceof CtdbProtocolError)) throw err;
      this.badPackets++;
      this.logger().warn({ err: err.message, length: bytes.length }, 'dropping undecodable packet from ctdbd');
      return;
    }
    try {
      this.emit('packet', packet);
    } catch (err) {
      // A bug in a consumer must not desynchronise the stream or kill the process.
      this.logger().error({ err }, 'packet consumer threw');
    }
  }

  private shutdown(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close', reason);
  }
}
