import { Capability, INVALID_GENERATION, NodeFlag, RecoveryMode, RunState } from '../protocol/constants.ts';
import type { NodeEntry } from './config.ts';

/**
 * What one daemon knows about the cluster: the node map with flags as seen
 * from here, the VNN map and generation, recovery mode, run state and
 * capabilities. Pure state with small rules; no I/O.
 */

export interface NodeState {
  pnn: number;
  address: string;
  flags: number;
}

export interface VnnMap {
  generation: number;
  map: number[];
}

/** Flags another node may set about a node in MODIFY_FLAGS (DISCONNECTED stays ours). */
const PUSHABLE_FLAGS = ~NodeFlag.DISCONNECTED >>> 0;

export class ClusterState {
  readonly nodes: NodeState[];
  vnnMap: VnnMap;
  recoveryMode: number = RecoveryMode.ACTIVE;
  runState: number = RunState.INIT;
  capabilities: number;
  /** Leader as last announced by SRVID_LEADER (UNKNOWN_PNN while electing). */
  leader = 0xffffffff;
  /** Last successful recovery, for UPTIME. */
  lastRecoveryStarted: [number, number] = [0, 0];
  lastRecoveryFinished: [number, number] = [0, 0];
  numRecoveries = 0;
  /** Ban expiry timer of this node, if banned. */
  banTimer: NodeJS.Timeout | undefined;
  banSeconds = 0;

  constructor(entries: NodeEntry[], readonly pnn: number, opts: { leaderCapability: boolean; lmasterCapability: boolean }) {
    this.nodes = entries.map((e) => ({
      pnn: e.pnn,
      address: e.address,
      // Every other node starts out unreachable; deleted ones stay so.
      flags: e.deleted ? NodeFlag.DELETED | NodeFlag.DISCONNECTED
        : e.pnn === pnn ? 0 : NodeFlag.DISCONNECTED | NodeFlag.UNHEALTHY,
    }));
    let caps = Capability.DEFAULT;
    if (!opts.leaderCapability) caps &= ~Capability.RECMASTER;
    if (!opts.lmasterCapability) caps &= ~Capability.LMASTER;
    this.capabilities = caps >>> 0;
    // Until the first recovery: all nodes, invalid generation (as ctdbd).
    this.vnnMap = { generation: INVALID_GENERATION, map: entries.filter((e) => !e.deleted).map((e) => e.pnn) };
  }

  get self(): NodeState {
    return this.nodes[this.pnn];
  }

  get generation(): number {
    return this.vnnMap.generation;
  }

  node(pnn: number): NodeState | undefined {
    return this.nodes[pnn];
  }

  /** A concrete PNN that exists and is not deleted. */
  isValidNode(pnn: number): boolean {
    const n = this.nodes[pnn];
    return n !== undefined && (n.flags & NodeFlag.DELETED) === 0;
  }

  isConnected(pnn: number): boolean {
    const n = this.nodes[pnn];
    return n !== undefined && (n.flags & (NodeFlag.DELETED | NodeFlag.DISCONNECTED)) === 0;
  }

  isActive(pnn: number): boolean {
    const n = this.nodes[pnn];
    return n !== undefined && (n.flags & NodeFlag.INACTIVE) === 0;
  }

  get selfInactive(): boolean {
    return (this.self.flags & NodeFlag.INACTIVE) !== 0;
  }

  /** Targets of a broadcast destination (wire.md §5), local node included where it qualifies. */
  broadcastTargets(dest: number): number[] {
    const out: number[] = [];
    for (const n of this.nodes) {
      if (n.flags & NodeFlag.DELETED) continue;
      switch (dest) {
        case 0xf0000002: out.push(n.pnn); break; // ALL
        case 0xf0000003: if ((n.flags & NodeFlag.INACTIVE) === 0) out.push(n.pnn); break; // ACTIVE
        case 0xf0000004: if (n.pnn === this.pnn || (n.flags & NodeFlag.DISCONNECTED) === 0) out.push(n.pnn); break;
        default: break;
      }
    }
    return out;
  }

  markConnected(pnn: number): void {
    const n = this.nodes[pnn];
    if (n && pnn !== this.pnn) n.flags &= ~NodeFlag.DISCONNECTED;
  }

  markDead(pnn: number): void {
    const n = this.nodes[pnn];
    if (n && pnn !== this.pnn) n.flags |= NodeFlag.DISCONNECTED | NodeFlag.UNHEALTHY;
  }

  /**
   * MODIFY_FLAGS from another daemon: ignored for ourselves and for nodes we
   * see disconnected; our own view of DISCONNECTED is kept.
   */
  applyFlagChange(pnn: number, newFlags: number): boolean {
    const n = this.nodes[pnn];
    if (!n || pnn === this.pnn || (n.flags & NodeFlag.DISCONNECTED)) return false;
    const next = ((newFlags & PUSHABLE_FLAGS) | (n.flags & NodeFlag.DISCONNECTED)) >>> 0;
    const changed = next !== n.flags;
    n.flags = next;
    return changed;
  }

  /** Sets or clears flags on our own entry. */
  setOwnFlags(set: number, clear: number): void {
    this.self.flags = ((this.self.flags | set) & ~clear) >>> 0;
  }
}

/** `struct timeval` of now as [seconds, microseconds]. */
export function timevalNow(): [number, number] {
  const ms = Date.now();
  return [Math.floor(ms / 1000), (ms % 1000) * 1000];
}
