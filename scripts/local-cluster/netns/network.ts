import { readdirSync } from 'node:fs';
import { ip, ipJson, ipSync, runTool } from './commands.ts';
import { BRIDGE, NODE_INTERFACE, PREFIX_LENGTH, bridgePort, type NetnsTopology } from './topology.ts';
import { NETNS_PREFIX, parseNamespace } from './names.ts';
import { NetnsCommandError } from './errors.ts';
import { killAll } from '../processes.ts';

/**
 * Building and removing the namespaces of a netns cluster with iproute2.
 * Every link is created inside our namespaces (the veth pairs straight
 * between the client and a node namespace), never in the host's.
 */

/** Where `ip netns add` keeps its names. */
export const NETNS_RUN_DIR = '/run/netns';

export function listNamespaces(): string[] {
  try {
    return readdirSync(NETNS_RUN_DIR);
  } catch {
    return [];
  }
}

/** Creates the client namespace with the bridge, then one namespace per node joined to it. */
export async function createNetwork(t: NetnsTopology): Promise<void> {
  const cl = t.clientNamespace;
  await ip(['netns', 'add', cl]);
  await ip(['-n', cl, 'link', 'set', 'lo', 'up']);
  await ip(['-n', cl, 'link', 'add', BRIDGE, 'type', 'bridge']);
  for (const address of t.clientAddresses) await ip(['-n', cl, 'addr', 'add', `${address}/${PREFIX_LENGTH}`, 'dev', BRIDGE]);
  await ip(['-n', cl, 'link', 'set', BRIDGE, 'up']);
  for (const [pnn, ns] of t.nodeNamespaces.entries()) {
    await ip(['netns', 'add', ns]);
    await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    await ip(['-n', cl, 'link', 'add', bridgePort(pnn), 'type', 'veth', 'peer', 'name', NODE_INTERFACE, 'netns', ns]);
    await ip(['-n', cl, 'link', 'set', bridgePort(pnn), 'master', BRIDGE, 'up']);
    await ip(['-n', ns, 'addr', 'add', `${t.privateAddresses[pnn]}/${PREFIX_LENGTH}`, 'dev', NODE_INTERFACE]);
    await ip(['-n', ns, 'link', 'set', NODE_INTERFACE, 'up']);
  }
}

/** PIDs of the processes whose network namespace is `ns` (`ip netns pids`). */
export async function namespacePids(ns: string): Promise<number[]> {
  const r = await runTool('ip', ['netns', 'pids', ns]);
  if (r.exitCode !== 0) return [];
  return r.stdout.split('\n').filter((l) => /^\d+$/.test(l.trim())).map(Number);
}

/**
 * Kills whatever still runs in the namespaces (their processes are ours by
 * construction), then deletes them. Their private mounts go with their last
 * process. Returns the namespaces that could not be deleted.
 */
export async function removeNamespaces(names: string[]): Promise<string[]> {
  const existing = new Set(listNamespaces());
  const present = names.filter((n) => existing.has(n));
  const pids = (await Promise.all(present.map(namespacePids))).flat();
  if (pids.length > 0) await killAll(pids);
  const failed: string[] = [];
  for (const ns of present) {
    const r = await runTool('ip', ['netns', 'del', ns]);
    if (r.exitCode !== 0) failed.push(ns);
  }
  return failed;
}

/** Synchronous removal for exit handlers (processes must already be killed). */
export function removeNamespacesSync(names: string[]): void {
  const existing = new Set(listNamespaces());
  for (const ns of names) if (existing.has(ns)) ipSync(['netns', 'del', ns]);
}

/**
 * x for 10.x.0.0/24 and 10.x.1.0/24: the first in `range` that neither the
 * host nor another netns cluster uses. The namespaces are isolated, so a
 * clash would be harmless; distinct subnets keep captures and logs unambiguous.
 */
export async function chooseSubnet(range: [number, number]): Promise<number> {
  const used = new Set<number>();
  const collect = async (args: string[]) => {
    const links = await ipJson<Array<{ addr_info?: Array<{ local?: string }> }>>(args).catch(() => []);
    for (const link of links) {
      for (const a of link.addr_info ?? []) {
        const m = /^10\.(\d+)\./.exec(a.local ?? '');
        if (m) used.add(Number(m[1]));
      }
    }
  };
  await collect(['-4', 'addr', 'show']);
  for (const ns of listNamespaces()) {
    if (parseNamespace(ns)?.role === 'client') await collect(['-n', ns, '-4', 'addr', 'show', 'dev', BRIDGE]);
  }
  for (let x = range[0]; x <= range[1]; x++) if (!used.has(x)) return x;
  throw new NetnsCommandError(['choose subnet'], `every 10.x subnet with x in ${range[0]}..${range[1]} is in use`, null);
}

/** MAC address of `ifname` in namespace `ns`. */
export async function macAddress(ns: string, ifname: string): Promise<string> {
  const [link] = await ipJson<Array<{ address: string }>>(['-n', ns, 'link', 'show', 'dev', ifname]);
  return link.address;
}

/** IPv4 addresses configured on `ifname` in namespace `ns`. */
export async function interfaceAddresses(ns: string, ifname: string): Promise<string[]> {
  const links = await ipJson<Array<{ addr_info?: Array<{ local: string }> }>>(['-n', ns, '-4', 'addr', 'show', 'dev', ifname]);
  return links.flatMap((l) => (l.addr_info ?? []).map((a) => a.local));
}

/** The link-layer address `ns` has cached for `address`, if any. */
export async function neighbourMac(ns: string, address: string): Promise<string | undefined> {
  const entries = await ipJson<Array<{ dst: string; lladdr?: string }>>(['-n', ns, 'neigh', 'show', 'to', address]);
  return entries.find((e) => e.dst === address)?.lladdr;
}

export async function setLink(ns: string, ifname: string, up: boolean): Promise<void> {
  await ip(['-n', ns, 'link', 'set', ifname, up ? 'up' : 'down']);
}

/** True for names that look like ours (for sweeps). */
export function isOurNamespace(name: string): boolean {
  return name.startsWith(NETNS_PREFIX) && parseNamespace(name) !== null;
}
