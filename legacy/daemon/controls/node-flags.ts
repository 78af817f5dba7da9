import { Capability, NodeFlag } from '../../protocol/constants.ts';
import { Control } from '../../protocol/controls.ts';
import { banStateDef, nodeFlagChangeDef } from '../../protocol/types/node.ts';
import type { Daemon } from '../daemon.ts';
import { BAD_SIZE, fail, ok, sizeIs, type ControlTable } from './types.ts';

/**
 * Controls that change node flags and roles. A node only changes its own
 * flags (stop, continue, disable, enable, ban); the leader learns them from
 * its GET_NODEMAP answers and pushes them to everyone with MODIFY_FLAGS.
 */

function setOwn(d: Daemon, set: number, clear: number, what: string): void {
  const wasInactive = d.state.selfInactive;
  d.state.setOwnFlags(set, clear);
  d.log.info({ flags: d.state.self.flags }, what);
  if (!wasInactive && d.state.selfInactive) d.becameInactive();
}

export function unban(d: Daemon): void {
  if (d.state.banTimer) clearTimeout(d.state.banTimer);
  d.state.banTimer = undefined;
  d.state.banSeconds = 0;
  setOwn(d, 0, NodeFlag.BANNED, 'node unbanned');
}

export function registerNodeFlagControls(t: ControlTable): void {
  t.set(Control.MODIFY_FLAGS, (r, d) => {
    if (!sizeIs(r, 12)) return BAD_SIZE;
    const c = nodeFlagChangeDef.decode(r.data);
    if (!d.state.isValidNode(c.pnn)) return fail(`no node ${c.pnn}`);
    // Updates about ourselves are ignored: our own flags are authoritative.
    if (c.pnn !== d.pnn && d.state.applyFlagChange(c.pnn, c.newFlags)) {
      d.log.info({ pnn: c.pnn, flags: d.state.node(c.pnn)?.flags }, 'node flags changed');
    }
    return ok();
  });
  t.set(Control.STOP_NODE, (_r, d) => {
    setOwn(d, NodeFlag.STOPPED, 0, 'node stopped');
    return ok();
  });
  t.set(Control.CONTINUE_NODE, (_r, d) => {
    setOwn(d, 0, NodeFlag.STOPPED, 'node continued');
    return ok();
  });
  t.set(Control.DISABLE_NODE, (_r, d) => {
    setOwn(d, NodeFlag.PERMANENTLY_DISABLED, 0, 'node disabled');
    return ok();
  });
  t.set(Control.ENABLE_NODE, (_r, d) => {
    setOwn(d, 0, NodeFlag.PERMANENTLY_DISABLED, 'node enabled');
    return ok();
  });
  t.set(Control.SET_BAN_STATE, (r, d) => {
    if (!sizeIs(r, 8)) return BAD_SIZE;
    const b = banStateDef.decode(r.data);
    if (b.pnn !== d.pnn) return fail(`ban state for node ${b.pnn} sent to node ${d.pnn}`);
    if (d.tunables.get('EnableBans') === 0) {
      d.log.info('bans are disabled (EnableBans=0): ignoring ban');
      return ok();
    }
    if (b.time === 0) {
      if (d.state.self.flags & NodeFlag.BANNED) unban(d);
      return ok();
    }
    if (d.state.banTimer) clearTimeout(d.state.banTimer);
    d.state.banSeconds = b.time;
    d.state.banTimer = setTimeout(() => unban(d), b.time * 1000);
    d.state.banTimer.unref?.();
    setOwn(d, NodeFlag.BANNED, 0, `node banned for ${b.time} seconds`);
    return ok();
  });
  t.set(Control.SET_LMASTERROLE, (r, d) => {
    if (!sizeIs(r, 4)) return BAD_SIZE;
    d.state.capabilities = r.data.readUInt32LE(0)
      ? (d.state.capabilities | Capability.LMASTER) >>> 0
      : (d.state.capabilities & ~Capability.LMASTER) >>> 0;
    return ok();
  });
  t.set(Control.SET_RECMASTERROLE, (r, d) => {
    if (!sizeIs(r, 4)) return BAD_SIZE;
    d.state.capabilities = r.data.readUInt32LE(0)
      ? (d.state.capabilities | Capability.RECMASTER) >>> 0
      : (d.state.capabilities & ~Capability.RECMASTER) >>> 0;
    return ok();
  });
  t.set(Control.SHUTDOWN, (_r, d) => {
    // Answer first (unless NOREPLY), then go away.
    setImmediate(() => d.shutdown('SHUTDOWN control'));
    return ok();
  });
}
