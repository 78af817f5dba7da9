import type { Connection } from '../protocol/types/public-ip.ts';
import { parseIpv6, type SockAddr } from '../protocol/types/sock-addr.ts';

/**
 * The TCP connections a node knows per public address, as ctdbd 4.17 keeps
 * them (a `vnn`'s tcp_array, ctdb_takeover.c): what smbd registered with
 * TCP_CLIENT on the hosting node and every node learnt through TCP_ADD /
 * SET_TCP_TICKLE_LIST, so that whoever takes the address over can send each
 * client a tickle ACK. Also which local client registered which connection
 * (its connections go when it disconnects). Pure.
 *
 * Wire orientation, as smbd fills it in: `dst` is the public address (the
 * server side), `src` the client. Addresses are canonical (an IPv4-mapped
 * IPv6 address is its IPv4 address, as ctdb_canonicalize_ip makes it).
 *
 * Bounded: at most `maxPerAddress` connections per public address, and per
 * client per address; beyond that TickleLimitError (ctdbd has no bound).
 */

/** Per public address; an SMB server with more clients on one address than this is beyond what we track. */
export const MAX_CONNECTIONS_PER_ADDRESS = 8192;

export class TickleLimitError extends Error {
  override name = 'TickleLimitError';
  constructor(readonly address: string, readonly limit: number) {
    super(`more than ${limit} TCP connections tracked for public address ${address}`);
  }
}

const V4_MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/** ctdb_canonicalize_ip: an IPv4-mapped IPv6 address becomes the IPv4 address (same port); anything else is kept. */
export function canonicalAddr(a: SockAddr): SockAddr {
  if (a.family !== 'inet6') return { family: 'inet', address: a.address, port: a.port };
  const bytes = parseIpv6(a.address);
  if (bytes && V4_MAPPED_PREFIX.every((b, i) => bytes[i] === b)) {
    return { family: 'inet', address: `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`, port: a.port };
  }
  return { ...a };
}

export function canonicalConnection(c: Connection): Connection {
  return { src: canonicalAddr(c.src), dst: canonicalAddr(c.dst) };
}

/** Same addresses and ports on both ends (ctdb_same_sockaddr). */
export function connectionKey(c: Connection): string {
  return `${c.src.address}|${c.src.port}|${c.dst.address}|${c.dst.port}`;
}

export class ConnectionTable {
  /** Public address -> connection key -> connection (insertion order kept, as ctdbd's array). */
  private readonly byAddress = new Map<string, Map<string, Connection>>();
  /** Local client -> public address -> keys it registered. */
  private readonly byClient = new Map<number, Map<string, Set<string>>>();
  /** Public addresses whose list changed since it was last sent to the other nodes (tcp_update_needed). */
  private readonly changed = new Set<string>();

  constructor(readonly maxPerAddress = MAX_CONNECTIONS_PER_ADDRESS) {}

  /** TCP_ADD (and TCP_CLIENT's own record): true when new; `markChanged`: the hosting node's periodic update should resend. */
  add(conn: Connection, markChanged = false): boolean {
    const c = canonicalConnection(conn);
    const address = c.dst.address;
    let list = this.byAddress.get(address);
    const key = connectionKey(c);
    if (list?.has(key)) return false;
    if ((list?.size ?? 0) >= this.maxPerAddress) throw new TickleLimitError(address, this.maxPerAddress);
    if (!list) this.byAddress.set(address, (list = new Map()));
    list.set(key, c);
    if (markChanged) this.changed.add(address);
    return true;
  }

  /** TCP_REMOVE: true when it was known. */
  remove(conn: Connection): boolean {
    const c = canonicalConnection(conn);
    const list = this.byAddress.get(c.dst.address);
    if (!list?.delete(connectionKey(c))) return false;
    if (list.size === 0) this.byAddress.delete(c.dst.address);
    this.changed.add(c.dst.address);
    return true;
  }

  /** GET_TCP_TICKLE_LIST: the address's connections, only those to `port` when it is not 0. */
  list(address: string, port = 0): Connection[] {
    const all = [...(this.byAddress.get(address)?.values() ?? [])];
    return port === 0 ? all : all.filter((c) => c.dst.port === port);
  }

  get size(): number {
    let n = 0;
    for (const list of this.byAddress.values()) n += list.size;
    return n;
  }

  /** SET_TCP_TICKLE_LIST from the hosting node: the whole list replaced (refused whole beyond the bound). */
  replace(address: string, connections: readonly Connection[]): void {
    const list = new Map<string, Connection>();
    for (const conn of connections) {
      const c = canonicalConnection(conn);
      list.set(connectionKey(c), c);
      if (list.size > this.maxPerAddress) throw new TickleLimitError(address, this.maxPerAddress);
    }
    if (list.size === 0) this.byAddress.delete(address);
    else this.byAddress.set(address, list);
  }

  /**
   * After a takeover was announced: the list was handed to the tickles and is
   * dropped here, and the (now empty) list is due to be sent to the others,
   * as ctdbd does (ctdb_announce_vnn_iface).
   */
  clear(address: string): void {
    this.byAddress.delete(address);
    this.changed.add(address);
  }

  /** A local client's connection (TCP_CLIENT), remembered so it can go when the client does. */
  recordClient(clientId: number, conn: Connection): void {
    const c = canonicalConnection(conn);
    const address = c.dst.address;
    let perAddress = this.byClient.get(clientId);
    if (!perAddress) this.byClient.set(clientId, (perAddress = new Map()));
    let keys = perAddress.get(address);
    if (!keys) perAddress.set(address, (keys = new Set()));
    const key = connectionKey(c);
    if (!keys.has(key) && keys.size >= this.maxPerAddress) throw new TickleLimitError(address, this.maxPerAddress);
    keys.add(key);
  }

  /** The connections a client registered (forgotten here; the caller decides which leave the table). */
  clientGone(clientId: number): Connection[] {
    const perAddress = this.byClient.get(clientId);
    if (!perAddress) return [];
    this.byClient.delete(clientId);
    const out: Connection[] = [];
    for (const keys of perAddress.values()) {
      for (const key of keys) {
        const [srcAddress, srcPort, dstAddress, dstPort] = key.split('|');
        out.push({ src: addrOf(srcAddress!, Number(srcPort)), dst: addrOf(dstAddress!, Number(dstPort)) });
      }
    }
    return out;
  }

  /** Clients with connections recorded (tests, status). */
  get clientCount(): number {
    return this.byClient.size;
  }

  /** Addresses whose list changed since the last call (the periodic update's "needed" flags, taken). */
  takeChanged(): string[] {
    const out = [...this.changed];
    this.changed.clear();
    return out;
  }

  /** Puts an address back as changed (an update that could not be sent). */
  markChanged(address: string): void {
    this.changed.add(address);
  }
}

function addrOf(address: string, port: number): SockAddr {
  return { family: address.includes(':') ? 'inet6' : 'inet', address, port };
}
