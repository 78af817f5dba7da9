import { Control } from '../../protocol/controls.ts';
import { encodeControlReply } from '../../protocol/control-payloads.ts';
import { INVALID_GENERATION, NodeFlag, RecoveryMode } from '../../protocol/constants.ts';
import { echoDataDef } from '../../protocol/types/misc.ts';
import { nodeMapDef, vnnMapDef, type NodeMap } from '../../protocol/types/node.ts';
import { sockAddrDef, type SockAddr } from '../../protocol/types/sock-addr.ts';
import { isIP } from 'node:net';
import { timevalNow } from '../cluster-state.ts';
import type { Daemon } from '../daemon.ts';
import { newStatistics, wrapCounters } from '../statistics.ts';
import { BAD_SIZE, fail, ok, sizeIs, statusOnly, type ControlTable } from './types.ts';

/**
 * Read-mostly controls: identity, uptime, statistics, node and VNN maps,
 * recovery mode and run state, debug level, cluster lock. Size checks follow ctdbd 4.17 (observed: controls it checks
 * answer -1 without data for a non-empty request, the others ignore data).
 */

const tv = ([sec, usec]: [number, number]) => ({ sec, usec });

export function sockAddrOf(address: string, port: number): SockAddr {
  return { family: isIP(address) === 6 ? 'inet6' : 'inet', address, port };
}

export function nodeMapOf(d: Daemon): NodeMap {
  return {
    nodes: d.state.nodes.map((n) => ({ pnn: n.pnn, flags: n.flags, addr: sockAddrOf(n.address, d.config.port) })),
  };
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
}

export function registerInfoControls(t: ControlTable): void {
  t.set(Control.GET_PNN, (_r, d) => statusOnly(d.pnn));
  t.set(Control.GET_PID, () => statusOnly(process.pid));
  t.set(Control.PING, (r, d) => (sizeIs(r, 0) ? statusOnly(d.clientCount) : BAD_SIZE));
  t.set(Control.UPTIME, (_r, d) => ok(encodeControlReply(Control.UPTIME, {
    currentTime: tv(timevalNow()),
    ctdbdStartTime: tv(d.startTime),
    lastRecoveryStarted: tv(d.state.lastRecoveryStarted),
    lastRecoveryFinished: tv(d.state.lastRecoveryFinished),
  })));
  t.set(Control.STATISTICS, (r, d) => {
    if (!sizeIs(r, 0)) return BAD_SIZE;
    const s = d.stats;
    s.numClients = d.clientCount;
    s.memoryUsed = Math.min(process.memoryUsage().heapUsed, 0xffffffff);
    s.statisticsCurrentTime = tv(timevalNow());
    return ok(encodeControlReply(Control.STATISTICS, wrapCounters(s)));
  });
  t.set(Control.STATISTICS_RESET, (r, d) => {
    if (!sizeIs(r, 0)) return BAD_SIZE;
    const fresh = newStatistics();
    fresh.statisticsStartTime = tv(timevalNow());
    fresh.numRecoveries = d.stats.numRecoveries;
    Object.assign(d.stats, fresh);
    return ok();
  });
  t.set(Control.GET_RUNSTATE, (r, d) => (sizeIs(r, 0) ? ok(u32(d.state.runState)) : BAD_SIZE));
  t.set(Control.GET_CAPABILITIES, (_r, d) => ok(u32(d.state.capabilities)));
  t.set(Control.GET_DEBUG, (r, d) => {
    if (!sizeIs(r, 0)) return BAD_SIZE;
    const b = Buffer.alloc(4);
    b.writeInt32LE(d.debugLevel | 0);
    return ok(b);
  });
  t.set(Control.SET_DEBUG, (r, d) => {
    if (!sizeIs(r, 4)) return BAD_SIZE;
    d.setDebugLevel(r.data.readInt32LE(0));
    return ok();
  });
  t.set(Control.GET_RECLOCK_FILE, (r, d) => {
    if (!sizeIs(r, 0)) return BAD_SIZE;
    const lock = d.config.clusterLock;
    return ok(lock ? Buffer.from(`${lock}\0`) : undefined);
  });
  t.set(Control.GET_NODEMAP, (r, d) => (sizeIs(r, 0) ? ok(nodeMapDef.encode(nodeMapOf(d))) : BAD_SIZE));
  t.set(Control.GET_NODES_FILE, (r, d) => {
    if (!sizeIs(r, 0)) return BAD_SIZE;
    return ok(nodeMapDef.encode({
      nodes: d.config.nodes.map((n) => ({
        pnn: n.pnn, flags: n.deleted ? NodeFlag.DELETED : 0, addr: sockAddrOf(n.address, d.config.port),
      })),
    }));
  });
  t.set(Control.GETVNNMAP, (r, d) => (sizeIs(r, 0) ? ok(vnnMapDef.encode(d.state.vnnMap)) : BAD_SIZE));
  t.set(Control.SETVNNMAP, (r, d) => {
    if (d.state.recoveryMode !== RecoveryMode.ACTIVE) return fail('Attempt to set vnnmap when not in recovery');
    let v;
    try {
      v = vnnMapDef.decodeExact(r.data);
    } catch {
      return BAD_SIZE;
    }
    if (v.generation === INVALID_GENERATION) return fail('invalid generation');
    d.state.vnnMap = { generation: v.generation, map: [...v.map] };
    return ok();
  });
  t.set(Control.GET_RECMODE, (_r, d) => statusOnly(d.state.recoveryMode));
  t.set(Control.SET_RECMODE, (r, d) => {
    if (!sizeIs(r, 4)) return BAD_SIZE;
    const mode = r.data.readUInt32LE(0);
    if (mode !== RecoveryMode.NORMAL && mode !== RecoveryMode.ACTIVE) return fail(`invalid recovery mode ${mode}`);
    if (mode === RecoveryMode.NORMAL && d.state.selfInactive) return fail('node is inactive: staying in recovery');
    d.setRecoveryMode(mode);
    return ok();
  });
  t.set(Control.START_RECOVERY, (_r, d) => { d.recoveryStarted(); return ok(); });
  t.set(Control.END_RECOVERY, (_r, d) => { d.recoveryFinished(); return ok(); });
  t.set(Control.RECD_PING, (r) => (sizeIs(r, 0) ? ok() : BAD_SIZE));
  t.set(Control.RECD_RECLOCK_LATENCY, (r) => (sizeIs(r, 8) ? ok() : BAD_SIZE));
  t.set(Control.DUMP_MEMORY, () => {
    const m = process.memoryUsage();
    return ok(Buffer.from(
      `embedded ctdbd memory: rss ${m.rss} heapTotal ${m.heapTotal} heapUsed ${m.heapUsed} external ${m.external}\n`));
  });
  t.set(Control.ECHO_DATA, (r) => {
    try {
      echoDataDef.decodeExact(r.data);
    } catch {
      return BAD_SIZE;
    }
    return ok(r.data);
  });
  t.set(Control.GET_BAN_STATE, (r, d) => {
    if (!sizeIs(r, 0)) return BAD_SIZE;
    return ok(encodeControlReply(Control.GET_BAN_STATE, { pnn: d.pnn, time: d.state.banSeconds }));
  });
  t.set(Control.RELOAD_NODES_FILE, () => fail('reloading the nodes file is not supported by the embedded daemon'));

  // Interfaces, public IPs and connection tracking (tickles): controls/public-ips.ts, controls/tcp-tickles.ts.
  for (const op of [Control.ADD_PUBLIC_IP, Control.DEL_PUBLIC_IP, Control.SEND_GRATUITOUS_ARP, Control.RELOAD_PUBLIC_IPS]) {
    t.set(op, () => fail('changing public IPs at run time is not supported by the embedded daemon'));
  }
}
