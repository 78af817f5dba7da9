import { ControlFlag, NodeFlag, RunState } from '../../../legacy/protocol/constants.ts';
import { Control } from '../../../legacy/protocol/controls.ts';
import type { NodeAndFlags, NodeMap, PublicIpList, TunableList } from '../../../legacy/protocol/types/index.ts';
import type { Logger } from '../../../legacy/common/log.ts';
import { ALGORITHM_BY_TUNABLE, type AllocationInput, type NodeReport } from '../allocation/types.ts';
import { BanCredits } from './ban-credits.ts';
import { sendControl, sendControlMulti, type TakeoverClient } from './controls.ts';
import { Errno, TakeoverRunError } from './errors.ts';

/**
 * What a takeover run learns from ctdbd before allocating, asked exactly as
 * ctdb_takeover_helper asks:
 * 1. GET_ALL_TUNABLES, then GET_NODEMAP, from the local node only (timeouts
 *    9 s, the helper's default, then TakeoverTimeout). No connected or no
 *    active node: ENOMEM, nothing else is sent.
 * 2. GET_PUBLIC_IPS from every connected node (banned, stopped and
 *    unhealthy ones too), then GET_PUBLIC_IPS with the available flag from
 *    the active nodes that know at least one address; TakeoverTimeout each.
 *    A node that fails either earns a banning credit and the run fails.
 * Run states are never asked: ctdbd folds them into the available list.
 */

/** The helper's TakeoverTimeout before it has read the tunables (seconds). */
export const INITIAL_TAKEOVER_TIMEOUT_S = 9;

export interface ClusterState {
  localPnn: number;
  tunables: TunableList;
  /** TakeoverTimeout in ms. */
  takeoverTimeoutMs: number;
  /** Timeout of each GET_PUBLIC_IPS (TakeoverTimeout unless a RunScope caps it). */
  gatherTimeoutMs: number;
  nodes: NodeAndFlags[];
  connected: number[];
  active: number[];
}

/** Step 1: tunables and node map. Throws TakeoverRunError (tunables, nodemap, nodes). */
/**
 * Beyond the helper (failoverd only): nodes clusterd cannot hear, which
 * ctdbd may still list as connected for its keepalive timeout, are planned
 * as disconnected (not asked, not released from); and asking for the public
 * addresses gives up after `gatherTimeoutMs` rather than TakeoverTimeout, so
 * a silent node fails a check in about a second instead of blocking it.
 */
export interface RunScope {
  unreachable?: readonly number[];
  gatherTimeoutMs?: number;
}

export async function readClusterState(client: TakeoverClient, initialTimeoutS = INITIAL_TAKEOVER_TIMEOUT_S,
  scope: RunScope = {}): Promise<ClusterState> {
  const localPnn = client.pnn;
  const tun = await sendControl(client, Control.GET_ALL_TUNABLES, localPnn, { timeoutMs: initialTimeoutS * 1000 });
  if (!tun.ok) throw new TakeoverRunError('tunables', tun.status, 'control GET_ALL_TUNABLES failed');
  const tunables = tun.value as TunableList;
  const takeoverTimeoutMs = tunables.TakeoverTimeout * 1000;
  const map = await sendControl(client, Control.GET_NODEMAP, localPnn, { timeoutMs: takeoverTimeoutMs });
  if (!map.ok) throw new TakeoverRunError('nodemap', map.status, `control GET_NODEMAP to node ${localPnn} failed`);
  const silent = new Set(scope.unreachable ?? []);
  const nodes = (map.value as NodeMap).nodes
    .map((n) => (silent.has(n.pnn) && n.pnn !== localPnn ? { ...n, flags: n.flags | NodeFlag.DISCONNECTED } : n));
  const connected = nodes.filter((n) => (n.flags & NodeFlag.DISCONNECTED) === 0).map((n) => n.pnn);
  const active = nodes.filter((n) => (n.flags & NodeFlag.INACTIVE) === 0).map((n) => n.pnn);
  // The helper reports "no memory" here: its node lists come out empty.
  if (connected.length === 0) throw new TakeoverRunError('nodes', Errno.ENOMEM, 'no connected node');
  if (active.length === 0) throw new TakeoverRunError('nodes', Errno.ENOMEM, 'no active node');
  const gatherTimeoutMs = Math.min(takeoverTimeoutMs, scope.gatherTimeoutMs ?? takeoverTimeoutMs);
  return { localPnn, tunables, takeoverTimeoutMs, gatherTimeoutMs, nodes, connected, active };
}

/**
 * Step 2: every node's known and available addresses as an AllocationInput.
 * Nodes asked for their available list report run state RUNNING (their
 * answer already says what they can host), the others UNKNOWN with no
 * available address. Failures add banning credits to `credits` and throw
 * TakeoverRunError (known-ips, available-ips).
 */
export async function gatherPublicIps(client: TakeoverClient, state: ClusterState, credits: BanCredits,
  opts: { forceRebalanceNodes?: number[]; log?: Logger } = {}): Promise<AllocationInput> {
  const timeoutMs = state.gatherTimeoutMs;
  const known = await sendControlMulti(client, Control.GET_PUBLIC_IPS, state.connected, { timeoutMs });
  if (known.status !== 0) {
    if (known.failedPnn !== undefined) credits.add(known.failedPnn);
    throw new TakeoverRunError('known-ips', known.status, `control GET_PUBLIC_IPS failed on node ${known.failedPnn}`);
  }
  const knownIps = (pnn: number) => (known.outcomes.get(pnn) as { value: PublicIpList } | undefined)?.value.ips ?? [];
  const asked = state.active.filter((pnn) => knownIps(pnn).length > 0);
  const available = await sendControlMulti(client, Control.GET_PUBLIC_IPS, asked,
    { timeoutMs, flags: ControlFlag.PUBLIC_IP_ONLY_AVAILABLE });
  if (available.status !== 0) {
    if (available.failedPnn !== undefined) credits.add(available.failedPnn);
    throw new TakeoverRunError('available-ips', available.status,
      `control GET_PUBLIC_IPS (available) failed on node ${available.failedPnn}`);
  }
  const nodes: NodeReport[] = state.nodes.map((n) => {
    const avail = new Set(((available.outcomes.get(n.pnn) as { value: PublicIpList } | undefined)?.value.ips ?? [])
      .map((ip) => ip.addr.address));
    const ips = knownIps(n.pnn).map((ip) => ({
      ip: ip.addr.address, pnn: ip.pnn === 0xffffffff ? -1 : ip.pnn, available: avail.delete(ip.addr.address),
    }));
    // ctdbd answers both lists from one address list; an address only "available" is a daemon bug.
    if (avail.size > 0) opts.log?.warn({ node: n.pnn, addresses: [...avail] }, 'available addresses the node does not know: ignored');
    return { pnn: n.pnn, flags: n.flags, runstate: asked.includes(n.pnn) ? RunState.RUNNING : RunState.UNKNOWN, ips };
  });
  return {
    algorithm: ALGORITHM_BY_TUNABLE[state.tunables.IPAllocAlgorithm] ?? 'lcp2',
    tunables: {
      NoIPFailback: state.tunables.NoIPFailback,
      NoIPTakeover: state.tunables.NoIPTakeover,
      NoIPHostOnAllDisabled: state.tunables.NoIPHostOnAllDisabled,
    },
    nodes,
    ...(opts.forceRebalanceNodes?.length ? { forceRebalanceNodes: [...opts.forceRebalanceNodes] } : {}),
  };
}

/** Both steps, for callers that want only the input (shadow comparisons); credits are dropped. */
export async function gather(client: TakeoverClient, opts: { forceRebalanceNodes?: number[]; log?: Logger; scope?: RunScope } = {}):
  Promise<{ state: ClusterState; input: AllocationInput }> {
  const state = await readClusterState(client, INITIAL_TAKEOVER_TIMEOUT_S, opts.scope);
  return { state, input: await gatherPublicIps(client, state, new BanCredits(), opts) };
}
