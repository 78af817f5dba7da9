// Native uplink: WebSocket links between transportds. Each node listens on
// its own node address; of every pair, the lower node number dials the
// higher one (one link per pair, no races) and keeps redialling with
// backoff. Links are authenticated with the cluster secret (ws-auth.ts).
// A binary frame carries the transport packets sent to one peer in one tick
// (usually one; back to back, each delimited by its header's length), behind
// a 16-byte tag that binds them to this connection, direction and position
// (ws-auth.ts, PROTOCOL.md §9.1); the first frame that fails closes the link.
// Batching a tick's packets pays for one MAC and one WebSocket frame each.

import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { Logger } from 'pino';
import { createLogger } from '../../legacy/common/log.ts';
import { DEFAULT_MAX_PAYLOAD, HEADER_SIZE, Offset } from '../header.ts';
import {
  FRAME_TAG_BYTES, MIN_SECRET_BYTES, WS_AUTH_VERSION, frameSession, handshakeMac, macMatches, newNonce, parseHandshake,
  type FrameOpener, type FrameSealer, type FrameSession,
} from './ws-auth.ts';
import type { Uplink, UplinkNode, UplinkPacketHandler, UplinkReachabilityHandler } from './uplink.ts';

export const WS_PATH = '/ctdb-bridge/transport';

export interface WsPeer {
  node: number;
  host: string;
  port: number;
}

export interface WebSocketUplinkOptions {
  node: number;
  /** This node's address (also the source address of outgoing links); port 0 picks one. */
  listen: { host: string; port: number };
  /** The other nodes; an entry for this node is ignored. Can be changed later with setPeers. */
  peers: WsPeer[];
  secret: Buffer | string;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  handshakeTimeoutMs?: number;
  /** Liveness pings; a link that misses one pong is dropped. */
  pingIntervalMs?: number;
  maxPacketSize?: number;
  /** Unsent bytes per link beyond which packets are dropped. */
  maxBufferedBytes?: number;
  /** Packets of one tick share a frame up to this many packet bytes (default 64 KiB; 0: one packet per frame). */
  batchBytes?: number;
  logger?: Logger;
}

/** Close codes in the application range. */
const CLOSE_AUTH = 4001;
const CLOSE_UNEXPECTED_NODE = 4002;
const CLOSE_UNKNOWN_NODE = 4003;
const CLOSE_PROTOCOL = 4004;
const CLOSE_REPLACED = 4005;
const CLOSE_INTEGRITY = 4006;

const DEFAULT_BATCH_BYTES = 64 * 1024;

/**
 * The dialer's masking key: always zero, which ws then skips (sender and
 * receiver). RFC 6455 masking keeps script in a browser from choosing the
 * bytes a proxy sees; our dialer is a transportd, and every frame it sends
 * begins with a tag nobody without the key can predict. XORing 64 KiB twice
 * cost about a quarter of the CPU of a 64 KiB request.
 */
const zeroMask = (mask: Buffer): void => void mask.fill(0);

export interface WsLinkInfo {
  node: number;
  direction: 'dialed' | 'accepted';
  remoteAddress: string | undefined;
  localAddress: string | undefined;
}

type SocketAddresses = Pick<WsLinkInfo, 'remoteAddress' | 'localAddress'>;

interface PeerState {
  peer: WsPeer;
  link?: WebSocket;
  /** Seals what goes out on `link`; set and cleared with it. */
  sealer?: FrameSealer;
  /** This tick's frame, not yet sent: the first packet's frame (tag room in front), then further packets. */
  batch?: Buffer[];
  batchBytes: number;
  info?: WsLinkInfo;
  dialing?: WebSocket;
  timer?: NodeJS.Timeout;
  backoff: number;
}

export class WebSocketUplink implements Uplink {
  readonly kind = 'ws';
  readonly localNode: number;
  readonly maxPacketSize: number;
  /** The frame tag goes in front of the packet, written in place by sendFrame. */
  readonly frameRoom = FRAME_TAG_BYTES;
  private readonly secret: Buffer;
  /** Packet bytes one frame may gather; never more than a peer takes in one packet. */
  private readonly batchLimit: number;
  private readonly logger: Logger;
  private readonly peers = new Map<number, PeerState>();
  private readonly pending = new Set<WebSocket>();
  private server: WebSocketServer | undefined;
  private pinger: NodeJS.Timeout | undefined;
  private running = false;
  private packetHandler: UplinkPacketHandler | undefined;
  private reachHandler: UplinkReachabilityHandler | undefined;
  private boundPort = 0;

  constructor(private readonly opts: WebSocketUplinkOptions) {
    this.localNode = opts.node;
    this.maxPacketSize = opts.maxPacketSize ?? HEADER_SIZE + DEFAULT_MAX_PAYLOAD;
    this.batchLimit = Math.min(opts.batchBytes ?? DEFAULT_BATCH_BYTES, this.maxPacketSize);
    this.secret = Buffer.isBuffer(opts.secret) ? opts.secret : Buffer.from(opts.secret, 'utf8');
    if (this.secret.length < MIN_SECRET_BYTES) throw new Error(`the cluster secret must be at least ${MIN_SECRET_BYTES} bytes`);
    this.logger = opts.logger ?? createLogger({ component: 'ws-uplink', node: opts.node });
    this.setPeersQuietly(opts.peers);
  }

  /** The address actually listened on (after start; port resolved when 0 was asked). */
  get address(): { host: string; port: number } {
    return { host: this.opts.listen.host, port: this.boundPort };
  }

  async start(): Promise<void> {
    if (this.running) return;
    const server = new WebSocketServer({
      host: this.opts.listen.host,
      port: this.opts.listen.port,
      path: WS_PATH,
      maxPayload: this.maxPacketSize + FRAME_TAG_BYTES,
      perMessageDeflate: false, // ws's server default too; frames are sealed, never compressed
    });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    server.on('error', (err) => this.logger.warn({ err }, 'websocket server error'));
    server.on('connection', (ws, req) => this.accept(ws, { remoteAddress: req.socket.remoteAddress, localAddress: req.socket.localAddress }));
    this.server = server;
    this.boundPort = (server.address() as AddressInfo).port;
    this.running = true;
    this.pinger = setInterval(() => this.pingAll(), this.opts.pingIntervalMs ?? 5000);
    this.pinger.unref();
    for (const state of this.peers.values()) this.dialIfMine(state);
    this.logger.info({ address: this.address }, 'websocket uplink listening');
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearInterval(this.pinger);
    const closing: Array<Promise<void>> = [];
    for (const state of this.peers.values()) {
      clearTimeout(state.timer);
      for (const ws of [state.link, state.dialing]) if (ws) closing.push(closeSocket(ws));
      state.link = undefined;
      state.sealer = undefined;
      state.dialing = undefined;
    }
    for (const ws of this.pending) closing.push(closeSocket(ws));
    this.pending.clear();
    await Promise.all(closing);
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }

  /** Replaces the peer list (nodes file reloaded, or ports learned in tests). */
  setPeers(peers: WsPeer[]): void {
    const before = new Set(this.peers.keys());
    const changed = this.setPeersQuietly(peers);
    for (const node of before) {
      if (!this.peers.has(node)) this.reachHandler?.(node, false);
    }
    for (const node of changed) {
      const state = this.peers.get(node)!;
      if (this.running) this.dialIfMine(state);
      this.reachHandler?.(node, state.link !== undefined);
    }
  }

  send(destNode: number, bytes: Buffer): boolean {
    const frame = Buffer.allocUnsafe(FRAME_TAG_BYTES + bytes.length);
    bytes.copy(frame, FRAME_TAG_BYTES);
    return this.sendFrame(destNode, frame);
  }

  /**
   * `frame` holds the packet from FRAME_TAG_BYTES on. Alone in its tick, the
   * tag is written in place and the frame sent as it is (no copy); packets
   * that follow in the same tick join it, up to batchBytes.
   */
  sendFrame(destNode: number, frame: Buffer): boolean {
    const state = this.peers.get(destNode);
    const link = state?.link;
    if (!link || !state.sealer || link.readyState !== WebSocket.OPEN) return false;
    if (link.bufferedAmount > (this.opts.maxBufferedBytes ?? 64 * 1024 * 1024)) {
      this.logger.warn({ peer: destNode, buffered: link.bufferedAmount }, 'link congested; packet dropped');
      return false;
    }
    const bytes = frame.length - FRAME_TAG_BYTES;
    if (state.batch) {
      if (state.batchBytes + bytes <= this.batchLimit) {
        state.batch.push(frame.subarray(FRAME_TAG_BYTES));
        state.batchBytes += bytes;
        return true;
      }
      this.flush(state);
    }
    state.batch = [frame];
    state.batchBytes = bytes;
    queueMicrotask(() => this.flush(state));
    return true;
  }

  /** Seals and sends the tick's frame; lost with the link if it went meanwhile (best effort, as any packet). */
  private flush(state: PeerState): void {
    const batch = state.batch;
    if (!batch) return;
    state.batch = undefined;
    const { link, sealer } = state;
    if (!link || !sealer || link.readyState !== WebSocket.OPEN) return;
    const frame = batch.length === 1 ? batch[0] : Buffer.concat(batch, FRAME_TAG_BYTES + state.batchBytes);
    if (!sealer.seal(frame)) {
      this.logger.info({ peer: state.peer.node }, 'frame sequence used up; closing the link for a new handshake');
      hangUp(link, CLOSE_REPLACED, 'rekey');
      return;
    }
    link.send(frame, { binary: true });
  }

  onPacket(handler: UplinkPacketHandler): void {
    this.packetHandler = handler;
  }

  onNodeReachability(handler: UplinkReachabilityHandler): void {
    this.reachHandler = handler;
  }

  knownNodes(): UplinkNode[] {
    const nodes: UplinkNode[] = [{ node: this.localNode, reachable: true }];
    for (const [node, s] of this.peers) nodes.push({ node, reachable: s.link !== undefined });
    return nodes.sort((a, b) => a.node - b.node);
  }

  /** The links that are up, for status and tests. */
  links(): WsLinkInfo[] {
    return [...this.peers.values()].flatMap((s) => (s.link && s.info ? [s.info] : [])).sort((a, b) => a.node - b.node);
  }

  // ---- peers ----

  /** Returns the nodes that are new or whose address changed. */
  private setPeersQuietly(peers: WsPeer[]): number[] {
    const wanted = new Map(peers.filter((p) => p.node !== this.opts.node).map((p) => [p.node, p]));
    const changed: number[] = [];
    for (const [node, state] of this.peers) {
      const next = wanted.get(node);
      if (!next || next.host !== state.peer.host || next.port !== state.peer.port) {
        this.dropPeer(state);
        this.peers.delete(node);
      }
    }
    for (const [node, peer] of wanted) {
      if (!this.peers.has(node)) {
        this.peers.set(node, { peer, backoff: 0, batchBytes: 0 });
        changed.push(node);
      }
    }
    return changed;
  }

  private dropPeer(state: PeerState): void {
    clearTimeout(state.timer);
    for (const ws of [state.link, state.dialing]) if (ws) void closeSocket(ws);
    state.link = undefined;
    state.sealer = undefined;
    state.dialing = undefined;
  }

  // ---- dialling (we are the lower node number) ----

  private dialIfMine(state: PeerState): void {
    if (this.localNode < state.peer.node) this.dial(state);
  }

  private dial(state: PeerState): void {
    if (!this.running || state.link || state.dialing || this.peers.get(state.peer.node) !== state) return;
    clearTimeout(state.timer);
    state.timer = undefined;
    const { host, port, node } = state.peer;
    const url = `ws://${host.includes(':') ? `[${host}]` : host}:${port}${WS_PATH}`;
    const ws = new WebSocket(url, {
      localAddress: this.opts.listen.host,
      handshakeTimeout: this.opts.handshakeTimeoutMs ?? 5000,
      maxPayload: this.maxPacketSize + FRAME_TAG_BYTES,
      perMessageDeflate: false,
      generateMask: zeroMask,
    });
    state.dialing = ws;
    let addresses: SocketAddresses = { remoteAddress: undefined, localAddress: undefined };
    ws.once('upgrade', (res) => {
      addresses = { remoteAddress: res.socket.remoteAddress, localAddress: res.socket.localAddress };
    });
    const myNonce = newNonce();
    let acceptorNonce: string | undefined;
    let opener: FrameOpener | undefined;
    const timer = setTimeout(() => ws.terminate(), this.opts.handshakeTimeoutMs ?? 5000);
    ws.on('error', (err) => this.logger.debug({ err, peer: node }, 'dial failed'));
    ws.on('close', (code, reason) => {
      clearTimeout(timer);
      if (state.dialing === ws) state.dialing = undefined;
      if (code === CLOSE_AUTH || code === CLOSE_UNKNOWN_NODE || code === CLOSE_UNEXPECTED_NODE) {
        this.logger.warn({ peer: node, code, reason: reason.toString() }, 'peer refused our link');
      }
      this.scheduleRedial(state);
    });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (opener) return this.receive(node, data, isBinary, ws, opener);
      const msg = isBinary ? undefined : parseHandshake(data.toString());
      if (msg?.t === 'challenge' && acceptorNonce === undefined) {
        if (msg.node !== node) {
          this.logger.warn({ peer: node, claimed: msg.node }, 'peer answered with another node number');
          return ws.close(CLOSE_UNEXPECTED_NODE, 'unexpected node');
        }
        acceptorNonce = msg.nonce;
        ws.send(JSON.stringify({
          t: 'auth', node: this.localNode, nonce: myNonce,
          mac: handshakeMac(this.secret, 'auth', this.localNode, node, acceptorNonce, myNonce),
        }));
        return;
      }
      if (msg?.t === 'ok' && acceptorNonce !== undefined) {
        if (!macMatches(handshakeMac(this.secret, 'ok', node, this.localNode, acceptorNonce, myNonce), msg.mac)) {
          this.logger.warn({ peer: node }, 'peer failed to prove the cluster secret');
          return ws.close(CLOSE_AUTH, 'authentication failed');
        }
        clearTimeout(timer);
        state.dialing = undefined;
        const session = frameSession(this.secret, 'dialer', node, this.localNode, acceptorNonce, myNonce);
        opener = session.opener;
        this.established(state, ws, 'dialed', addresses, session);
        return;
      }
      this.logger.warn({ peer: node }, 'unexpected frame during handshake');
      ws.close(CLOSE_PROTOCOL, 'protocol error');
    });
  }

  private scheduleRedial(state: PeerState): void {
    if (!this.running || state.link || state.dialing || state.timer || this.peers.get(state.peer.node) !== state) return;
    if (this.localNode > state.peer.node) return;
    const min = this.opts.reconnectMinMs ?? 100;
    const max = this.opts.reconnectMaxMs ?? 5000;
    state.backoff = state.backoff === 0 ? min : Math.min(max, state.backoff * 2);
    state.timer = setTimeout(() => {
      state.timer = undefined;
      this.dial(state);
    }, state.backoff);
    state.timer.unref();
  }

  // ---- accepting (the peer is the lower node number) ----

  private accept(ws: WebSocket, addresses: SocketAddresses): void {
    const remote = addresses.remoteAddress;
    if (!this.running) return void ws.terminate();
    this.pending.add(ws);
    const myNonce = newNonce();
    const timer = setTimeout(() => ws.terminate(), this.opts.handshakeTimeoutMs ?? 5000);
    let peerNode: number | undefined;
    let opener: FrameOpener | undefined;
    ws.on('error', (err) => this.logger.debug({ err, remote }, 'accepted link error'));
    ws.on('close', () => {
      clearTimeout(timer);
      this.pending.delete(ws);
    });
    ws.send(JSON.stringify({ t: 'challenge', v: WS_AUTH_VERSION, node: this.localNode, nonce: myNonce }));
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (peerNode !== undefined && opener) return this.receive(peerNode, data, isBinary, ws, opener);
      const msg = isBinary ? undefined : parseHandshake(data.toString());
      if (msg?.t !== 'auth') {
        this.logger.warn({ remote }, 'unexpected frame during handshake');
        return ws.close(CLOSE_PROTOCOL, 'protocol error');
      }
      const state = this.peers.get(msg.node);
      // Only lower nodes dial us; anything else is a stranger or a misconfigured peer.
      if (!state || msg.node > this.localNode) {
        this.logger.warn({ remote, claimed: msg.node }, 'link from a node not in the peer list (or not below us) refused');
        return ws.close(CLOSE_UNKNOWN_NODE, 'unknown node');
      }
      if (!macMatches(handshakeMac(this.secret, 'auth', msg.node, this.localNode, myNonce, msg.nonce), msg.mac)) {
        this.logger.warn({ remote, claimed: msg.node }, 'link with a wrong cluster secret refused');
        return ws.close(CLOSE_AUTH, 'authentication failed');
      }
      clearTimeout(timer);
      this.pending.delete(ws);
      peerNode = msg.node;
      const session = frameSession(this.secret, 'acceptor', this.localNode, msg.node, myNonce, msg.nonce);
      opener = session.opener;
      ws.send(JSON.stringify({ t: 'ok', mac: handshakeMac(this.secret, 'ok', this.localNode, msg.node, myNonce, msg.nonce) }));
      this.established(state, ws, 'accepted', addresses, session);
    });
  }

  // ---- established links ----

  private established(state: PeerState, ws: WebSocket, direction: WsLinkInfo['direction'], addresses: SocketAddresses, session: FrameSession): void {
    const node = state.peer.node;
    const old = state.link;
    state.link = ws;
    state.sealer = session.sealer;
    state.info = { node, direction, ...addresses };
    state.backoff = 0;
    // A newer link from the same peer wins (the peer restarted before we saw the old one die).
    if (old && old !== ws) old.close(CLOSE_REPLACED, 'replaced');
    (ws as WebSocket & { alive?: boolean }).alive = true;
    ws.on('pong', () => ((ws as WebSocket & { alive?: boolean }).alive = true));
    ws.on('close', () => {
      if (state.link !== ws) return;
      state.link = undefined;
      state.sealer = undefined;
      this.logger.info({ peer: node }, 'link down');
      if (this.running) this.reachHandler?.(node, false);
      this.scheduleRedial(state);
    });
    this.logger.info({ peer: node }, 'link up');
    if (!old) this.reachHandler?.(node, true);
  }

  private receive(node: number, data: RawData, isBinary: boolean, ws: WebSocket, opener: FrameOpener): void {
    if (opener.failed) return; // the link is closing; nothing more from it counts
    if (!isBinary) {
      opener.failed = true;
      this.logger.warn({ peer: node }, 'text frame on an established link; closing it');
      hangUp(ws, CLOSE_PROTOCOL, 'protocol error');
      return;
    }
    const frame = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    const seq = opener.expectedSeq;
    const packets = opener.open(frame);
    if (!packets) {
      this.logger.warn({ peer: node, seq, bytes: frame.length },
        'frame failed its integrity check (forged, replayed, reordered or dropped on the way); closing the link');
      hangUp(ws, CLOSE_INTEGRITY, 'integrity check failed');
      return;
    }
    // Packets back to back, each as long as its header says; what does not parse goes on as one
    // packet for transportd to refuse (it checks every header).
    for (let at = 0; at < packets.length && this.running;) {
      const rest = packets.length - at;
      const length = rest >= HEADER_SIZE ? HEADER_SIZE + packets.readUInt32BE(at + Offset.payloadLength) : rest;
      const end = length <= rest ? at + length : packets.length;
      this.packetHandler?.(packets.subarray(at, end), node);
      at = end;
    }
  }

  private pingAll(): void {
    for (const state of this.peers.values()) {
      const ws = state.link as (WebSocket & { alive?: boolean }) | undefined;
      if (!ws) continue;
      if (!ws.alive) {
        this.logger.warn({ peer: state.peer.node }, 'peer missed a ping; dropping link');
        ws.terminate();
        continue;
      }
      ws.alive = false;
      ws.ping();
    }
  }
}

/** Closes with `code` for the peer's log, and cuts the socket if the close handshake does not finish soon. */
function hangUp(ws: WebSocket, code: number, reason: string): void {
  ws.close(code, reason);
  const t = setTimeout(() => ws.terminate(), 1000);
  t.unref();
  ws.once('close', () => clearTimeout(t));
}

function closeSocket(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    ws.once('close', () => resolve());
    const t = setTimeout(() => ws.terminate(), 1000);
    t.unref();
    if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
    else ws.close(1001, 'going away');
  });
}
