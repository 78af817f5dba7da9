// Mutual HMAC challenge-response for WebSocket uplinks. The cluster secret
// never crosses the wire: each side proves it knows it by a MAC over both
// nonces, both node numbers and its role (so answers cannot be replayed to
// another node, another connection, or reflected back).
//
//   acceptor -> dialer : {"t":"challenge","v":3,"node":A,"nonce":Na}
//   dialer -> acceptor : {"t":"auth","node":D,"nonce":Nd,"mac":H("auth",D,A,Na,Nd)}
//   acceptor -> dialer : {"t":"ok","mac":H("ok",A,D,Na,Nd)}
//
// H = HMAC-SHA256(secret, "ctbt-ws-v3|" + fields joined by "|"), nonces 32 random bytes, base64.
// (Version 2 added the sealed frames below, version 3 changed their MAC from
// HMAC-SHA256 to GMAC; a peer of another version fails at the challenge.)
//
// Every binary frame after the handshake is sealed (PROTOCOL.md §9.1): a
// 16-byte tag, GMAC (AES-256-GCM over no plaintext, the frame's packets as
// additional data) under a key of this connection and direction (derived from
// the secret and both fresh nonces), with the frame's sequence number as the
// GCM nonce. A forged, replayed, reordered or dropped frame fails its tag, and
// so does one recorded on another connection. A key never sees a nonce twice:
// it serves one direction of one connection, whose sequence never wraps.

import { createCipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const WS_AUTH_VERSION = 3;
const LABEL = `ctbt-ws-v${WS_AUTH_VERSION}`;

/** Shortest cluster secret accepted (the HMAC key of the handshake and of the frame keys). */
export const MIN_SECRET_BYTES = 16;

export type HandshakeMessage =
  | { t: 'challenge'; v: number; node: number; nonce: string }
  | { t: 'auth'; node: number; nonce: string; mac: string }
  | { t: 'ok'; mac: string };

export function newNonce(): string {
  return randomBytes(32).toString('base64');
}

export function handshakeMac(secret: Buffer, role: 'auth' | 'ok', from: number, to: number, acceptorNonce: string, dialerNonce: string): string {
  return createHmac('sha256', secret)
    .update([LABEL, role, from, to, acceptorNonce, dialerNonce].join('|'))
    .digest('base64');
}

export function macMatches(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'base64');
  const b = Buffer.from(given, 'base64');
  return a.length === b.length && timingSafeEqual(a, b);
}

const NONCE = /^[A-Za-z0-9+/]{43}=$/;

/** Parses one handshake text frame; undefined for anything malformed. */
export function parseHandshake(text: string): HandshakeMessage | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const m = v as Record<string, unknown>;
  const isNode = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 0xefffffff;
  const isMac = (x: unknown): x is string => typeof x === 'string' && NONCE.test(x);
  const isNonce = (x: unknown): x is string => typeof x === 'string' && NONCE.test(x);
  if (m.t === 'challenge' && m.v === WS_AUTH_VERSION && isNode(m.node) && isNonce(m.nonce)) {
    return { t: 'challenge', v: m.v, node: m.node, nonce: m.nonce };
  }
  if (m.t === 'auth' && isNode(m.node) && isNonce(m.nonce) && isMac(m.mac)) return { t: 'auth', node: m.node, nonce: m.nonce, mac: m.mac };
  if (m.t === 'ok' && isMac(m.mac)) return { t: 'ok', mac: m.mac };
  return undefined;
}

// ---- per-frame integrity ----

/** Bytes in front of each packet on an established link: the GMAC tag (full length). */
export const FRAME_TAG_BYTES = 16;
/** Frames per direction and connection; sequence numbers are exact JS integers below this. */
export const MAX_FRAME_SEQ = Number.MAX_SAFE_INTEGER;

/** The two keys of one connection: one per direction, so a frame cannot be reflected back. */
export function deriveFrameKeys(secret: Buffer, acceptor: number, dialer: number, acceptorNonce: string, dialerNonce: string): {
  dialerToAcceptor: Buffer;
  acceptorToDialer: Buffer;
} {
  const key = (direction: string): Buffer => createHmac('sha256', secret)
    .update([LABEL, 'frame-key', direction, acceptor, dialer, acceptorNonce, dialerNonce].join('|'))
    .digest();
  return { dialerToAcceptor: key('dialer-to-acceptor'), acceptorToDialer: key('acceptor-to-dialer') };
}

/** GCM nonces: 12 bytes, the first 4 zero, then the frame's sequence number as u64 big-endian. */
const NONCE_BYTES = 12;

/**
 * GMAC of `packet` under `key` (AES-256) with the nonce for `seq`: AES-256-GCM
 * with the packet as additional data and no plaintext. `nonce` is scratch space.
 */
function frameTag(key: Buffer, nonce: Buffer, seq: number, packet: Buffer): Buffer {
  nonce.writeUInt32BE(Math.floor(seq / 0x1_0000_0000), 4);
  nonce.writeUInt32BE(seq >>> 0, 8);
  const gmac = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: FRAME_TAG_BYTES });
  gmac.setAAD(packet);
  gmac.final();
  return gmac.getAuthTag();
}

/** Sending side of one direction: numbers frames 0, 1, 2, ... and writes their tags. */
export class FrameSealer {
  private seq = 0;
  private readonly nonce = Buffer.alloc(NONCE_BYTES);
  constructor(private readonly key: Buffer) {}

  /**
   * Writes the tag of `frame[FRAME_TAG_BYTES..]` (the packet) into its first
   * FRAME_TAG_BYTES. false once the sequence is used up: the link must be
   * closed (a new handshake brings new keys).
   */
  seal(frame: Buffer): boolean {
    if (this.seq >= MAX_FRAME_SEQ) return false;
    frameTag(this.key, this.nonce, this.seq, frame.subarray(FRAME_TAG_BYTES)).copy(frame, 0);
    this.seq++;
    return true;
  }
}

/** Receiving side of one direction: accepts exactly the next frame the peer sealed. */
export class FrameOpener {
  private seq = 0;
  private readonly nonce = Buffer.alloc(NONCE_BYTES);
  /** Set by the first frame that fails; every later one fails too (the link is being closed). */
  failed = false;
  constructor(private readonly key: Buffer) {}

  /** The sequence number the next frame must carry (for log lines). */
  get expectedSeq(): number {
    return this.seq;
  }

  /** The packet inside `frame`, or undefined when its tag does not match the next sequence number. */
  open(frame: Buffer): Buffer | undefined {
    if (this.failed || frame.length < FRAME_TAG_BYTES) {
      this.failed = true;
      return undefined;
    }
    const packet = frame.subarray(FRAME_TAG_BYTES);
    const tag = frameTag(this.key, this.nonce, this.seq, packet);
    if (!timingSafeEqual(tag, frame.subarray(0, FRAME_TAG_BYTES))) {
      this.failed = true;
      return undefined;
    }
    this.seq++;
    return packet;
  }
}

export interface FrameSession {
  sealer: FrameSealer;
  opener: FrameOpener;
}

/** The sealer and opener of one side of an authenticated connection. */
export function frameSession(secret: Buffer, side: 'dialer' | 'acceptor', acceptor: number, dialer: number, acceptorNonce: string, dialerNonce: string): FrameSession {
  const keys = deriveFrameKeys(secret, acceptor, dialer, acceptorNonce, dialerNonce);
  return side === 'dialer'
    ? { sealer: new FrameSealer(keys.dialerToAcceptor), opener: new FrameOpener(keys.acceptorToDialer) }
    : { sealer: new FrameSealer(keys.acceptorToDialer), opener: new FrameOpener(keys.dialerToAcceptor) };
}
