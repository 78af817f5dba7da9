// A PacketLink carries whole packets between one TransportClient and its
// transportd: over a unix-socket byte stream (framed) or in-process.

import type { Socket } from 'node:net';
import { DEFAULT_MAX_PAYLOAD, checkHeader, type TransportHeader } from './header.ts';
import { FrameReader } from './framing.ts';
import { NotConnectedError, TransportDecodeError } from './errors.ts';
import { Offset } from './header.ts';
import { encodePacketParts, withHeader, type Packet } from './packet.ts';

export interface LinkHandlers {
  packet(packet: Packet): void;
  /** A frame with an invalid header was skipped; the link stays up. */
  invalid?(error: TransportDecodeError, raw: TransportHeader): void;
  /** Called once; `error` says why when the link did not close cleanly. */
  close(error?: Error): void;
}

export interface PacketLink {
  readonly description: string;
  /** Begins delivery to the handlers (call once). */
  start(handlers: LinkHandlers): void;
  /** Throws TransportDecodeError for an invalid header, NotConnectedError once closed. */
  send(packet: Packet): void;
  close(): void;
  readonly closed: boolean;
}

export interface SocketLinkOptions {
  maxPayload?: number;
  /** Unsent bytes allowed to pile up for a peer that does not read; beyond that it is disconnected. */
  maxQueuedBytes?: number;
}

export function socketLink(socket: Socket, opts: SocketLinkOptions = {}): PacketLink {
  const maxPayload = opts.maxPayload ?? DEFAULT_MAX_PAYLOAD;
  const maxQueued = opts.maxQueuedBytes ?? 64 * 1024 * 1024;
  const reader = new FrameReader({ maxPayload });
  let closed = false;
  let handlers: LinkHandlers | undefined;
  let closeError: Error | undefined;
  /**
   * Packets sent in one tick leave in one writev: the socket is corked at the
   * first and uncorked on nextTick, which runs once the event being handled
   * (a read's packets routed, a reply's microtasks drained) is done. One
   * write syscall per packet was most of a busy transportd's CPU.
   */
  let corked = false;
  const uncork = (): void => {
    corked = false;
    socket.uncork();
  };

  const finish = (): void => {
    if (closed) return;
    closed = true;
    handlers?.close(closeError);
  };

  return {
    description: `unix:${socket.remoteAddress ?? socket.localAddress ?? 'socket'}`,
    get closed() {
      return closed;
    },
    start(h) {
      handlers = h;
      socket.on('data', (chunk: Buffer) => {
        let events;
        try {
          events = reader.push(chunk);
        } catch (err) {
          closeError = err as Error;
          socket.destroy();
          return;
        }
        for (const ev of events) {
          if (closed) return;
          if (ev.kind === 'packet') h.packet(ev.packet);
          else h.invalid?.(ev.error, ev.raw);
        }
      });
      socket.on('error', (err) => {
        closeError ??= err;
      });
      socket.on('close', finish);
      if (socket.destroyed) finish();
    },
    send(packet) {
      if (closed || socket.destroyed) throw new NotConnectedError('link is closed');
      if (!corked) {
        corked = true;
        socket.cork();
        process.nextTick(uncork);
      }
      for (const part of encodePacketParts(packet, maxPayload)) socket.write(part);
      if (socket.writableLength > maxQueued) {
        closeError = new Error(`peer does not read: ${socket.writableLength} bytes queued`);
        socket.destroy();
      }
    },
    close() {
      socket.end();
      // A peer that never closes its side must not keep us waiting.
      setTimeout(() => socket.destroy(), 1000).unref();
    },
  };
}

/**
 * Two connected in-process links, a (client side) and b (transportd side);
 * packets keep their order on each link. Delivery is synchronous where that
 * is safe and saves a microtask hop per packet (and lets a reply reach the
 * socket before the read that caused it unwinds):
 * - a -> b always: transportd's routing runs no component code inline
 *   (its deliveries made meanwhile are queued, below);
 * - b -> a only when no in-process delivery is running (transportd acting
 *   on a socket or uplink event), so a component's handler never runs
 *   inside another component's send(); otherwise on a microtask, as before.
 */
export function inProcessLinkPair(maxPayload = DEFAULT_MAX_PAYLOAD): [PacketLink, PacketLink] {
  const a = new InProcessLink('inproc:a', maxPayload, true);
  const b = new InProcessLink('inproc:b', maxPayload, false);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** In-process deliveries running right now, on any link. */
let delivering = 0;

class InProcessLink implements PacketLink {
  peer!: InProcessLink;
  closed = false;
  private handlers: LinkHandlers | undefined;
  private backlog: Packet[] = [];
  /** Packets to the peer still waiting on a microtask: a later one must not overtake them. */
  private queued = 0;

  /**
   * `clientSide`: the component's end. Its sends are delivered synchronously
   * even inside another delivery (see inProcessLinkPair), and their headers
   * are checked as a socket's frame reader would; transportd's end sends
   * only packets it has checked already.
   */
  constructor(readonly description: string, private readonly maxPayload: number, private readonly clientSide: boolean) {}

  start(handlers: LinkHandlers): void {
    this.handlers = handlers;
    for (const p of this.backlog.splice(0)) handlers.packet(p);
    if (this.closed) handlers.close();
  }

  send(packet: Packet): void {
    if (this.closed) throw new NotConnectedError('link is closed');
    const out = packet.header.payloadLength === packet.payload.length ? packet : withHeader(packet, { payloadLength: packet.payload.length });
    if (this.clientSide) {
      const problem = checkHeader(out.header, this.maxPayload);
      if (problem) throw new TransportDecodeError(problem.field, Offset[problem.field], problem.detail);
    }
    const peer = this.peer;
    if (this.queued === 0 && (this.clientSide || delivering === 0)) {
      delivering++;
      try {
        peer.receive(out);
      } catch (err) {
        // Not the sender's fault: surface it as the microtask delivery did (uncaught).
        queueMicrotask(() => {
          throw err;
        });
      } finally {
        delivering--;
      }
      return;
    }
    this.queued++;
    queueMicrotask(() => {
      this.queued--;
      peer.receive(out);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    queueMicrotask(() => {
      this.handlers?.close();
      this.peer.remoteClosed();
    });
  }

  private receive(packet: Packet): void {
    if (this.closed) return;
    if (this.handlers) this.handlers.packet(packet);
    else this.backlog.push(packet);
  }

  private remoteClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.handlers?.close();
  }
}
