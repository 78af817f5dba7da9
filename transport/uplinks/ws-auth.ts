// Mutual HMAC challenge-response for WebSocket uplinks. The cluster secret
// never crosses the wire: each side proves it knows it by a MAC over both
// nonces, both node numbers and its role (so answers cannot be replayed to
// another node, another connection, or reflected back).
//
//   acceptor -> dialer : {"t":"challenge","v":1,"node":A,"nonce":Na}
//   dialer -> acceptor : {"t":"auth","node":D,"nonce":Nd,"mac":H("auth",D,A,Na,Nd)}
//   acceptor -> dialer : {"t":"ok","mac":H("ok",A,D,Na,Nd)}
//
// H = HMAC-SHA256(secret, "ctbt-ws-v1|" + fields joined by "|"), nonces 32 random bytes, base64.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const WS_AUTH_VERSION = 1;

export type HandshakeMessage =
  | { t: 'challenge'; v: number; node: number; nonce: string }
  | { t: 'auth'; node: number; nonce: string; mac: string }
  | { t: 'ok'; mac: string };

export function newNonce(): string {
  return randomBytes(32).toString('base64');
}

export function handshakeMac(secret: Buffer, role: 'auth' | 'ok', from: number, to: number, acceptorNonce: string, dialerNonce: string): string {
  return createHmac('sha256', secret)
    .update(['ctbt-ws-v1', role, from, to, acceptorNonce, dialerNonce].join('|'))
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
