import { parseIpv4, parseIpv6 } from '../../../legacy/protocol/types/sock-addr.ts';
import { AllocationInputError } from './errors.ts';

/**
 * ctdbd's view of a public address for allocation (ip_key in
 * ipalloc_common.c): four 32-bit words, most significant first. IPv4 fills
 * only the last word, so every IPv6 address with a non-zero high part keys
 * above every IPv4 one, and LCP2 sees IPv4 addresses as 128-bit values with
 * 96 leading zero bits.
 */
export interface AddressKey {
  family: 'inet' | 'inet6';
  words: [number, number, number, number];
  /** The words joined: ctdb's merge tree key (family is not part of it). */
  key: string;
  /** Family and words: ctdb_sock_addr_same_ip's notion of the same address. */
  identity: string;
}

export function addressKey(ip: string): AddressKey {
  const v4 = parseIpv4(ip);
  if (v4) return keyOf('inet', [0, 0, 0, word(v4, 0)]);
  const v6 = parseIpv6(ip);
  if (v6) return keyOf('inet6', [word(v6, 0), word(v6, 4), word(v6, 8), word(v6, 12)]);
  throw new AllocationInputError(`not an IPv4 or IPv6 address: ${JSON.stringify(ip)}`);
}

/** Unsigned lexicographic order of the four words (ctdb's rb-tree order). */
export function compareKeys(a: AddressKey, b: AddressKey): number {
  for (let i = 0; i < 4; i++) {
    if (a.words[i] !== b.words[i]) return a.words[i] < b.words[i] ? -1 : 1;
  }
  return 0;
}

/**
 * LCP2's ip_distance squared for addresses `a` and `b` of a packed word
 * array (4 words per address). ctdbd adds, for each word, 32 when the words
 * are equal or else the XOR's leading zero count, without stopping at the
 * first differing word: exactly the sum of clz32 over the four XORs.
 */
export function distanceSquared(words: Uint32Array, a: number, b: number): number {
  const i = a << 2;
  const j = b << 2;
  const d = Math.clz32(words[i] ^ words[j]) + Math.clz32(words[i + 1] ^ words[j + 1])
    + Math.clz32(words[i + 2] ^ words[j + 2]) + Math.clz32(words[i + 3] ^ words[j + 3]);
  return d * d;
}

function word(bytes: Uint8Array, o: number): number {
  return ((bytes[o] << 24) | (bytes[o + 1] << 16) | (bytes[o + 2] << 8) | bytes[o + 3]) >>> 0;
}

function keyOf(family: 'inet' | 'inet6', words: [number, number, number, number]): AddressKey {
  const key = words.join(',');
  return { family, words, key, identity: `${family}/${key}` };
}
