import { isIP } from 'node:net';
import type { HostedAddress } from '../../../legacy/daemon/public-ips.ts';

/**
 * Public addresses on this host's interfaces: the `ip` command lines that add
 * and remove one, and what `ip -j addr show` says is configured. Pure.
 */

export function addAddressArgs(h: HostedAddress): string[] {
  return isIP(h.address) === 6
    ? ['-6', 'addr', 'add', `${h.address}/${h.prefixLength}`, 'dev', h.iface, 'nodad']
    : ['addr', 'add', `${h.address}/${h.prefixLength}`, 'brd', '+', 'dev', h.iface];
}

export function deleteAddressArgs(h: HostedAddress): string[] {
  return [...(isIP(h.address) === 6 ? ['-6'] : []), 'addr', 'del', `${h.address}/${h.prefixLength}`, 'dev', h.iface];
}

/**
 * Linux drops every secondary address of a subnet with its primary unless the
 * interface promotes secondaries: releasing one public address would take the
 * node's others in that subnet with it. ctdbd's delete_ip_from_iface sets it
 * before each delete; so do we (sysctl's slash form: interface names may hold dots).
 */
export function promoteSecondariesArgs(iface: string): string[] {
  return ['-q', '-w', `net/ipv4/conf/${iface}/promote_secondaries=1`];
}

/** What `ip addr del` prints when the address is not there (older and newer iproute2). */
export const ADDRESS_NOT_THERE = /Cannot assign requested address|Address not found/;

export const SHOW_ADDRESSES_ARGS = ['-j', 'addr', 'show'];

export class AddressListError extends Error {
  override name = 'AddressListError';
}

/** `ip -j addr show` -> address -> interface it is on. */
export function parseAddresses(json: string): Map<string, string> {
  let links: unknown;
  try {
    links = JSON.parse(json);
  } catch (err) {
    throw new AddressListError(`ip -j addr show printed no JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(links)) throw new AddressListError('ip -j addr show printed no list of links');
  const out = new Map<string, string>();
  for (const link of links as Array<{ ifname?: unknown; addr_info?: unknown }>) {
    if (typeof link?.ifname !== 'string' || !Array.isArray(link.addr_info)) continue;
    for (const a of link.addr_info as Array<{ local?: unknown }>) if (typeof a?.local === 'string') out.set(a.local, link.ifname);
  }
  return out;
}

export interface Drift {
  /** Hosted by this node in the daemon's record but not on the host. */
  missing: HostedAddress[];
  /** Public addresses on the host that this node does not host. */
  stray: HostedAddress[];
}

/**
 * What to fix so that the host carries exactly the public addresses the node
 * hosts: `publicAddresses` are all this node's configured ones (only those
 * are ever touched), `hosted` what the daemon says it hosts.
 */
export function findDrift(onHost: ReadonlyMap<string, string>, hosted: readonly HostedAddress[],
  publicAddresses: ReadonlyArray<{ address: string; prefixLength: number }>): Drift {
  const hostedSet = new Set(hosted.map((h) => h.address));
  const missing = hosted.filter((h) => !onHost.has(h.address));
  const stray = publicAddresses
    .filter((p) => onHost.has(p.address) && !hostedSet.has(p.address))
    .map((p) => ({ address: p.address, prefixLength: p.prefixLength, iface: onHost.get(p.address)! }));
  return { missing, stray };
}
