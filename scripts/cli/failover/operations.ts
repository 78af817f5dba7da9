// The operator's failover steps, through transportd: find the deciding
// failoverd (the one on clusterd's leader), switch every node's failoverd
// between shadow and active (handover / handback), drain and undrain a node.
// Each step waits until the cluster shows its effect and reports what moved.

import type { TransportClient } from '../../../transport/index.ts';
import { LOCAL_NODE, type Endpoint } from '../../../transport/endpoint.ts';
import { CLUSTERD_SERVICE, FAILOVERD_SERVICE } from '../../../components/framework/services.ts';
import { performsTakeoverRuns, type FailoverdMode } from '../../../components/framework/bridge-conf.ts';
import type { ClusterStatus } from '../../../components/clusterd/status.ts';
import type { FailoverStatus } from '../../../components/failoverd/status.ts';

export class FailoverStepError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FailoverStepError';
  }
}

export interface StepOptions {
  /** How long to wait for the cluster to show the step's effect. */
  timeoutMs: number;
  pollMs?: number;
  /** One line per thing waited for. */
  progress?(line: string): void;
  sleep?(ms: number): Promise<void>;
}

export interface StepResult {
  /** Addresses whose host changed between before and after the step. */
  moved: Array<{ ip: string; from: number; to: number }>;
  status: FailoverStatus;
}

const failoverd = (node: number): Endpoint => ({ node, service: FAILOVERD_SERVICE });

export async function clusterStatus(c: TransportClient, node = LOCAL_NODE): Promise<ClusterStatus> {
  return c.request<ClusterStatus>({ node, service: CLUSTERD_SERVICE }, 'clusterd.status', {});
}

/** The deciding failoverd's status (with `check`, after a check it runs now). */
export async function decidingStatus(c: TransportClient, check = false): Promise<FailoverStatus> {
  const cluster = await clusterStatus(c);
  if (cluster.leader === null) throw new FailoverStepError('clusterd knows no leader: nobody decides failover now');
  return c.request<FailoverStatus>(failoverd(cluster.leader), check ? 'failoverd.check' : 'failoverd.status', {});
}

/** Nodes clusterd sees gone: they take no part in a cluster-wide step. */
const GONE_STATES = new Set(['disconnected', 'unreachable']);

/** Every reachable node's failoverd must answer before a cluster-wide step. */
async function everyFailoverd(c: TransportClient, opts: StepOptions): Promise<number[]> {
  const cluster = await clusterStatus(c);
  const gone = cluster.nodes.filter((n) => GONE_STATES.has(n.state)).map((n) => n.pnn);
  if (gone.length > 0) opts.progress?.(`node(s) ${gone.join(', ')} gone: left out (a returning node's failoverd keeps its own mode)`);
  // A legacy node (no clusterd, so no failoverd) keeps no mode: its ctdbd follows the deciding failoverd's controls.
  const legacy = cluster.nodes.filter((n) => !GONE_STATES.has(n.state) && !n.clusterd).map((n) => n.pnn);
  if (legacy.length > 0) opts.progress?.(`node(s) ${legacy.join(', ')} legacy: their ctdbd follows failoverd's controls`);
  const nodes = cluster.nodes.filter((n) => !GONE_STATES.has(n.state) && n.clusterd).map((n) => n.pnn);
  const silent: number[] = [];
  await Promise.all(nodes.map((pnn) => c.request(failoverd(pnn), 'failoverd.status', {}).catch(() => silent.push(pnn))));
  if (silent.length > 0) {
    throw new FailoverStepError(`failoverd does not answer on node(s) ${silent.sort((a, b) => a - b).join(', ')}: a cluster-wide switch needs every node`);
  }
  return nodes;
}

/** handover (active) or handback (shadow): every node's failoverd, then wait until the deciding one shows it. */
export async function switchMode(c: TransportClient, mode: FailoverdMode, opts: StepOptions): Promise<StepResult> {
  const nodes = await everyFailoverd(c, opts);
  const before = await decidingStatus(c, true);
  const off = before.addresses.filter((a) => a.host !== a.plan);
  if (mode === 'active' && off.length > 0) {
    throw new FailoverStepError(`ctdbd's placement differs from failoverd's allocation for ${off.map((a) => a.ip).join(', ')}: handover would move addresses; wait for ctdbd's takeover run or check the shadow differences`);
  }
  for (const pnn of nodes) {
    await c.request(failoverd(pnn), 'failoverd.set-mode', { mode });
    opts.progress?.(`node ${pnn}: failoverd ${mode}`);
  }
  const status = await waitFor(c, opts, mode === 'active' ? 'ctdbd takeover runs held off on every node' : 'takeover lease handed back',
    (s) => s.mode === mode && (mode === 'active' ? s.takeoverLease?.held === true : s.takeoverLease === null));
  return { moved: moves(before, status), status };
}

/** Marks a node drained (or not) on every failoverd, then waits until its addresses are gone (or the plan is met). */
export async function drainNode(c: TransportClient, pnn: number, drained: boolean, opts: StepOptions): Promise<StepResult> {
  const nodes = await everyFailoverd(c, opts);
  const before = await decidingStatus(c, true);
  // Active and native perform the takeover runs; in shadow ctdbd does and would not honour a drain.
  if (!performsTakeoverRuns(before.mode)) {
    throw new FailoverStepError(`failoverd is in ${before.mode} mode: drain needs failover handed over to failoverd (ctdb-bridge failover handover)`);
  }
  for (const n of nodes) await c.request(failoverd(n), 'failoverd.drain', { pnn, drained });
  opts.progress?.(`node ${pnn}: ${drained ? 'drained' : 'undrained'} on every failoverd`);
  const status = await waitFor(c, opts, drained ? `node ${pnn} hosts no address` : 'every address where the plan puts it',
    (s) => s.addresses.every((a) => a.host === a.plan) && (!drained || s.addresses.every((a) => a.host !== pnn)));
  return { moved: moves(before, status), status };
}

async function waitFor(c: TransportClient, opts: StepOptions, what: string, done: (s: FailoverStatus) => boolean): Promise<FailoverStatus> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const started = Date.now();
  opts.progress?.(`waiting: ${what}`);
  for (;;) {
    const s = await decidingStatus(c, true).catch((err: Error) => err);
    if (!(s instanceof Error) && done(s)) return s;
    if (Date.now() - started > opts.timeoutMs) {
      throw new FailoverStepError(`timed out after ${opts.timeoutMs} ms waiting for: ${what}${s instanceof Error ? ` (${s.message})` : ''}`);
    }
    await sleep(opts.pollMs ?? 250);
  }
}

function moves(before: FailoverStatus, after: FailoverStatus): StepResult['moved'] {
  const was = new Map(before.addresses.map((a) => [a.ip, a.host]));
  return after.addresses.filter((a) => was.has(a.ip) && was.get(a.ip) !== a.host).map((a) => ({ ip: a.ip, from: was.get(a.ip)!, to: a.host }));
}
