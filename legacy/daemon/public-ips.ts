import type { PublicAddress } from '../config/public-addresses.ts';

/**
 * One node's record of its public addresses, kept as ctdbd 4.17 keeps it
 * (its `vnn` list, ctdb_takeover.c; facts in ../shared/reference/failover-4.17.md):
 * for each address the owner this node was last told of and, while this node
 * hosts it, the interface it sits on; for each interface its link state and
 * how many hosted addresses use it. Pure: the controls ask it what a
 * TAKEOVER_IP or RELEASE_IP means, and do what it answers (events, messages).
 *
 * Like ctdbd with public IP checks on, a node that already hosts an address
 * treats another TAKEOVER_IP for it as redundant (unless the address should
 * move to another of its interfaces: updateip), and one that does not host
 * an address treats a RELEASE_IP as redundant (it only learns the new owner).
 *
 * Unlike ctdbd, an address whose mask is longer than its family allows (ctdbd
 * accepts "/33", its takeip event fails, and the takeover helper bans node
 * after node) is never offered as available and its takeover is refused: it
 * stays unhosted (owner -1) and every other address keeps being served.
 */

/** No owner (ctdbd's -1; 0xFFFFFFFF on the wire). */
export const NO_OWNER = -1;

export interface HostedAddress {
  address: string;
  prefixLength: number;
  iface: string;
}

export type TakeoverOutcome =
  /** Refused (status -1): the reason is logged. */
  | { kind: 'refused'; reason: string }
  /** Not one of our public addresses, or already hosted here: status 0, nothing happens. */
  | { kind: 'unknown' }
  | { kind: 'redundant' }
  /** Now hosted on `iface`: run takeip, announce, tell local clients (TAKE_IP). */
  | { kind: 'take'; hosted: HostedAddress }
  /** Hosted already, moved from `oldIface` to `hosted.iface` (ctdbd's updateip): run updateip. */
  | { kind: 'update'; hosted: HostedAddress; oldIface: string };

export type ReleaseOutcome =
  | { kind: 'unknown' }
  | { kind: 'redundant' }
  /** No longer hosted: run releaseip, tell local clients (RELEASE_IP). */
  | { kind: 'release'; hosted: HostedAddress };

export interface IfaceState {
  name: string;
  linkState: number;
  references: number;
}

interface Vnn {
  address: string;
  prefixLength: number;
  interfaces: string[];
  owner: number;
  iface: string | undefined;
}

interface Iface {
  name: string;
  linkUp: boolean;
  references: number;
}

export class PublicIpTable {
  private readonly vnns: Vnn[];
  private readonly ifaces = new Map<string, Iface>();

  constructor(readonly pnn: number, addresses: readonly PublicAddress[]) {
    this.vnns = addresses.map((a) => ({
      address: a.address, prefixLength: a.prefixLength, interfaces: [...a.interfaces], owner: NO_OWNER, iface: undefined,
    }));
    for (const a of addresses) {
      for (const name of a.interfaces) if (!this.ifaces.has(name)) this.ifaces.set(name, { name, linkUp: true, references: 0 });
    }
  }

  get size(): number {
    return this.vnns.length;
  }

  /** GET_PUBLIC_IPS: every address with the owner we know; `onlyAvailable`: those we could host now (`canHost`: the node may host at all). */
  list(onlyAvailable: boolean, canHost: boolean): Array<{ address: string; owner: number }> {
    return this.vnns
      .filter((v) => !onlyAvailable || (canHost && this.available(v)))
      .map((v) => ({ address: v.address, owner: v.owner }));
  }

  /** GET_PUBLIC_IP_INFO; undefined: not one of ours. */
  info(address: string): { owner: number; activeIdx: number; ifaces: IfaceState[] } | undefined {
    const v = this.find(address);
    if (!v) return undefined;
    const idx = v.iface === undefined ? -1 : v.interfaces.indexOf(v.iface);
    return { owner: v.owner, activeIdx: idx, ifaces: v.interfaces.map((n) => this.ifaceState(this.ifaces.get(n)!)) };
  }

  /** GET_IFACES. */
  interfaces(): IfaceState[] {
    return [...this.ifaces.values()].map((i) => this.ifaceState(i));
  }

  /** SET_IFACE_LINK_STATE; false: no such interface. */
  setLink(name: string, up: boolean): boolean {
    const i = this.ifaces.get(name);
    if (!i) return false;
    i.linkUp = up;
    return true;
  }

  /** Do we host it (TCP_CLIENT's check)? undefined: not a public address. */
  hosts(address: string): boolean | undefined {
    const v = this.find(address);
    return v ? v.owner === this.pnn && v.iface !== undefined : undefined;
  }

  hosted(): HostedAddress[] {
    return this.vnns.filter((v) => v.iface !== undefined).map((v) => this.hostedOf(v));
  }

  takeover(pnn: number, address: string): TakeoverOutcome {
    if (pnn !== this.pnn) return { kind: 'refused', reason: `takeover of ${address} for node ${pnn}, but this is node ${this.pnn}` };
    const v = this.find(address);
    if (!v) return { kind: 'unknown' };
    if (!hostableMask(v)) return { kind: 'refused', reason: `${address}/${v.prefixLength}: the mask is longer than the address` };
    const best = this.bestIface(v);
    if (!best) return { kind: 'refused', reason: `no usable interface for ${address}` };
    if (v.iface !== undefined) {
      v.owner = this.pnn;
      const cur = this.ifaces.get(v.iface)!;
      // ctdbd moves a hosted address (updateip) off a link that is down, or to one with 2+ fewer addresses.
      if (best === cur || (cur.linkUp && cur.references <= best.references + 1)) return { kind: 'redundant' };
      const oldIface = v.iface;
      cur.references--;
      best.references++;
      v.iface = best.name;
      return { kind: 'update', hosted: this.hostedOf(v), oldIface };
    }
    v.iface = best.name;
    best.references++;
    v.owner = this.pnn;
    return { kind: 'take', hosted: this.hostedOf(v) };
  }

  /** A failed updateip: back on the interface it was on (ctdbd's "let the next run fix it"). */
  moveBack(address: string, oldIface: string): void {
    const v = this.find(address);
    const old = this.ifaces.get(oldIface);
    if (!v || v.iface === undefined || !old) return;
    this.ifaces.get(v.iface)!.references--;
    old.references++;
    v.iface = oldIface;
  }

  /** RELEASE_IP carrying the new owner (NO_OWNER: nobody). */
  release(newOwner: number, address: string): ReleaseOutcome {
    const v = this.find(address);
    if (!v) return { kind: 'unknown' };
    v.owner = newOwner;
    if (v.iface === undefined) {
      if (v.owner === this.pnn) v.owner = NO_OWNER;
      return { kind: 'redundant' };
    }
    const hosted = this.hostedOf(v);
    this.unassign(v);
    return { kind: 'release', hosted };
  }

  /** Everything hosted, released (shutdown). */
  releaseAll(): HostedAddress[] {
    const released: HostedAddress[] = [];
    for (const v of this.vnns) {
      if (v.iface === undefined) continue;
      released.push(this.hostedOf(v));
      this.unassign(v);
    }
    return released;
  }

  private unassign(v: Vnn): void {
    const i = v.iface === undefined ? undefined : this.ifaces.get(v.iface);
    if (i) i.references--;
    v.iface = undefined;
    if (v.owner === this.pnn) v.owner = NO_OWNER;
  }

  private available(v: Vnn): boolean {
    if (!hostableMask(v)) return false;
    if (v.iface !== undefined && this.ifaces.get(v.iface)?.linkUp) return true;
    return v.interfaces.some((n) => this.ifaces.get(n)?.linkUp);
  }

  /** The first interface with its link up and the fewest addresses (ctdbd's choice). */
  private bestIface(v: Vnn): Iface | undefined {
    let best: Iface | undefined;
    for (const name of v.interfaces) {
      const cur = this.ifaces.get(name);
      if (!cur?.linkUp) continue;
      if (!best || cur.references < best.references) best = cur;
    }
    return best;
  }

  private find(address: string): Vnn | undefined {
    return this.vnns.find((v) => v.address === address);
  }

  private hostedOf(v: Vnn): HostedAddress {
    return { address: v.address, prefixLength: v.prefixLength, iface: v.iface! };
  }

  private ifaceState(i: Iface): IfaceState {
    return { name: i.name, linkState: i.linkUp ? 1 : 0, references: i.references };
  }
}

/** Whether `ip addr add ADDRESS/MASK` could succeed: at most 32 bits for IPv4, 128 for IPv6. */
function hostableMask(v: Vnn): boolean {
  return v.prefixLength <= (v.address.includes(':') ? 128 : 32);
}
