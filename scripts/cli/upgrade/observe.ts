// Reads every node's stage from the cluster itself: ctdbd's node map (which
// nodes exist, their flags), one answering transportd (which nodes run one,
// their uplink and versions), each node's clusterd and failoverd over the
// transport (running, failoverd's mode), the deciding failoverd (shadow
// differences, takeover lease), and the service manager where it can see a
// node (this host; every node of a local cluster). Nothing from a CLI file.

import { LegacyClient } from '../../../legacy/client/index.ts';
import { NodeFlag } from '../../../legacy/protocol/constants.ts';
import { silentLogger } from '../../../legacy/common/log.ts';
import {
  BUILTIN_SERVICE, SUPPORTED_PROTOCOL_VERSIONS, TransportClient, createRegistry, type TransportStatus,
} from '../../../transport/index.ts';
import { SOFTWARE_VERSION } from '../../../transport/version.ts';
import { CLUSTERD_SERVICE, FAILOVERD_SERVICE } from '../../../components/framework/services.ts';
import { BUILTIN_COMPONENT_MESSAGES } from '../../../components/framework/builtin-messages.ts';
import { FAILOVERD_MESSAGES } from '../../../components/failoverd/messages.ts';
import type { ClusterStatus } from '../../../components/clusterd/status.ts';
import type { FailoverStatus } from '../../../components/failoverd/status.ts';
import type { ServiceManager, ServiceState } from '../../services/service-manager.ts';
import { BRIDGE_SERVICES, type BridgeService } from '../../services/services.ts';
import type { ClusterObservation, DecidingView, NodeObservation, ServiceHealth } from './stages.ts';

/** clusterd node states of a node it cannot hear from (as failoverd's quorum guard counts them). */
const LOST_STATES: ReadonlySet<string> = new Set(['disconnected', 'unreachable', 'unknown']);

export class ObserveError extends Error {
  override name = 'ObserveError';
}

export interface ObserveDeps {
  /** ctdbd sockets to ask for the node map, in order (this host's first). */
  ctdbSockets: string[];
  /** transportd sockets to ask, in order (this host's first). */
  transportSockets: string[];
  manager: ServiceManager;
  /** Nodes whose services the manager can see. */
  managed(pnn: number): boolean;
  uplinkSwitch: ClusterObservation['uplinkSwitch'];
  timeoutMs: number;
}

// failoverd's messages include the clusterd.status it asks.
export const UPGRADE_REGISTRY = () => createRegistry([...BUILTIN_COMPONENT_MESSAGES, ...FAILOVERD_MESSAGES]);

async function nodeMap(deps: ObserveDeps): Promise<Array<{ pnn: number; flags: number }>> {
  const errors: string[] = [];
  for (const socketPath of deps.ctdbSockets) {
    const c = new LegacyClient({ socketPath, reconnect: false, logger: silentLogger('upgrade'), defaultTimeoutMs: deps.timeoutMs, connectTimeoutMs: deps.timeoutMs });
    try {
      await c.connect();
      const map = await c.getNodeMap();
      return map.nodes.filter((n) => (n.flags & NodeFlag.DELETED) === 0).map((n) => ({ pnn: n.pnn, flags: n.flags }));
    } catch (err) {
      errors.push(`${socketPath}: ${(err as Error).message}`);
    } finally {
      await c.close().catch(() => undefined);
    }
  }
  throw new ObserveError(`no ctdbd answers (${errors.join('; ')})`);
}

/** The first transportd that answers, connected; null when none does. */
export async function connectAny(sockets: string[], timeoutMs: number): Promise<TransportClient | null> {
  for (const socketPath of sockets) {
    const c = new TransportClient({ socketPath, name: 'ctdb-bridge-upgrade', defaultTimeoutMs: timeoutMs, registry: UPGRADE_REGISTRY() });
    try {
      await c.connect({ timeoutMs });
      return c;
    } catch {
      await c.close().catch(() => undefined);
    }
  }
  return null;
}

const health = (s: ServiceState): ServiceHealth =>
  s === 'running' ? 'running' : s === 'failed' ? 'failed' : s === 'stopped' ? 'stopped' : 'unknown';

interface Answers {
  transport: TransportStatus | null;
  clusterd: ClusterStatus | null;
  failoverd: FailoverStatus | null;
}

export async function observe(deps: ObserveDeps): Promise<ClusterObservation> {
  const map = await nodeMap(deps);
  const answers = new Map<number, Answers>();
  let observer: number | null = null;
  let leader: number | null = null;
  let states = new Map<number, string>();
  const c = await connectAny(deps.transportSockets, deps.timeoutMs);
  if (c) {
    try {
      const local = await c.request<TransportStatus>({ node: c.node, service: BUILTIN_SERVICE }, 'transport.status', {});
      observer = local.node;
      states = new Map(local.nodes.map((n) => [n.node, n.state]));
      const ask = <T>(node: number, service: number, type: string) => c.request<T>({ node, service }, type, {}).catch(() => null);
      await Promise.all(map.map(async ({ pnn }) => {
        const st = states.get(pnn);
        if (st !== 'self' && st !== 'transport') return;
        const [transport, clusterd, failoverd] = await Promise.all([
          ask<TransportStatus>(pnn, BUILTIN_SERVICE, 'transport.status'),
          ask<ClusterStatus>(pnn, CLUSTERD_SERVICE, 'clusterd.status'),
          ask<FailoverStatus>(pnn, FAILOVERD_SERVICE, 'failoverd.status'),
        ]);
        answers.set(pnn, { transport, clusterd, failoverd });
      }));
      leader = answers.get(observer)?.clusterd?.leader ?? [...answers.values()].find((a) => a.clusterd)?.clusterd?.leader ?? null;
    } finally {
      await c.close().catch(() => undefined);
    }
  }
  const nodes: NodeObservation[] = [];
  for (const { pnn, flags } of map) {
    const a = answers.get(pnn) ?? { transport: null, clusterd: null, failoverd: null };
    const notes: string[] = [];
    const fromTransport: Record<BridgeService, ServiceHealth> = {
      transportd: a.transport ? 'running' : states.get(pnn) === 'legacy-only' ? 'stopped' : 'unknown',
      clusterd: a.clusterd ? 'running' : a.transport ? 'stopped' : 'unknown',
      failoverd: a.failoverd ? 'running' : a.transport ? 'stopped' : 'unknown',
    };
    const services = { ...fromTransport };
    if (deps.managed(pnn)) {
      for (const service of BRIDGE_SERVICES) {
        const s = await deps.manager.status(pnn, service).catch((err: Error) => {
          notes.push(`${service}: service manager: ${err.message}`);
          return null;
        });
        if (s === null) continue;
        services[service] = health(s.state);
        if (s.state === 'failed' && s.detail) notes.push(`${service} failed: ${s.detail}`);
        if (s.state === 'running' && fromTransport[service] !== 'running') notes.push(`${service} runs but does not answer over the transport`);
      }
    }
    if (services.transportd === 'unknown') services.clusterd = services.failoverd = 'unknown';
    if (services.transportd === 'unknown') notes.push('no transportd answered for it: stage unknown (legacy-only is reported as stopped)');
    nodes.push({
      pnn, ctdbFlags: flags, services,
      uplink: a.transport?.uplink ?? null,
      failoverdMode: a.failoverd?.mode ?? null,
      versions: { ours: a.transport?.software ?? null, protocol: a.transport?.protocolVersions ?? null },
      clusterd: a.clusterd ? {
        leader: a.clusterd.leader,
        lost: a.clusterd.nodes.filter((x) => x.pnn !== pnn && LOST_STATES.has(x.state)).map((x) => x.pnn),
      } : null,
      notes,
    });
  }
  const d = leader === null ? null : answers.get(leader)?.failoverd ?? null;
  const deciding: DecidingView | null = d === null ? null : {
    pnn: d.node, mode: d.mode, differences: d.differences.current.length,
    offPlan: d.addresses.filter((x) => x.host !== x.plan).map((x) => x.ip), leaseHeld: d.takeoverLease?.held === true,
  };
  return { nodes, deciding, observer, ours: { software: SOFTWARE_VERSION, protocol: SUPPORTED_PROTOCOL_VERSIONS }, uplinkSwitch: deps.uplinkSwitch };
}
