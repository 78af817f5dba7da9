import { Srvid } from '../protocol/srvid.ts';

/**
 * Local bookkeeping of message handlers per SRVID. The daemon keeps a
 * multiset of registrations per connection and sends one copy per
 * registration, so we register each SRVID with ctdbd exactly once, however
 * many local handlers share it, and fan out locally. The set of SRVIDs is
 * what gets re-registered after a reconnect.
 */
export class SrvidRegistry<H> {
  private readonly entries = new Map<bigint, { handlers: Set<H>; ready: Promise<void> }>();

  has(srvid: bigint): boolean {
    return this.entries.has(srvid);
  }

  /**
   * Add a handler. When it is the first for this SRVID, `registerWithDaemon`
   * runs and every concurrent adder awaits the same outcome; if it fails,
   * the handlers added meanwhile are dropped again and all adders see the error.
   */
  async add(srvid: bigint, handler: H, registerWithDaemon: () => Promise<void>): Promise<void> {
    const existing = this.entries.get(srvid);
    if (existing) {
      existing.handlers.add(handler);
      try {
        await existing.ready;
      } catch (err) {
        existing.handlers.delete(handler);
        throw err;
      }
      return;
    }
    const entry = { handlers: new Set<H>([handler]), ready: Promise.resolve() };
    this.entries.set(srvid, entry);
    entry.ready = registerWithDaemon();
    try {
      await entry.ready;
    } catch (err) {
      if (this.entries.get(srvid) === entry) this.entries.delete(srvid);
      throw err;
    }
  }

  /** Remove a handler; returns true when it was the last one (deregister with the daemon). */
  remove(srvid: bigint, handler: H): boolean {
    const entry = this.entries.get(srvid);
    if (!entry || !entry.handlers.delete(handler)) return false;
    if (entry.handlers.size > 0) return false;
    this.entries.delete(srvid);
    return true;
  }

  /** Handlers to call for a message on `srvid`: its own plus SRVID_ALL ones. */
  handlersFor(srvid: bigint): H[] {
    const out = [...(this.entries.get(srvid)?.handlers ?? [])];
    if (srvid !== Srvid.ALL) {
      const all = this.entries.get(Srvid.ALL);
      if (all) out.push(...all.handlers);
    }
    return out;
  }

  srvids(): bigint[] {
    return [...this.entries.keys()];
  }

  clear(): void {
    this.entries.clear();
  }
}
