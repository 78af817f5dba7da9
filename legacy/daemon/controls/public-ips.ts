import { Control } from '../../protocol/controls.ts';
import { encodeControlReply } from '../../protocol/control-payloads.ts';
import { ControlFlag, NodeFlag, RunState } from '../../protocol/constants.ts';
import { Srvid } from '../../protocol/srvid.ts';
import { ifaceDef, publicIpDef, type Connection } from '../../protocol/types/public-ip.ts';
import { sockAddrDef } from '../../protocol/types/sock-addr.ts';
import type { Daemon } from '../daemon.ts';
import type { IpEvent, TickleConnection } from '../ip-events.ts';
import { NO_OWNER, type HostedAddress } from '../public-ips.ts';
import { sockAddrOf } from './info.ts';
import { registerTickleControls } from './tcp-tickles.ts';
import { BAD_SIZE, fail, ok, sizeIs, type ControlRequest, type ControlResult, type ControlTable } from './types.ts';

/**
 * Public IP controls over the node's record (public-ips.ts), as ctdbd 4.17
 * answers them: the takeover run's TAKEOVER_IP / RELEASE_IP / IPREALLOCATED,
 * the queries `ctdb ip` and `ctdb ifaces` make (TCP_CLIENT and connection
 * tracking: tcp-tickles.ts). On a change the node runs the event
 * (ip-events.ts; a takeip carries the connections to tickle) and then tells
 * its local clients on the RELEASE_IP / TAKE_IP SRVIDs, with the address as
 * a NUL-terminated string.
 */

const wireOwner = (owner: number): number => (owner === NO_OWNER ? 0xffffffff : owner);
const ownerOf = (pnn: number): number => (pnn === 0xffffffff ? NO_OWNER : pnn);

function decode<T>(def: { decodeExact(b: Buffer): T }, r: ControlRequest): T | undefined {
  try {
    return def.decodeExact(r.data);
  } catch {
    return undefined;
  }
}

async function runEvent(d: Daemon, e: IpEvent): Promise<boolean> {
  if (!d.ipEvents) return true;
  try {
    await d.ipEvents.run(e);
    return true;
  } catch (err) {
    d.log.error({ event: e.event, err: (err as Error).message }, 'public IP event failed');
    return false;
  }
}

/** A tracked connection as the executor tickles it (wire: dst is the public address, src the client). */
function tickleOf(c: Connection): TickleConnection {
  return { client: { address: c.src.address, port: c.src.port }, server: { address: c.dst.address, port: c.dst.port } };
}

function tellClients(d: Daemon, srvid: bigint, address: string): void {
  d.sendMessage(d.pnn, srvid, Buffer.from(`${address}\0`));
}

async function takeover(r: ControlRequest, d: Daemon): Promise<ControlResult> {
  const ip = decode(publicIpDef, r);
  if (!ip) return BAD_SIZE;
  const outcome = d.publicIps.takeover(ownerOf(ip.pnn), ip.addr.address);
  if (outcome.kind === 'refused') {
    d.log.error({ address: ip.addr.address, reason: outcome.reason }, 'takeover of public IP refused');
    return fail();
  }
  if (outcome.kind === 'update') return update(d, outcome.hosted, outcome.oldIface);
  if (outcome.kind !== 'take') return ok();
  const { hosted } = outcome;
  // The clients of connections to this address get tickle ACKs with the announcement (ctdb_announce_vnn_iface).
  const connections = d.tickles.forAnnounce(hosted.address).map(tickleOf);
  d.log.info({ address: hosted.address, iface: hosted.iface, connections: connections.length }, 'takeover of public IP');
  if (!(await runEvent(d, { event: 'takeip', ...hosted, ...(connections.length > 0 ? { connections } : {}) }))) {
    d.publicIps.release(NO_OWNER, hosted.address);
    return fail();
  }
  d.tickles.announced(hosted.address);
  tellClients(d, Srvid.TAKE_IP, hosted.address);
  return ok();
}

/**
 * updateip: the address moves to another interface of this node (its link
 * went down). ctdbd's 10.interface script re-adds it there, announces it and
 * tickles the connections the host has on it; here the executor does, with
 * the connections this node tracks for the address.
 */
async function update(d: Daemon, hosted: HostedAddress, oldIface: string): Promise<ControlResult> {
  const connections = d.tickles.forAnnounce(hosted.address).map(tickleOf);
  d.log.info({ address: hosted.address, from: oldIface, to: hosted.iface }, 'update of public IP to another interface');
  const e: IpEvent = { event: 'updateip', oldIface, ...hosted, ...(connections.length > 0 ? { connections } : {}) };
  if (!(await runEvent(d, e))) {
    d.publicIps.moveBack(hosted.address, oldIface);
    return fail();
  }
  return ok();
}

async function release(r: ControlRequest, d: Daemon): Promise<ControlResult> {
  const ip = decode(publicIpDef, r);
  if (!ip) return BAD_SIZE;
  const outcome = d.publicIps.release(ownerOf(ip.pnn), ip.addr.address);
  if (outcome.kind !== 'release') return ok();
  const { hosted } = outcome;
  d.log.info({ address: hosted.address, iface: hosted.iface, newOwner: ip.pnn }, 'release of public IP');
  const done = await runEvent(d, { event: 'releaseip', ...hosted });
  tellClients(d, Srvid.RELEASE_IP, hosted.address);
  return done ? ok() : fail();
}

export function registerPublicIpControls(t: ControlTable): void {
  t.set(Control.GET_IFACES, (r, d) => (sizeIs(r, 0)
    ? ok(encodeControlReply(Control.GET_IFACES, { ifaces: d.publicIps.interfaces() }))
    : BAD_SIZE));
  t.set(Control.GET_PUBLIC_IPS, (r, d) => {
    const onlyAvailable = (r.flags & ControlFlag.PUBLIC_IP_ONLY_AVAILABLE) !== 0;
    // As ctdbd: only a RUNNING node that is neither inactive nor disabled can host. A takeover run
    // triggered by `ctdb disable` sees the node empty-handed at once, before the leader pushes its flags.
    const canHost = d.state.runState === RunState.RUNNING && (d.state.self.flags & (NodeFlag.INACTIVE | NodeFlag.DISABLED)) === 0;
    const ips = d.publicIps.list(onlyAvailable, canHost);
    return ok(encodeControlReply(Control.GET_PUBLIC_IPS, {
      ips: ips.map((ip) => ({ pnn: wireOwner(ip.owner), addr: sockAddrOf(ip.address, 0) })),
    }));
  });
  t.set(Control.GET_PUBLIC_IP_INFO, (r, d) => {
    const a = decode(sockAddrDef, r);
    if (!a) return BAD_SIZE;
    const info = d.publicIps.info(a.addr.address);
    if (!info) return fail(`public IP ${a.addr.address} is not configured on this node`);
    return ok(encodeControlReply(Control.GET_PUBLIC_IP_INFO, {
      ip: { pnn: wireOwner(info.owner), addr: sockAddrOf(a.addr.address, 0) },
      activeIdx: info.activeIdx < 0 ? 0xffffffff : info.activeIdx,
      ifaces: info.ifaces,
    }));
  });
  t.set(Control.SET_IFACE_LINK_STATE, (r, d) => {
    const i = decode(ifaceDef, r);
    if (!i || i.linkState > 1 || i.references !== 0) return fail();
    return d.publicIps.setLink(i.name, i.linkState === 1) ? ok() : fail();
  });
  t.set(Control.TAKEOVER_IP, takeover);
  t.set(Control.RELEASE_IP, release);
  t.set(Control.IPREALLOCATED, async (_r, d) => ((await runEvent(d, { event: 'ipreallocated' })) ? ok() : fail()));
  // TCP_CLIENT and the other connection-tracking controls.
  registerTickleControls(t);
}

/** Shutdown: every hosted address released, with its event and the RELEASE_IP message (ctdb_release_all_ips). */
export async function releaseAllPublicIps(d: Daemon): Promise<void> {
  for (const released of d.publicIps.releaseAll()) {
    await runEvent(d, { event: 'releaseip', ...released });
    tellClients(d, Srvid.RELEASE_IP, released.address);
  }
}
