import { createServer, type Server } from 'node:net';
import { AddressInUseError, InvalidAddressError } from './errors.ts';

/**
 * Node addresses: 127.0.S.1..N on loopback. ctdbd 4.17 cannot change its
 * port, so clusters running side by side differ by address only.
 */

/** Resolves true when `address:port` can be bound right now. */
export function isAddressFree(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: address, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Parses a dotted IPv4 address inside 127.0.0.0/8 (we never leave loopback). */
export function parseLoopback(address: string): [number, number, number, number] {
  const parts = address.split('.');
  const octets = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : NaN));
  if (octets.length !== 4 || octets.some((o) => Number.isNaN(o) || o > 255)) {
    throw new InvalidAddressError(address, 'not a dotted IPv4 address');
  }
  if (octets[0] !== 127) throw new InvalidAddressError(address, 'must be inside 127.0.0.0/8');
  return octets as [number, number, number, number];
}

/** N consecutive addresses starting at `base` (last octet incremented). */
export function addressesFrom(base: string, count: number): string[] {
  const [a, b, c, d] = parseLoopback(base);
  if (d === 0 || d + count - 1 > 254) {
    throw new InvalidAddressError(base, `last octet leaves no room for ${count} node addresses (1..254)`);
  }
  return Array.from({ length: count }, (_, i) => `${a}.${b}.${c}.${d + i}`);
}

/** Throws AddressInUseError naming the first address that is taken. */
export async function assertAddressesFree(addresses: string[], port: number): Promise<void> {
  for (const address of addresses) {
    if (!(await isAddressFree(address, port))) throw new AddressInUseError(address);
  }
}

export interface PickAddressesOptions {
  count: number;
  port: number;
  /** Inclusive range of the third octet S scanned for 127.0.S.1..count. */
  range: [number, number];
}

/** Addresses held for us while the cluster starts; release once ctdbd has bound them. */
export interface AddressReservation {
  addresses: string[];
  release(): Promise<void>;
}

/** Last-octet of the address whose listener marks a subnet as "being started". */
export const RESERVATION_OCTET = 254;

function tryListen(address: string, port: number): Promise<Server | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(null));
    server.listen({ host: address, port, exclusive: true }, () => resolve(server));
  });
}

/**
 * First subnet 127.0.S.x in the range whose node addresses are all free.
 * Two harness processes starting at once could both find a subnet free and
 * collide when ctdbd binds, so the chosen subnet is claimed by listening on
 * 127.0.S.254 (never a node address) until release(): a bind is atomic, and
 * the kernel drops the claim if we die.
 */
export async function reserveFreeAddresses(opts: PickAddressesOptions): Promise<AddressReservation> {
  const [first, last] = opts.range;
  for (let s = first; s <= last; s++) {
    const addresses = addressesFrom(`127.0.${s}.1`, opts.count);
    const claim = await tryListen(`127.0.${s}.${RESERVATION_OCTET}`, opts.port);
    if (!claim) continue;
    let allFree = true;
    for (const address of addresses) {
      if (!(await isAddressFree(address, opts.port))) { allFree = false; break; }
    }
    const release = () => new Promise<void>((resolve) => claim.close(() => resolve()));
    if (allFree) return { addresses, release };
    await release();
  }
  throw new AddressInUseError(`127.0.${first}-${last}.x`, 'no free subnet in the range (pass a base address)');
}
