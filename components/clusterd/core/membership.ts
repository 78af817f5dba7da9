// Membership: one state per node of the nodes file, merged from clusterd's
// own traffic (any message from a node's clusterd counts as a heartbeat),
// ctdbd's node flags and transportd's reachability. Pure: every call takes
// `now`; changes come back as node-changed actions.

import { NodeFlag } from '../../../legacy/protocol/constants.ts';
import type { Action, NodeState, NodeView, TransportNodeState } from './types.ts';

interface NodeRecord {
  pnn: number;
  lastHeard: number | undefined;
  bootId: string | undefined;
  bootChanged: boolean;
  legacyFlags: number | undefined;
  transport: TransportNodeState | undefined;
  /** A message came from the node since transportd's state last changed. */
  heardSinceTransport: boolean;
  reported: NodeState | undefined;
}

/** States in which a node may lead or rank as a candidate. */
const UP_STATES: ReadonlySet<NodeState> = new Set<NodeState>(['ok', 'unhealthy', 'disabled']);

export function isUp(state: NodeState): boolean {
  return UP_STATES.has(state);
}

export class Membership {
  private readonly records = new Map<number, NodeRecord>();

  constructor(
    readonly self: number,
    nodes: readonly number[],
    private readonly deadAfterMs: number,
  ) {
    for (const pnn of [...nodes].sort((a, b) => a - b)) {
      this.records.set(pnn, {
        pnn, lastHeard: undefined, bootId: undefined, bootChanged: false, legacyFlags: undefined,
        transport: undefined, heardSinceTransport: false, reported: undefined,
      });
    }
  }

  has(pnn: number): boolean {
    return this.records.has(pnn);
  }

  /** A message from the node's clusterd arrived. */
  heard(now: number, pnn: number, bootId: string): void {
    const r = this.records.get(pnn);
    if (!r || pnn === this.self) return;
    r.lastHeard = now;
    r.heardSinceTransport = true;
    if (r.bootId !== undefined && r.bootId !== bootId) r.bootChanged = true;
    r.bootId = bootId;
  }

  /** ctdbd's node map; undefined while ctdbd cannot be reached. Nodes not in the nodes file are ignored. */
  legacy(nodes: ReadonlyArray<{ pnn: number; flags: number }> | undefined): void {
    const flags = new Map((nodes ?? []).map((n) => [n.pnn, n.flags]));
    for (const r of this.records.values()) r.legacyFlags = flags.get(r.pnn);
  }

  /** transportd's state of a node. Repeated reports of one state are one event. */
  transport(pnn: number, state: TransportNodeState): void {
    const r = this.records.get(pnn);
    if (!r || pnn === this.self || r.transport === state) return;
    r.transport = state;
    r.heardSinceTransport = false;
  }

  runsClusterd(pnn: number): boolean {
    const r = this.records.get(pnn);
    if (!r) return false;
    return pnn === this.self || !(r.transport === 'legacy-only' && !r.heardSinceTransport);
  }

  /** Other nodes that run clusterd: where heartbeats and vote requests go. */
  peers(): number[] {
    return [...this.records.keys()].filter((p) => p !== this.self && this.runsClusterd(p));
  }

  view(now: number, pnn: number): NodeView {
    const r = this.records.get(pnn)!;
    const { state } = this.judge(now, r);
    const view: NodeView = {
      pnn, state, legacyFlags: r.legacyFlags, clusterd: this.runsClusterd(pnn),
      heartbeatAgeMs: r.lastHeard === undefined ? undefined : now - r.lastHeard,
    };
    if (r.bootId !== undefined) view.bootId = r.bootId;
    return view;
  }

  views(now: number): NodeView[] {
    return [...this.records.keys()].map((p) => this.view(now, p));
  }

  stateOf(now: number, pnn: number): NodeState {
    return this.judge(now, this.records.get(pnn)!).state;
  }

  /** Up nodes that run clusterd, sorted by PNN: the candidate ranks. */
  upClusterd(now: number): number[] {
    return [...this.records.values()]
      .filter((r) => this.runsClusterd(r.pnn) && isUp(this.judge(now, r).state))
      .map((r) => r.pnn);
  }

  /** node-changed actions for every state (or boot id) that changed since the last call. */
  changes(now: number, out: Action[]): void {
    for (const r of this.records.values()) {
      const { state, reason } = this.judge(now, r);
      if (state === r.reported && !r.bootChanged) continue;
      const restarted = r.bootChanged && state === r.reported;
      out.push({
        kind: 'node-changed', node: this.view(now, r.pnn), previous: r.reported,
        reason: restarted ? 'restarted (new boot id)' : r.reported === undefined ? `first view: ${reason}` : reason,
      });
      r.reported = state;
      r.bootChanged = false;
    }
  }

  /** The merge rule: first match wins. */
  private judge(now: number, r: NodeRecord): { state: NodeState; reason: string } {
    const flags = r.legacyFlags;
    const has = (bit: number): boolean => flags !== undefined && (flags & bit) !== 0;
    if (has(NodeFlag.DISCONNECTED)) return { state: 'disconnected', reason: 'ctdbd: disconnected' };
    const self = r.pnn === this.self;
    // Heartbeat evidence only applies where a clusterd runs: a legacy-only
    // node follows ctdbd's flags and is never failed for its silence.
    const clusterd = this.runsClusterd(r.pnn);
    if (!self && clusterd) {
      if (r.transport === 'unreachable' && !r.heardSinceTransport) return { state: 'unreachable', reason: 'transportd: unreachable' };
      if (r.lastHeard !== undefined && now - r.lastHeard > this.deadAfterMs) {
        return { state: 'unreachable', reason: `no heartbeat for ${Math.round(now - r.lastHeard)} ms` };
      }
    }
    if (has(NodeFlag.BANNED)) return { state: 'banned', reason: 'ctdbd: banned' };
    if (has(NodeFlag.STOPPED)) return { state: 'stopped', reason: 'ctdbd: stopped' };
    if (has(NodeFlag.PERMANENTLY_DISABLED)) return { state: 'disabled', reason: 'ctdbd: disabled' };
    if (has(NodeFlag.UNHEALTHY)) return { state: 'unhealthy', reason: 'ctdbd: unhealthy' };
    if (self) return { state: 'ok', reason: 'this node' };
    if (clusterd && r.lastHeard !== undefined) return { state: 'ok', reason: 'heartbeat' };
    if (flags !== undefined) return { state: 'ok', reason: clusterd ? 'ctdbd: connected' : 'ctdbd: connected, no clusterd' };
    return { state: 'unknown', reason: 'nothing heard yet' };
  }
}
