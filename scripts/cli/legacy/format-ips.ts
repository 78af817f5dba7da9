import type { IfaceView, PublicIpView } from './views.ts';

/** ctdb_sock_addr_cmp order: family, address bytes, port (all in the sort key). */
export function sortPublicIps(ips: PublicIpView[]): PublicIpView[] {
  return [...ips].sort((a, b) => Buffer.compare(a.sortKey, b.sortKey));
}

/** `ctdb ip [all]` (ips already sorted). `verbose` adds the interface details (-v). */
export function formatPublicIps(ips: PublicIpView[], pnn: number, allNodes: boolean, verbose = false): string {
  let out = allNodes ? 'Public IPs on ALL nodes\n' : `Public IPs on node ${pnn}\n`;
  for (const ip of ips) {
    if (!verbose) {
      out += `${ip.address} ${ip.pnn | 0}\n`;
      continue;
    }
    const conf: string[] = [];
    const avail: string[] = [];
    let active = '';
    ip.info?.ifaces.forEach((iface, j) => {
      conf.push(iface.name);
      if (ip.info!.activeIdx === j) active = iface.name;
      if (iface.linkState !== 0) avail.push(iface.name);
    });
    out += `${ip.address} node[${ip.pnn | 0}] active[${active}] available[${avail.join(',')}] configured[${conf.join(',')}]\n`;
  }
  return out;
}

/** `ctdb ifaces`. */
export function formatIfaces(ifaces: IfaceView[], pnn: number): string {
  if (ifaces.length === 0) return `No interfaces configured on node ${pnn}\n`;
  let out = `Interfaces on node ${pnn}\n`;
  for (const i of ifaces) {
    out += `name:${i.name} link:${i.linkState ? 'up' : 'down'} references:${i.references >>> 0}\n`;
  }
  return out;
}
