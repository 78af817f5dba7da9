import { Control } from '../../protocol/controls.ts';
import { notifyDataDef, pidSrvidDef } from '../../protocol/types/misc.ts';
import type { ClientConn } from '../client-face.ts';
import type { Daemon } from '../daemon.ts';
import { BAD_SIZE, fail, ok, sizeIs, statusOnly, type ControlRequest, type ControlResult, type ControlTable } from './types.ts';

/**
 * Client-only controls about messages and tunnels (behaviour.md §3, §4) and
 * the pid checks smbd relies on. They act on the sending unix client; from
 * another node they fail as in ctdbd.
 */

const ENOENT = 2;

function clientOf(r: ControlRequest): ClientConn | undefined {
  return r.client && !r.client.closed ? r.client : undefined;
}

/**
 * Answers from the clients connected with peer pid `pid` (ctdbd's
 * client_pids): synchronously from the index when `enough` holds for what is
 * known, else after the shared background lookup (client-pids.ts).
 */
function withClientsOf(
  d: Daemon, pid: number, enough: (known: ReadonlySet<ClientConn>) => boolean,
  answer: (clients: ReadonlySet<ClientConn>) => ControlResult,
): ControlResult | Promise<ControlResult> {
  const found = d.clientFace.pids.find(pid, enough);
  return found instanceof Promise ? found.then(answer) : answer(found);
}

/** kill(pid, 0); EPERM still means the process exists (ctdbd, as root, never sees it). */
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
  // 4.17: no client with that pid -> -1; on an inactive node its newest such
  // client is dropped (it must not keep working) -> -1; else kill(pid, 0), so a
  // connected client whose process died answers -1.
  t.set(Control.PROCESS_EXISTS, (r, d) => {
    if (!sizeIs(r, 4)) return BAD_SIZE;
    const pid = r.data.readInt32LE(0);
    return withClientsOf(d, pid, (k) => k.size > 0, (clients) => {
      if (clients.size === 0) return statusOnly(-1);
      if (d.state.selfInactive) {
        const newest = [...clients].at(-1)!;
        d.log.info({ pid, clientId: newest.clientId }, 'PROCESS_EXISTS on an inactive node: dropping that client');
        d.clientFace.pids.remove(newest);
        newest.close();
        return statusOnly(-1);
      }
      return statusOnly(alive(pid) ? 0 : -1);
    });
  });
  // 4.17: 0 when any client with that pid registered the srvid; no liveness check.
  t.set(Control.CHECK_PID_SRVID, (r, d) => {
    if (!sizeIs(r, 12)) return BAD_SIZE;
    const { pid, srvid } = pidSrvidDef.decode(r.data);
    const registered = (clients: ReadonlySet<ClientConn>): boolean => {
      for (const c of clients) if (d.srvids.isRegisteredBy(srvid, c)) return true;
      return false;
    };
    return withClientsOf(d, pid, registered, (clients) => statusOnly(registered(clients) ? 0 : -1));
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
