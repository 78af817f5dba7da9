import { Srvid } from '../protocol/srvid.ts';

/**
 * SRVID registrations and tunnel bindings of one daemon (behaviour.md §3, §4).
 *
 * SRVID registrations are a multiset: several listeners may hold the same
 * SRVID, one listener may hold it twice and then receives two copies.
 * Listeners are unix-socket clients or daemon-internal handlers (the
 * recovery daemon module). Tunnel ids are bound to exactly one client.
 */

/** Something that can receive packets: a unix-socket client connection. */
export interface PacketSink {
  readonly clientId: number;
  /** Queues one complete packet to the client. */
  sendPacket(packet: Buffer): void;
}

export interface InternalListener {
  readonly internal: true;
  readonly name: string;
  handle(srvid: bigint, data: Buffer): void;
}

export type Listener = PacketSink | InternalListener;

export function isInternal(l: Listener): l is InternalListener {
  return (l as InternalListener).internal === true;
}

export class SrvidRegistry {
  private readonly bySrvid = new Map<bigint, Listener[]>();
  /** Per listener, its registrations (with repeats), for cleanup on close. */
  private readonly byListener = new Map<Listener, bigint[]>();
  private allCount = 0;

  register(srvid: bigint, listener: Listener): void {
    const list = this.bySrvid.get(srvid);
    if (list) list.push(listener);
    else this.bySrvid.set(srvid, [listener]);
    const mine = this.byListener.get(listener);
    if (mine) mine.push(srvid);
    else this.byListener.set(listener, [srvid]);
    if (srvid === Srvid.ALL) this.allCount++;
  }

  /** Removes one registration; false (ENOENT) when there was none. */
  deregister(srvid: bigint, listener: Listener): boolean {
    const list = this.bySrvid.get(srvid);
    if (!list) return false;
    const i = list.lastIndexOf(listener);
    if (i === -1) return false;
    list.splice(i, 1);
    if (list.length === 0) this.bySrvid.delete(srvid);
    const mine = this.byListener.get(listener);
    if (mine) {
      const j = mine.lastIndexOf(srvid);
      if (j !== -1) mine.splice(j, 1);
      if (mine.length === 0) this.byListener.delete(listener);
    }
    if (srvid === Srvid.ALL) this.allCount--;
    return true;
  }

  /** Drops every registration of a listener (client disconnect). */
  removeListener(listener: Listener): void {
    const mine = this.byListener.get(listener);
    if (!mine) return;
    for (const srvid of [...mine]) this.deregister(srvid, listener);
    this.byListener.delete(listener);
  }

  isRegisteredBy(srvid: bigint, listener: Listener): boolean {
    return this.bySrvid.get(srvid)?.includes(listener) ?? false;
  }

  /**
   * Calls `each` once per registration for `srvid` plus once per SRVID_ALL
   * registration. Returns the number of deliveries.
   */
  forEachListener(srvid: bigint, each: (l: Listener) => void): number {
    let n = 0;
    const list = this.bySrvid.get(srvid);
    if (list) {
      // Copy only when a handler could change the list under us.
      const snapshot = list.length === 1 ? list : list.slice();
      for (const l of snapshot) { each(l); n++; }
    }
    if (this.allCount > 0 && srvid !== Srvid.ALL) {
      const all = this.bySrvid.get(Srvid.ALL);
      if (all) for (const l of all.slice()) { each(l); n++; }
    }
    return n;
  }

  /** Registrations for exactly this SRVID (no SRVID_ALL); do not modify. */
  listenersOf(srvid: bigint): readonly Listener[] | undefined {
    return this.bySrvid.get(srvid);
  }

  /** SRVID_ALL registrations, if any. */
  allListeners(): readonly Listener[] | undefined {
    return this.allCount > 0 ? this.bySrvid.get(Srvid.ALL) : undefined;
  }

  hasListeners(srvid: bigint): boolean {
    return this.bySrvid.has(srvid) || this.allCount > 0;
  }

  get size(): number {
    let n = 0;
    for (const list of this.bySrvid.values()) n += list.length;
    return n;
  }
}

export class TunnelRegistry {
  private readonly byId = new Map<bigint, PacketSink>();
  private readonly byClient = new Map<PacketSink, Set<bigint>>();

  /** False when any client of this daemon already holds the id (even the same client). */
  register(tunnelId: bigint, client: PacketSink): boolean {
    if (this.byId.has(tunnelId)) return false;
    this.byId.set(tunnelId, client);
    let mine = this.byClient.get(client);
    if (!mine) this.byClient.set(client, (mine = new Set()));
    mine.add(tunnelId);
    return true;
  }

  /** False when the caller does not hold the id. */
  deregister(tunnelId: bigint, client: PacketSink): boolean {
    if (this.byId.get(tunnelId) !== client) return false;
    this.byId.delete(tunnelId);
    const mine = this.byClient.get(client);
    mine?.delete(tunnelId);
    if (mine && mine.size === 0) this.byClient.delete(client);
    return true;
  }

  removeClient(client: PacketSink): void {
    const mine = this.byClient.get(client);
    if (!mine) return;
    for (const id of mine) this.byId.delete(id);
    this.byClient.delete(client);
  }

  holder(tunnelId: bigint): PacketSink | undefined {
    return this.byId.get(tunnelId);
  }

  get size(): number {
    return this.byId.size;
  }
}
