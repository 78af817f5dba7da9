import { NodeFlag, Node } from '../../../legacy/protocol/constants.ts';
import type { NodeMap, PublicIp, PublicIpInfo, SockAddr } from '../../../legacy/protocol/types/index.ts';
import { resolveNodesFile } from '../../../legacy/client/index.ts';
import type { CallOptions } from '../../../legacy/client/index.ts';
import { emitJson, UsageError, type LegacyCommand, type LegacyContext } from './context.ts';
import type { NodeView, PublicIpView } from './views.ts';
import { applyUnknownFlags, formatNodeMap, formatPnn, formatStatus, nodestatusExitCode } from './format-nodes.ts';
import {
  formatCapabilities, formatGetpid, formatListnodes, formatPing, formatProcessExists, formatRunstate, runstateName,
  debugLevelName,
} from './format-simple.ts';
// The formatters of one or two commands each (uptime, dbmap, ips, tunables,
// statistics) are imported by those commands: a one-shot `ctdb-bridge legacy
// <command>` loads only what it prints with (each ESM module costs ~0.5-1 ms).
import { cStrtoul, atoi } from './c-numbers.ts';
import { Control } from '../../../legacy/protocol/controls.ts';
import { parseIpv4, parseIpv6 } from '../../../legacy/protocol/types/sock-addr.ts';

/** Controls go to the node the command is about, with ctdb's per-control time limit. */
function at(ctx: LegacyContext, destnode = ctx.cmdPnn): CallOptions {
  return { destnode, timeoutMs: ctx.timeoutMs };
}

function nodeViews(map: NodeMap): NodeView[] {
  return map.nodes.map((n) => ({ pnn: n.pnn, flags: n.flags, address: n.addr.address }));
}

/** The result as asked for: with --json, `data` under the node's PNN; otherwise ctdb's text, if it prints any. */
function report(ctx: LegacyContext, data: Record<string, unknown>, text: string | undefined): void {
  if (ctx.json) emitJson(ctx, { pnn: ctx.cmdPnn, ...data });
  else if (text !== undefined) ctx.out(text);
}

function noArgs(name: string, args: string[]): void {
  if (args.length !== 0) throw new UsageError(name);
}

/**
 * The node map as ctdb's get_nodemap() gets it: from the local daemon, or,
 * if the local node is BANNED, from the next node that is neither deleted
 * nor disconnected.
 */
export async function getUsableNodeMap(ctx: LegacyContext): Promise<NodeMap> {
  let current = ctx.pnn;
  for (;;) {
    let map: NodeMap;
    try {
      map = await ctx.client.getNodeMap(at(ctx, current));
    } catch (err) {
      ctx.err(`Failed to get nodemap from node ${current}\n`);
      throw err;
    }
    let node = map.nodes.find((n) => n.pnn === current);
    if (!node || !(node.flags & NodeFlag.BANNED)) return map;
    do {
      current = (current + 1) % map.nodes.length;
      node = map.nodes.find((n) => n.pnn === current);
      if (node && !(node.flags & (NodeFlag.DELETED | NodeFlag.DISCONNECTED))) break;
    } while (current !== ctx.pnn);
    if (current === ctx.pnn) {
      ctx.err('Warning: All nodes are banned.\n');
      throw new Error('all nodes are banned');
    }
  }
}

/** Nodes with flags 0 whose interface list has a link down (ctdb's partially_online). */
async function partiallyOnline(ctx: LegacyContext, nodes: NodeView[]): Promise<{ pnns: Set<number>; ifaces: Record<number, unknown> }> {
  const pnns = new Set<number>();
  const ifaces: Record<number, unknown> = {};
  for (const n of nodes) {
    if (n.flags & NodeFlag.DELETED || n.flags !== 0) continue;
    try {
      const list = await ctx.client.getIfaces(at(ctx, n.pnn));
      ifaces[n.pnn] = list;
      if (list.ifaces.some((i) => i.linkState === 0)) pnns.add(n.pnn);
    } catch {
      // ctdb treats a failed GET_IFACES as "not partially online".
    }
  }
  return { pnns, ifaces };
}

/** ctdb's parse_nodestring: none = the command node, "all", or a comma list of PNNs. */
function selectNodes(ctx: LegacyContext, nodes: NodeView[], spec: string | undefined): NodeView[] | undefined {
  if (spec === undefined) return nodes.filter((n) => n.pnn === ctx.cmdPnn).slice(0, 1);
  if (spec === 'all') return nodes;
  const out: NodeView[] = [];
  for (const tok of spec.split(',').filter((t) => t.length > 0)) {
    const parsed = cStrtoul(tok);
    if ('errno' in parsed) {
      ctx.err(`Invalid node ${tok}\n`);
      return undefined;
    }
    const pnn = Number(BigInt.asUintN(32, parsed.value));
    const node = nodes.find((n) => n.pnn === pnn);
    if (!node) {
      ctx.err(`Node ${pnn} does not exist\n`);
      return undefined;
    }
    out.push(node);
  }
  return out;
}

const status: LegacyCommand = {
  name: 'status', description: 'show node status', remote: true,
  async run(ctx, args) {
    noArgs('status', args);
    const nodemap = await getUsableNodeMap(ctx);
    const runstate = await ctx.client.getRunstate(at(ctx));
    const nodes = applyUnknownFlags(nodeViews(nodemap), runstate, ctx.cmdPnn);
    const vnnmap = await ctx.client.getVnnMap(at(ctx));
    const recmode = await ctx.client.getRecmode(at(ctx));
    const leader = await ctx.client.waitForLeader(ctx.timeoutMs);
    const partial = await partiallyOnline(ctx, nodes);
    if (ctx.json) {
      emitJson(ctx, { pnn: ctx.cmdPnn, nodemap, runstate, vnnmap, recmode, leader, ifaces: partial.ifaces });
    } else {
      ctx.out(formatStatus(nodes, ctx.cmdPnn, partial.pnns, vnnmap, recmode, leader));
    }
    return 0;
  },
};

const nodestatus: LegacyCommand = {
  name: 'nodestatus', args: '[all|<pnn-list>]', description: 'show and return node status', remote: true,
  async run(ctx, args) {
    if (args.length > 1) throw new UsageError('nodestatus');
    const nodemap = await getUsableNodeMap(ctx);
    const selected = selectNodes(ctx, nodeViews(nodemap), args[0]);
    if (!selected) return 1;
    const runstate = await ctx.client.getRunstate(at(ctx));
    const nodes = applyUnknownFlags(selected, runstate, ctx.cmdPnn);
    const partial = await partiallyOnline(ctx, nodes);
    if (ctx.json) {
      emitJson(ctx, {
        pnn: ctx.cmdPnn, nodemap: { nodes: nodemap.nodes.filter((n) => selected.some((s) => s.pnn === n.pnn)) },
        runstate, ifaces: partial.ifaces,
      });
    } else {
      ctx.out(formatNodeMap(nodes, ctx.cmdPnn, args[0] === 'all', partial.pnns));
    }
    return nodestatusExitCode(nodes) & 0xff;
  },
};

const pnn: LegacyCommand = {
  name: 'pnn', description: 'show the pnn of the currnet node', remote: false,
  async run(ctx) {
    if (ctx.json) emitJson(ctx, { pnn: ctx.pnn });
    else ctx.out(`${ctx.pnn}\n`);
    return 0;
  },
};

const ping: LegacyCommand = {
  name: 'ping', description: 'ping a node', remote: true,
  async run(ctx) {
    const start = process.hrtime.bigint();
    const clients = await ctx.client.ping(at(ctx));
    const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    report(ctx, { clients, elapsedSeconds: elapsed }, formatPing(ctx.cmdPnn, elapsed, clients));
    return 0;
  },
};

const uptime: LegacyCommand = {
  name: 'uptime', description: 'show node uptime', remote: true,
  async run(ctx) {
    const { formatUptime } = await import('./format-uptime.ts');
    const u = await ctx.client.uptime(at(ctx));
    report(ctx, { uptime: u }, formatUptime(ctx.cmdPnn, u));
    return 0;
  },
};

const listnodes: LegacyCommand = {
  name: 'listnodes', description: 'list nodes in the cluster', remote: true, withoutDaemon: true,
  run: () => Promise.reject(new Error('listnodes runs without the daemon')),
  async runWithoutDaemon(ctx, args) {
    noArgs('listnodes', args);
    const path = resolveNodesFile(ctx.env);
    // Loaded here: the operator-file readers are the only users and cost every other one-shot command ~5 ms.
    const { loadNodesFile, OperatorFileError } = await import('../../../legacy/config/index.ts');
    try {
      const { nodes } = await loadNodesFile(path);
      if (ctx.json) emitJson(ctx, { nodes });
      else ctx.out(formatListnodes(nodes));
      return 0;
    } catch (err) {
      if (!(err instanceof OperatorFileError)) throw err;
      // ctdb names the bad line only for an address it cannot read.
      if (err.code === 'INVALID') ctx.err(`${err.reason}\n`);
      ctx.err(`Failed to read nodes file "${path}"\n`);
      return 1;
    }
  },
};

const getdbmap: LegacyCommand = {
  name: 'getdbmap', description: 'show attached databases', remote: true,
  async run(ctx, args) {
    noArgs('getdbmap', args);
    const { formatDbMap } = await import('./format-dbmap.ts');
    const dbmap = await ctx.client.getDbMap(at(ctx));
    const dbs = [];
    for (const db of dbmap.dbs) {
      const name = await ctx.client.getDbName(db.dbId, at(ctx));
      const path = await ctx.client.getDbPath(db.dbId, at(ctx));
      const health = await ctx.client.getDbHealth(db.dbId, at(ctx));
      dbs.push({ dbId: db.dbId, flags: db.flags, name, path, health });
    }
    report(ctx, { dbmap, dbs }, formatDbMap(dbs));
    return 0;
  },
};

/** Sort key with ctdb_sock_addr_cmp's order: family, address bytes, port as the host reads it. */
function sockAddrSortKey(a: SockAddr): Buffer {
  const family = a.family === 'inet' ? 2 : 10;
  const bytes = Buffer.from((a.family === 'inet' ? parseIpv4(a.address) : parseIpv6(a.address)) ?? []);
  const key = Buffer.alloc(2 + bytes.length + 2);
  key.writeUInt16BE(family, 0);
  bytes.copy(key, 2);
  // sin_port holds network order; ctdb compares it as a little-endian host integer.
  key.writeUInt16BE(((a.port & 0xff) << 8) | (a.port >> 8), 2 + bytes.length);
  return key;
}

/** ctdb's get_all_public_ips: merge every active node's list; an IP belongs to the node that claims it. */
async function allPublicIps(ctx: LegacyContext): Promise<{ ips: PublicIp[]; perNode: Record<number, unknown> }> {
  const nodemap = await getUsableNodeMap(ctx);
  const merged = new Map<string, PublicIp>();
  const perNode: Record<number, unknown> = {};
  for (const node of nodemap.nodes) {
    if (node.flags & NodeFlag.INACTIVE) continue;
    const list = await ctx.client.getPublicIps(at(ctx, node.pnn));
    perNode[node.pnn] = list;
    for (const ip of list.ips) {
      const key = `${ip.addr.family}/${ip.addr.address}/${ip.addr.port}`;
      if (ip.pnn === node.pnn) merged.set(key, ip);
      else if (!merged.has(key)) merged.set(key, { pnn: Node.UNKNOWN_PNN, addr: ip.addr });
    }
  }
  return { ips: [...merged.values()], perNode };
}

const ip: LegacyCommand = {
  name: 'ip', args: '[all]', description: 'show public ips', remote: true,
  async run(ctx, args) {
    if (args.length > 1 || (args.length === 1 && args[0] !== 'all')) throw new UsageError('ip');
    const all = args[0] === 'all';
    const { formatPublicIps, sortPublicIps } = await import('./format-ips.ts');
    let ips: PublicIp[];
    let perNode: Record<number, unknown> | undefined;
    if (all) ({ ips, perNode } = await allPublicIps(ctx));
    else ips = (await ctx.client.getPublicIps(at(ctx))).ips;
    const views: PublicIpView[] = sortPublicIps(ips.map((i) => ({
      pnn: i.pnn, address: i.addr.address, sortKey: sockAddrSortKey(i.addr),
    })));
    const infos: Array<PublicIpInfo | undefined> = [];
    for (const v of views) {
      const owner = all ? v.pnn : ctx.cmdPnn;
      if (owner === Node.UNKNOWN_PNN) { infos.push(undefined); continue; }
      const addr = ips.find((i) => i.addr.address === v.address)!.addr;
      const info = await ctx.client.getPublicIpInfo(addr, at(ctx, owner));
      infos.push(info);
      v.info = { activeIdx: info.activeIdx, ifaces: info.ifaces };
    }
    report(ctx, { all, publicIps: perNode ?? { ips }, info: infos }, formatPublicIps(views, ctx.cmdPnn, all, ctx.verbose));
    return 0;
  },
};

const ifaces: LegacyCommand = {
  name: 'ifaces', description: 'show interfaces', remote: true,
  async run(ctx, args) {
    noArgs('ifaces', args);
    const { formatIfaces } = await import('./format-ips.ts');
    const list = await ctx.client.getIfaces(at(ctx));
    report(ctx, { ...list }, formatIfaces(list.ifaces, ctx.cmdPnn));
    return 0;
  },
};

const getcapabilities: LegacyCommand = {
  name: 'getcapabilities', description: 'show node capabilities', remote: true,
  async run(ctx, args) {
    noArgs('getcapabilities', args);
    const caps = await ctx.client.getCapabilities(at(ctx));
    report(ctx, { capabilities: caps }, formatCapabilities(caps));
    return 0;
  },
};

const runstate: LegacyCommand = {
  name: 'runstate', args: '[setup|first_recovery|startup|running]', description: 'get/check runstate of a node',
  remote: true,
  async run(ctx, args) {
    const state = await ctx.client.getRunstate(at(ctx));
    const { stdout, exitCode } = formatRunstate(state, args);
    report(ctx, { runState: state, name: runstateName(state) }, stdout);
    return exitCode;
  },
};

const leader: LegacyCommand = {
  name: 'leader', description: 'show the pnn of the leader', remote: true,
  async run(ctx) {
    const pnnOfLeader = await ctx.client.waitForLeader(ctx.timeoutMs);
    if (ctx.json) emitJson(ctx, { leader: pnnOfLeader });
    else ctx.out(formatPnn(pnnOfLeader));
    return 0;
  },
};

/** LIST_TUNABLES with ctdb's error line. */
async function tunableNames(ctx: LegacyContext): Promise<string[]> {
  try {
    return await ctx.client.listTunables(at(ctx));
  } catch (err) {
    ctx.err(`Failed to get list of variables from node ${ctx.cmdPnn}\n`);
    throw err;
  }
}

const getvar: LegacyCommand = {
  name: 'getvar', args: '<name>', description: 'get a tunable variable', remote: true,
  async run(ctx, args) {
    if (args.length !== 1) throw new UsageError('getvar');
    const { formatGetvar, hasTunable } = await import('./format-tunables.ts');
    const names = await tunableNames(ctx);
    if (!hasTunable(names, args[0])) {
      ctx.out(`No such tunable ${args[0]}\n`);
      return 1;
    }
    const value = await ctx.client.getTunable(args[0], at(ctx));
    report(ctx, { name: args[0], value }, formatGetvar(args[0], value));
    return 0;
  },
};

const setvar: LegacyCommand = {
  name: 'setvar', args: '<name> <value>', description: 'set a tunable variable', remote: true,
  async run(ctx, args) {
    if (args.length !== 2) throw new UsageError('setvar');
    const { hasTunable } = await import('./format-tunables.ts');
    const names = await tunableNames(ctx);
    if (!hasTunable(names, args[0])) {
      ctx.out(`No such tunable ${args[0]}\n`);
      return 1;
    }
    const parsed = cStrtoul(args[1]);
    if ('errno' in parsed) return parsed.errno; // ctdb returns smb_strtoul's error as exit status
    const value = Number(BigInt.asUintN(32, parsed.value));
    const result = await ctx.client.setTunable(args[0], value, at(ctx));
    if (result === 'obsolete') ctx.err(`Setting obsolete tunable variable '${args[0]}'\n`);
    report(ctx, { name: args[0], value, result }, undefined);
    return 0;
  },
};

const listvars: LegacyCommand = {
  name: 'listvars', description: 'list tunable variables', remote: true,
  async run(ctx, args) {
    noArgs('listvars', args);
    const { formatListvars } = await import('./format-tunables.ts');
    const names = await ctx.client.listTunables(at(ctx));
    const vars: Array<{ name: string; value: number }> = [];
    for (const name of names) {
      try {
        vars.push({ name, value: await ctx.client.getTunable(name, at(ctx)) });
      } catch {
        // ctdb ignores a failing getvar inside listvars.
      }
    }
    report(ctx, { tunables: vars }, formatListvars(vars));
    return 0;
  },
};

const statistics: LegacyCommand = {
  name: 'statistics', description: 'show ctdb statistics', remote: true,
  async run(ctx, args) {
    noArgs('statistics', args);
    const { formatStatistics } = await import('./format-statistics.ts');
    const s = await ctx.client.statistics(at(ctx));
    report(ctx, { statistics: s }, formatStatistics(s));
    return 0;
  },
};

const getpid: LegacyCommand = {
  name: 'getpid', description: 'get ctdbd process ID', remote: true,
  async run(ctx) {
    const pid = await ctx.client.getPid(at(ctx));
    report(ctx, { pid }, formatGetpid(pid));
    return 0;
  },
};

const processExists: LegacyCommand = {
  name: 'process-exists', args: '<pid> [<srvid>]', description: 'check if a process exists on a node', remote: true,
  async run(ctx, args) {
    if (args.length !== 1 && args.length !== 2) throw new UsageError('process-exists');
    const pid = atoi(args[0]);
    let srvid = 0n;
    if (args.length === 2) {
      const parsed = cStrtoul(args[1]);
      if ('errno' in parsed) return parsed.errno;
      srvid = parsed.value;
    }
    const statusValue = srvid === 0n
      ? await ctx.client.rawStatus(Control.PROCESS_EXISTS, at(ctx), { pid })
      : await ctx.client.rawStatus(Control.CHECK_PID_SRVID, at(ctx), { pid, srvid });
    report(ctx, { pid, srvid, status: statusValue, exists: statusValue === 0 }, formatProcessExists(pid, srvid, statusValue));
    return statusValue === -1 ? 1 : statusValue & 0xff;
  },
};

const getreclock: LegacyCommand = {
  name: 'getreclock', description: 'get recovery lock file', remote: true,
  async run(ctx, args) {
    noArgs('getreclock', args);
    const path = await ctx.client.getReclockFile(at(ctx));
    report(ctx, { reclock: path ?? null }, path === undefined ? undefined : `${path}\n`);
    return 0;
  },
};

const getdebug: LegacyCommand = {
  name: 'getdebug', description: 'get debug level', remote: true,
  async run(ctx, args) {
    noArgs('getdebug', args);
    const level = await ctx.client.getDebug(at(ctx));
    report(ctx, { level, name: debugLevelName(level) }, `${debugLevelName(level)}\n`);
    return 0;
  },
};

/** Every supported command, in ctdb's help order. */
export const legacyCommands: readonly LegacyCommand[] = [
  status, uptime, ping, runstate, getvar, setvar, listvars, statistics, ip, ifaces, processExists, getdbmap,
  getcapabilities, pnn, getdebug, getpid, listnodes, leader, getreclock, nodestatus,
];

export function findLegacyCommand(name: string): LegacyCommand | undefined {
  return legacyCommands.find((c) => c.name === name);
}
