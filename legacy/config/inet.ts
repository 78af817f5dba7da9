/**
 * IP address text as ctdb 4.17 reads and prints it: glibc's inet_pton and
 * inet_ntop (Debian's ctdbd links them), plus ctdb's own rule on top
 * (protocol_util.c ip_from_string): "[v6]" brackets are allowed, and an
 * IPv4-mapped IPv6 address is read again as the IPv4 text after its last
 * ':' (so "::ffff:1.2.3.4" is 1.2.3.4, while "::ffff:102:304" is refused).
 */

export interface IpAddress {
  family: 4 | 6;
  /** 4 or 16 bytes, network order. */
  bytes: Uint8Array;
  /** As inet_ntop prints it: the one spelling every reader compares. */
  text: string;
}

/** glibc inet_pton(AF_INET): exactly four decimal octets, no leading zeros. */
export function inetPton4(s: string): Uint8Array | undefined {
  const out = new Uint8Array(4);
  let octets = 0;
  let sawDigit = false;
  let cur = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (sawDigit && cur === 0) return undefined; // "01"
      cur = cur * 10 + (c - 48);
      if (cur > 255) return undefined;
      if (!sawDigit) {
        if (++octets > 4) return undefined;
        sawDigit = true;
      }
      out[octets - 1] = cur;
    } else if (c === 46 && sawDigit) {
      if (octets === 4) return undefined;
      sawDigit = false;
      cur = 0;
    } else {
      return undefined;
    }
  }
  return octets === 4 && sawDigit ? out : undefined;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** glibc inet_pton(AF_INET6), including its corner rules ("::" never stands for zero groups). */
export function inetPton6(s: string): Uint8Array | undefined {
  const tmp = new Uint8Array(16);
  let tp = 0;
  let colonp = -1;
  let i = 0;
  if (s.length === 0) return undefined;
  if (s[0] === ':') {
    i = 1;
    if (i === s.length || s[i] !== ':') return undefined;
  }
  let curtok = i;
  let digits = 0;
  let val = 0;
  while (i < s.length) {
    const ch = s.charCodeAt(i++);
    const d = hexValue(ch);
    if (d >= 0) {
      if (digits === 4) return undefined;
      val = (val << 4) | d;
      digits++;
      continue;
    }
    if (ch === 58 /* : */) {
      curtok = i;
      if (digits === 0) {
        if (colonp !== -1) return undefined;
        colonp = tp;
        continue;
      } else if (i === s.length) {
        return undefined;
      }
      if (tp + 2 > 16) return undefined;
      tmp[tp++] = (val >> 8) & 0xff;
      tmp[tp++] = val & 0xff;
      digits = 0;
      val = 0;
      continue;
    }
    if (ch === 46 /* . */ && tp + 4 <= 16) {
      const v4 = inetPton4(s.slice(curtok));
      if (!v4) return undefined;
      tmp.set(v4, tp);
      tp += 4;
      digits = 0;
      break;
    }
    return undefined;
  }
  if (digits > 0) {
    if (tp + 2 > 16) return undefined;
    tmp[tp++] = (val >> 8) & 0xff;
    tmp[tp++] = val & 0xff;
  }
  if (colonp !== -1) {
    if (tp === 16) return undefined;
    const n = tp - colonp;
    tmp.copyWithin(16 - n, colonp, tp);
    tmp.fill(0, colonp, 16 - n);
    tp = 16;
  }
  return tp === 16 ? tmp : undefined;
}

export function inetNtop4(b: Uint8Array, o = 0): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

/**
 * glibc inet_ntop(AF_INET6): lower-case hex, the first longest run of two or
 * more zero groups as "::", and the last 32 bits dotted for "::a.b.c.d" and
 * "::ffff:a.b.c.d" (but not "::1" or "::ffff").
 */
export function inetNtop6(b: Uint8Array, o = 0): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((b[o + 2 * i] << 8) | b[o + 2 * i + 1]);
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      if (curBase === -1) { curBase = i; curLen = 1; } else curLen++;
    } else if (curBase !== -1) {
      if (bestBase === -1 || curLen > bestLen) { bestBase = curBase; bestLen = curLen; }
      curBase = -1;
    }
  }
  if (curBase !== -1 && (bestBase === -1 || curLen > bestLen)) { bestBase = curBase; bestLen = curLen; }
  if (bestBase !== -1 && bestLen < 2) bestBase = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      return out + inetNtop4(b, o + 12);
    }
    out += words[i].toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) out += ':';
  return out;
}

/** inet_pton for either family, as ctdb.conf's `node address` validator uses it. */
export function isInetAddress(s: string): boolean {
  return inetPton4(s) !== undefined || inetPton6(s) !== undefined;
}

const IPV4_MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];
/** ctdb copies IPv6 text into a 64-byte buffer; longer text is refused. */
const CTDB_ADDR_BUF = 64;

/**
 * ctdb's ip_from_string (nodes file, public_addresses, node address):
 * IPv4 when there is no ':', else IPv6 (optionally in brackets), and an
 * IPv4-mapped IPv6 address re-read as IPv4.
 */
export function parseCtdbAddress(s: string): IpAddress | undefined {
  const lastColon = s.lastIndexOf(':');
  if (lastColon === -1) {
    const v4 = inetPton4(s);
    return v4 && { family: 4, bytes: v4, text: inetNtop4(v4) };
  }
  if (s.length >= CTDB_ADDR_BUF) return undefined;
  let str = s;
  if (str.length >= 2 && str[0] === '[' && str[str.length - 1] === ']') str = str.slice(1, -1);
  const v6 = inetPton6(str);
  if (!v6) return undefined;
  if (IPV4_MAPPED_PREFIX.every((b, i) => v6[i] === b)) {
    const v4 = inetPton4(str.slice(str.lastIndexOf(':') + 1));
    return v4 && { family: 4, bytes: v4, text: inetNtop4(v4) };
  }
  return { family: 6, bytes: v6, text: inetNtop6(v6) };
}
