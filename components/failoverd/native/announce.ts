import { isIP } from 'node:net';
import type { Endpoint, TickleConnection } from '../../../legacy/daemon/ip-events.ts';
import type { HostedAddress } from '../../../legacy/daemon/public-ips.ts';

/**
 * How native mode announces an address it took over, as ctdbd does after a
 * takeip (ctdb_announce_vnn_iface): CTDB_ARP_REPEAT = 3 rounds, 1.1 s apart,
 * each a gratuitous ARP (IPv4: `arping -U`) or an unsolicited neighbour
 * advertisement with the override flag (IPv6: `ndptool -t na -U`, Debian's
 * libndp-tools; the kernel sends one by itself only with DAD switched off
 * host-wide), then a tickle ACK to every client connection known for the
 * address (Debian's `ctdb tickle`, which reads "CLIENT SERVER" lines on its
 * standard input and sends each CLIENT an ACK with seq 0 from SERVER: the
 * client answers with its real ACK, this host has no socket for it and
 * resets it, so the client reconnects at once). Pure: command lines only.
 */

/** ctdbd's CTDB_ARP_REPEAT. */
export const ANNOUNCE_ROUNDS = 3;
/** ctdbd's CTDB_ARP_INTERVAL (1 s) plus the 100 ms it adds. */
export const ANNOUNCE_INTERVAL_MS = 1100;
/** Tickles follow their round's announcement by this much, so the client already sends its answer to this host. */
export const TICKLE_DELAY_MS = 100;

export function announceCommand(h: HostedAddress, tools: { arping: string; ndptool: string }): { program: string; args: string[] } {
  return isIP(h.address) === 6
    ? { program: tools.ndptool, args: ['-t', 'na', '-U', '-i', h.iface, '-T', h.address, 'send'] }
    : { program: tools.arping, args: ['-U', '-c', '1', '-w', '1', '-I', h.iface, h.address] };
}

/** `10.0.0.1:445`, `[fd00::1]:445` (ctdb_sock_addr_from_string's forms). */
export function endpointText(e: Endpoint): string {
  return isIP(e.address) === 6 ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

/** `ctdb tickle`'s input lines: "CLIENT SERVER" per connection (an ACK to CLIENT, from SERVER). */
export function tickleLines(connections: readonly TickleConnection[]): string[] {
  return connections.map((c) => `${endpointText(c.client)} ${endpointText(c.server)}`);
}

/**
 * Connections this host has on the address (`ss`, after an updateip), tickled
 * both ways as 10.interface's tickle_tcp_connections does: dropped packets
 * are sent again at once on the new interface.
 */
export function hostTickleLines(established: ReadonlyArray<{ local: string; peer: string }>): string[] {
  return established.flatMap((c) => [`${c.peer} ${c.local}`, `${c.local} ${c.peer}`]);
}
