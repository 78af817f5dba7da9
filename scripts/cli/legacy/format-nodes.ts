import { NodeFlag } from '../../../legacy/protocol/constants.ts';
import type { NodeView, VnnMapView } from './views.ts';
import { left } from './text.ts';

/** Display-only flag `ctdb` uses for remote nodes while the local runstate is early. */
export const NODE_FLAGS_UNKNOWN = 0x40;

/** Flag names in ctdb's print order (pretty_print_flags). */
const FLAG_NAMES: Array<[number, string]> = [
  [NodeFlag.DISCONNECTED, 'DISCONNECTED'],
  [NODE_FLAGS_UNKNOWN, 'UNKNOWN'],
  [NodeFlag.PERMANENTLY_DISABLED, 'DISABLED'],
  [NodeFlag.BANNED, 'BANNED'],
  [NodeFlag.UNHEALTHY, 'UNHEALTHY'],
  [NodeFlag.DELETED, 'DELETED'],
  [NodeFlag.STOPPED, 'STOPPED'],
  [NodeFlag.INACTIVE, 'INACTIVE'],
];

export function prettyFlags(flags: number): string {
  const names = FLAG_NAMES.filter(([bit]) => (flags & bit) !== 0).map(([, name]) => name);
  return names.length ? names.join('|') : 'OK';
}

/**
 * Remote nodes show as UNKNOWN until the asked node's runstate has passed
 * FIRST_RECOVERY (their real flags are not settled yet); deleted,
 * disconnected and the asked node itself keep their flags.
 */
export function applyUnknownFlags(nodes: NodeView[], runstate: number, cmdPnn: number): NodeView[] {
  const FIRST_RECOVERY = 3;
  return nodes.map((n) => {
    if (n.flags & NodeFlag.DELETED) return n;
    if (runstate <= FIRST_RECOVERY && !(n.flags & NodeFlag.DISCONNECTED) && n.pnn !== cmdPnn) {
      return { ...n, flags: NODE_FLAGS_UNKNOWN };
    }
    return n;
  });
}

/** `ctdb nodestatus` / first part of `ctdb status`. */
export function formatNodeMap(nodes: NodeView[], myPnn: number, header: boolean,
  partiallyOnline: ReadonlySet<number>): string {
  let out = '';
  if (header) {
    const deleted = nodes.filter((n) => n.flags & NodeFlag.DELETED).length;
    out += deleted === 0
      ? `Number of nodes:${nodes.length}\n`
      : `Number of nodes:${nodes.length} (including ${deleted} deleted nodes)\n`;
  }
  for (const n of nodes) {
    if (n.flags & NodeFlag.DELETED) continue;
    const state = partiallyOnline.has(n.pnn) ? 'PARTIALLYONLINE' : prettyFlags(n.flags);
    out += `pnn:${n.pnn} ${left(n.address, 16)} ${state}${n.pnn === myPnn ? ' (THIS NODE)' : ''}\n`;
  }
  return out;
}

/** `ctdb status`. */
export function formatStatus(nodes: NodeView[], myPnn: number, partiallyOnline: ReadonlySet<number>,
  vnnmap: VnnMapView, recmode: number, leader: number): string {
  let out = formatNodeMap(nodes, myPnn, true, partiallyOnline);
  out += vnnmap.generation === 1 ? 'Generation:INVALID\n' : `Generation:${vnnmap.generation}\n`;
  out += `Size:${vnnmap.map.length}\n`;
  vnnmap.map.forEach((pnn, i) => { out += `hash:${i} lmaster:${pnn | 0}\n`; });
  out += `Recovery mode:${recmode === 0 ? 'NORMAL' : 'RECOVERY'} (${recmode})\n`;
  out += `Leader:${formatPnn(leader)}`;
  return out;
}

/** print_pnn: UNKNOWN for 0xFFFFFFFF. */
export function formatPnn(pnn: number): string {
  return pnn === 0xffffffff ? 'UNKNOWN\n' : `${pnn >>> 0}\n`;
}

/** The exit status of `ctdb nodestatus`: OR of the shown nodes' flags (deleted skipped), low byte by the OS. */
export function nodestatusExitCode(nodes: NodeView[]): number {
  let ret = 0;
  for (const n of nodes) if (!(n.flags & NodeFlag.DELETED)) ret |= n.flags;
  return ret;
}
