/**
 * What ctdbd's 10.interface does with the TCP connections of an address it
 * releases (native mode skips that script, so it does this part itself):
 * the established connections on the address (`ss`), each reset by Debian's
 * ctdb_killtcp on the interface, both ways, but only the client's side of
 * CIFS (139, 445: smbd closes its end itself on the RELEASE_IP message).
 * Otherwise a released address leaves sockets stuck on this host (kernel
 * NFS ones cannot even be killed). Pure: command lines and parsing only.
 */

/** Debian's CTDB_HELPER_BINDIR. */
export const CTDB_KILLTCP = '/usr/libexec/ctdb/ctdb_killtcp';

/** `ss` arguments: established TCP connections whose local address is `address`, numeric, no header. */
export function establishedArgs(address: string): string[] {
  return ['-tnH', 'state', 'established', `src [${address}]`];
}

export interface Established {
  /** This host's end, the released address (`10.0.0.1:445`, `[fd00::1]:445`). */
  local: string;
  peer: string;
}

/** `ss -tnH state established` lines: Recv-Q Send-Q Local Peer [Process]. */
export function parseEstablished(output: string): Established[] {
  const out: Established[] = [];
  for (const line of output.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 4 && /:\d+$/.test(f[2]!) && /:\d+$/.test(f[3]!)) out.push({ local: f[2]!, peer: f[3]! });
  }
  return out;
}

const ONE_WAY_PORTS = new Set(['139', '445']);

/** ctdb_killtcp's standard input: "CLIENT SERVER" per connection to kill, the reverse too unless it is CIFS. */
export function killtcpInput(connections: readonly Established[]): string {
  let text = '';
  for (const c of connections) {
    text += `${c.peer} ${c.local}\n`;
    if (!ONE_WAY_PORTS.has(c.local.slice(c.local.lastIndexOf(':') + 1))) text += `${c.local} ${c.peer}\n`;
  }
  return text;
}
