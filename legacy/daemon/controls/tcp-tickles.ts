import { Control } from '../../protocol/controls.ts';
import { encodeControlReply } from '../../protocol/control-payloads.ts';
import { connectionDef, tickleListDef } from '../../protocol/types/public-ip.ts';
import { sockAddrDef } from '../../protocol/types/sock-addr.ts';
import { TickleLimitError } from '../tcp-connections.ts';
import { BAD_SIZE, fail, ok, statusOnly, type ControlRequest, type ControlTable } from './types.ts';

/**
 * Connection tracking for tickle ACKs (../tcp-tickles.ts holds the state):
 * smbd's TCP_CLIENT, the other nodes' TCP_ADD / TCP_REMOVE /
 * SET_TCP_TICKLE_LIST, `ctdb gettickles`' GET_TCP_TICKLE_LIST, and STARTUP
 * (another node started: it gets every list this node holds). Statuses are
 * ctdbd 4.17's: a connection to an address this node does not host fails
 * TCP_CLIENT (smbd drops that client); a list asked or set for an address
 * that is not public answers 1.
 */

function decode<T>(def: { decodeExact(b: Buffer): T }, r: ControlRequest): T | undefined {
  try {
    return def.decodeExact(r.data);
  } catch {
    return undefined;
  }
}

export function registerTickleControls(t: ControlTable): void {
  t.set(Control.TCP_CLIENT, (r, d) => {
    const c = decode(connectionDef, r);
    if (!c) return BAD_SIZE;
    let outcome;
    try {
      outcome = d.tickles.tcpClient(r.clientId, c);
    } catch (err) {
      if (err instanceof TickleLimitError) return fail(err.message);
      throw err;
    }
    // Failing it tells smbd to drop that client (logged by the tracker).
    return outcome === 'not-hosted' ? fail() : ok();
  });
  t.set(Control.TCP_ADD, (r, d) => {
    const c = decode(connectionDef, r);
    return c ? statusOnly(d.tickles.peerAdd(c, false)) : BAD_SIZE;
  });
  t.set(Control.TCP_ADD_DELAYED_UPDATE, (r, d) => {
    const c = decode(connectionDef, r);
    return c ? statusOnly(d.tickles.peerAdd(c, true)) : BAD_SIZE;
  });
  t.set(Control.TCP_REMOVE, (r, d) => {
    const c = decode(connectionDef, r);
    return c ? statusOnly(d.tickles.peerRemove(c)) : BAD_SIZE;
  });
  t.set(Control.SET_TCP_TICKLE_LIST, (r, d) => {
    const list = decode(tickleListDef, r);
    return list ? statusOnly(d.tickles.setList(list)) : BAD_SIZE;
  });
  t.set(Control.GET_TCP_TICKLE_LIST, (r, d) => {
    const a = decode(sockAddrDef, r);
    if (!a) return BAD_SIZE;
    const list = d.tickles.getList(a.addr);
    if (!list) return statusOnly(1);
    return ok(encodeControlReply(Control.GET_TCP_TICKLE_LIST, list));
  });
  t.set(Control.STARTUP, (r, d) => {
    if (r.data.length !== 0) return BAD_SIZE;
    if (r.srcnode !== d.pnn) d.tickles.sendUpdates(true);
    return ok();
  });
}
