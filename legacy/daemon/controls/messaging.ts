import { Control } from '../../protocol/controls.ts';
import { notifyDataDef, pidSrvidDef } from '../../protocol/types/misc.ts';
import type { ClientConn } from '../client-face.ts';
import type { Daemon } from '../daemon.ts';
import { BAD_SIZE, fail, ok, sizeIs, statusOnly, type ControlRequest, type ControlTable } from './types.ts';

/**
 * Client-only controls about messages and tunnels (behaviour.md §3, §4) and
 * the pid checks smbd relies on. They act on the sending unix client; from
 * another node they fail as in ctdbd.
 */

const ENOENT = 2;

function clientOf(r: ControlRequest): ClientConn | undefined {
  return r.client && !r.client.closed ? r.client : undefined;
}

async function clientsWithPid(d: Daemon, pid: number): Promise<ClientConn[]> {
  await d.clientFace.resolvePids();
  return [...d.clientFace.clients].filter((c) => c.pid === pid && !c.closed);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function registerMessagingControls(t: ControlTable): void {
  t.set(Control.REGISTER_SRVID, (r, d) => {
    const c = clientOf(r);
    if (!c) return fail('REGISTER_SRVID is only accepted from a local client');
    d.srvids.register(r.srvid, c);
    return ok();
  });
  t.set(Control.DEREGISTER_SRVID, (r, d) => {
    const c = clientOf(r);
    if (!c) return fail('DEREGISTER_SRVID is only accepted from a local client');
    return d.srvids.deregister(r.srvid, c) ? ok() : statusOnly(ENOENT);
  });
  t.set(Control.TUNNEL_REGISTER, (r, d) => {
    const c = clientOf(r);
    if (!c) return fail('TUNNEL_REGISTER is only accepted from a local client');
    return d.tunnels.register(r.srvid, c) ? ok() : statusOnly(-1);
  });
  t.set(Control.TUNNEL_DEREGISTER, (r, d) => {
    const c = clientOf(r);
    if (!c) return fail('TUNNEL_DEREGISTER is only accepted from a local client');
    return d.tunnels.deregister(r.srvid, c) ? ok() : statusOnly(-1);
  });
  t.set(Control.PROCESS_EXISTS, async (r, d) => {
    if (!sizeIs(r, 4)) return BAD_SIZE;
    const pid = r.data.readInt32LE(0);
    const clients = await clientsWithPid(d, pid);
    if (clients.length === 0) return statusOnly(-1);
    if (d.state.selfInactive) {
      // An inactive node drops such clients (they must not keep working).
      for (const c of clients) c.close();
      return statusOnly(-1);
    }
    return statusOnly(alive(pid) ? 0 : -1);
  });
  t.set(Control.CHECK_PID_SRVID, async (r, d) => {
    if (!sizeIs(r, 12)) return BAD_SIZE;
    const { pid, srvid } = pidSrvidDef.decode(r.data);
    const clients = await clientsWithPid(d, pid);
    return statusOnly(clients.some((c) => d.srvids.isRegisteredBy(srvid, c)) ? 0 : -1);
  });
  t.set(Control.REGISTER_NOTIFY, (r, d) => {
    const c = clientOf(r);
    if (!c) return fail('REGISTER_NOTIFY is only accepted from a local client');
    let v;
    try {
      v = notifyDataDef.decodeExact(r.data);
    } catch {
      return BAD_SIZE;
    }
    let mine = d.notifies.get(c);
    if (!mine) d.notifies.set(c, (mine = new Map()));
    if (mine.has(v.srvid)) return fail(`notification for srvid 0x${v.srvid.toString(16)} already registered`);
    mine.set(v.srvid, Buffer.from(v.data));
    return ok();
  });
  t.set(Control.DEREGISTER_NOTIFY, (r, d) => {
    const c = clientOf(r);
    if (!c) return fail('DEREGISTER_NOTIFY is only accepted from a local client');
    if (!sizeIs(r, 8)) return BAD_SIZE;
    const srvid = r.data.readBigUInt64LE(0);
    const mine = d.notifies.get(c);
    if (!mine?.delete(srvid)) return fail(`no notification registered for srvid 0x${srvid.toString(16)}`);
    return ok();
  });
  // Still implemented by ctdbd despite being marked obsolete: a per-client counter.
  t.set(Control.START_PERSISTENT_UPDATE, () => ok());
  t.set(Control.CANCEL_PERSISTENT_UPDATE, () => ok());
}
