import { CtdbDecodeError, CtdbEncodeError } from '../errors.ts';
import { f, struct, type FixedCodec } from '../struct.ts';

/**
 * ctdb_sock_addr (types.md §2): a 28-byte union of sockaddr_in and
 * sockaddr_in6. Family is host order (LE), port and address network order.
 */
export interface SockAddr {
  family: 'inet' | 'inet6';
  /** Dotted quad or RFC 5952 IPv6 text. */
  address: string;
  port: number;
  /** IPv6 only; present when non-zero. */
  flowinfo?: number;
  /** IPv6 only; present when non-zero. */
  scopeId?: number;
}

export const AF_INET = 2;
/** Linux value. */
export const AF_INET6 = 10;
export const SOCK_ADDR_SIZE = 28;

function fail(offset: number, field: string, reason: string): never {
  throw new CtdbDecodeError('ctdb_sock_addr', field, offset, reason);
}

export const sockAddrCodec: FixedCodec<SockAddr> = {
  size: SOCK_ADDR_SIZE,
  decode(buf: Buffer, o: number): SockAddr {
    if (o + SOCK_ADDR_SIZE > buf.length) fail(o, '', `needs 28 bytes, only ${buf.length - o} left`);
    const family = buf[o] | (buf[o + 1] << 8);
    const port = (buf[o + 2] << 8) | buf[o + 3];
    if (family === AF_INET) return { family: 'inet', address: ipv4Text(buf, o + 4), port };
    if (family === AF_INET6) {
      const addr: SockAddr = { family: 'inet6', address: formatIpv6(buf, o + 8), port };
      const flowinfo = buf.readUInt32BE(o + 4);
      const scopeId = buf.readUInt32LE(o + 24);
      if (flowinfo !== 0) addr.flowinfo = flowinfo;
      if (scopeId !== 0) addr.scopeId = scopeId;
      return addr;
    }
    return fail(o, 'family', `unknown address family ${family} (expected 2 AF_INET or 10 AF_INET6)`);
  },
  encode(value: SockAddr, out: Buffer, o: number): void {
    if (value === null || typeof value !== 'object') throw new CtdbEncodeError('ctdb_sock_addr', '', 'expected an address object');
    const port = value.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 0xffff) {
      throw new CtdbEncodeError('ctdb_sock_addr', 'port', `expected 0..65535, got ${String(port)}`);
    }
    if (value.family === 'inet') {
      const ip = ipv4Value(value.address);
      if (ip < 0) throw new CtdbEncodeError('ctdb_sock_addr', 'address', `not an IPv4 address: ${String(value.address)}`);
      out[o] = AF_INET;
      out[o + 1] = 0;
      out[o + 2] = port >>> 8;
      out[o + 3] = port & 0xff;
      out[o + 4] = ip >>> 24;
      out[o + 5] = (ip >>> 16) & 0xff;
      out[o + 6] = (ip >>> 8) & 0xff;
      out[o + 7] = ip & 0xff;
      for (let i = o + 8; i < o + SOCK_ADDR_SIZE; i++) out[i] = 0; // sin_zero and the union tail; cheaper than fill()
    } else if (value.family === 'inet6') {
      out.fill(0, o, o + SOCK_ADDR_SIZE);
      const bytes = parseIpv6(value.address);
      if (!bytes) throw new CtdbEncodeError('ctdb_sock_addr', 'address', `not an IPv6 address: ${String(value.address)}`);
      out.writeUInt16LE(AF_INET6, o);
      out.writeUInt16BE(port, o + 2);
      out.writeUInt32BE((value.flowinfo ?? 0) >>> 0, o + 4);
      out.set(bytes, o + 8);
      out.writeUInt32LE((value.scopeId ?? 0) >>> 0, o + 24);
    } else {
      throw new CtdbEncodeError('ctdb_sock_addr', 'family', `expected 'inet' or 'inet6', got ${String(value.family)}`);
    }
  },
  padRanges(value: SockAddr): Array<[number, number]> {
    // sin_zero and the unused tail of the union may carry anything.
    return value.family === 'inet' ? [[8, SOCK_ADDR_SIZE]] : [];
  },
};

/** A bare ctdb_sock_addr payload (GET_TCP_TICKLE_LIST, GET_PUBLIC_IP_INFO requests). */
export interface SockAddrPayload { addr: SockAddr }
export const sockAddrDef = struct<SockAddrPayload>('ctdb_sock_addr', [f.fixed('addr', sockAddrCodec)]);

/**
 * Node maps and public IP lists repeat the same few addresses in every
 * packet: remember the text <-> value conversions (bounded; reset when full).
 */
const IPV4_CACHE_LIMIT = 4096;
const ipv4TextCache = new Map<number, string>();
const ipv4ValueCache = new Map<string, number>();
const ipv4Scratch = new Uint8Array(4);

/** The dotted quad at buf[o..o+4]. */
function ipv4Text(buf: Buffer, o: number): string {
  const value = ((buf[o] << 24) | (buf[o + 1] << 16) | (buf[o + 2] << 8) | buf[o + 3]) >>> 0;
  let text = ipv4TextCache.get(value);
  if (text === undefined) {
    text = `${buf[o]}.${buf[o + 1]}.${buf[o + 2]}.${buf[o + 3]}`;
    if (ipv4TextCache.size >= IPV4_CACHE_LIMIT) ipv4TextCache.clear();
    ipv4TextCache.set(value, text);
  }
  return text;
}

/** A dotted quad as an unsigned 32-bit value (first octet highest), or -1 when it is not one. */
function ipv4Value(s: unknown): number {
  if (typeof s !== 'string') return -1;
  let value = ipv4ValueCache.get(s);
  if (value === undefined) {
    if (!parseIpv4Into(s, ipv4Scratch, 0)) return -1;
    value = ((ipv4Scratch[0] << 24) | (ipv4Scratch[1] << 16) | (ipv4Scratch[2] << 8) | ipv4Scratch[3]) >>> 0;
    if (ipv4ValueCache.size >= IPV4_CACHE_LIMIT) ipv4ValueCache.clear();
    ipv4ValueCache.set(s, value);
  }
  return value;
}

export function parseIpv4(s: unknown): Uint8Array | undefined {
  const out = new Uint8Array(4);
  return parseIpv4Into(s, out, 0) ? out : undefined;
}

/** Dotted quad into out[o..o+4]; a plain loop (hot path of every node map / public IP encode). */
export function parseIpv4Into(s: unknown, out: Uint8Array, o: number): boolean {
  if (typeof s !== 'string' || s.length < 7 || s.length > 15) return false;
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46; // virtual '.' at the end
    if (c === 46) {
      if (digits === 0 || value > 255 || part > 3) return false;
      out[o + part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      value = value * 10 + (c - 48);
      digits++;
    } else {
      return false;
    }
  }
  return part === 4;
}

export function parseIpv6(s: unknown): Uint8Array | undefined {
  if (typeof s !== 'string' || s.length === 0) return undefined;
  let text = s;
  const tail: number[] = [];
  // Embedded IPv4 in the last 32 bits (e.g. ::ffff:1.2.3.4).
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (!v4) return undefined;
    tail.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
    text = text.slice(0, lastColon);
    if (text.endsWith(':')) text += ':';
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (h: string): number[] | undefined => {
    if (h === '') return [];
    const groups = h.split(':');
    const out: number[] = [];
    for (const g of groups) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  if (!head || !rest) return undefined;
  const total = head.length + rest.length + tail.length;
  let groups: number[];
  if (halves.length === 2) {
    if (total > 7) return undefined;
    groups = [...head, ...new Array(8 - total).fill(0), ...rest, ...tail];
  } else {
    if (total !== 8) return undefined;
    groups = [...head, ...tail];
  }
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => { bytes[2 * i] = g >> 8; bytes[2 * i + 1] = g & 0xff; });
  return bytes;
}

/** RFC 5952 text: lower case, longest run (>= 2) of zero groups compressed, IPv4-mapped dotted. */
export function formatIpv6(buf: Uint8Array, o: number): string {
  let mapped = true;
  for (let i = 0; i < 10; i++) if (buf[o + i] !== 0) mapped = false;
  if (mapped && buf[o + 10] === 0xff && buf[o + 11] === 0xff) {
    return `::ffff:${buf[o + 12]}.${buf[o + 13]}.${buf[o + 14]}.${buf[o + 15]}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((buf[o + 2 * i] << 8) | buf[o + 2 * i + 1]);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = (a: number[]) => a.map((g) => g.toString(16)).join(':');
  if (bestLen < 2) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}
