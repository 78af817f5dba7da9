import type { Logger } from '../../../legacy/common/log.ts';
import { Srvid } from '../../../legacy/protocol/srvid.ts';
import { encodeMessagePayload } from '../../../legacy/protocol/message-payloads.ts';
import { allocate as allocateDefault } from '../allocation/index.ts';
import type { AllocationInput, Placement } from '../allocation/types.ts';
import { BanCredits } from './ban-credits.ts';
import type { TakeoverClient } from './controls.ts';
import { TakeoverRunDisconnectedError, TakeoverRunError, type TakeoverStage } from './errors.ts';
import { executePlan, ipreallocatedPhase, type ControlFailure, type PhaseTimings } from './execute.ts';
import { gatherPublicIps, INITIAL_TAKEOVER_TIMEOUT_S, readClusterState, type RunScope } from './gather.ts';
import { canHostIps, movesOf, planIpreallocatedOnly, planTakeoverRun, type Move, type TakeoverPlan } from './plan.ts';

/**
 * One takeover run, as ctdb_takeover_helper performs it through the local
 * ctdbd: gather -> allocate -> plan -> execute. Failures of the nodes are
 * part of the result (status, stage, failures, the node reported for
 * banning), not exceptions; only a lost ctdbd connection throws
 * (TakeoverRunDisconnectedError). One log line per run.
 */

export interface TakeoverRunOptions {
  client: TakeoverClient;
  log: Logger;
  /** PNNs to rebalance addresses to (LCP2), the helper's third argument. */
  forceRebalanceNodes?: number[];
  /** CTDB_DISABLE_IP_FAILOVER: send only IPREALLOCATED. */
  failoverDisabled?: boolean;
  /** Clock in ms (default performance.now). */
  now?: () => number;
  /** GET_ALL_TUNABLES timeout in seconds, before TakeoverTimeout is known (default 9, the helper's). */
  initialTimeoutS?: number;
  /** The allocation (default: ctdbd's, allocation/). */
  allocate?: (input: AllocationInput) => Placement[];
  /** failoverd's additions: silent nodes planned as disconnected, a shorter gathering timeout (gather.ts). */
  scope?: RunScope;
}

export interface TakeoverRunResult {
  /** What the helper writes to its status fd: 0, a control's failure status, or an errno. */
  status: number;
  /** Where the run stopped (absent on success). */
  stage?: TakeoverStage;
  error?: string;
  /** What was gathered (absent when the run stopped before). */
  input?: AllocationInput;
  /** The allocation computed; empty when none was (failover disabled, nobody can host yet, early failure). */
  placement: Placement[];
  /** Addresses whose owner the run changes (planned; see failures for what did not happen). */
  moved: Move[];
  plan?: TakeoverPlan;
  failures: ControlFailure[];
  /** PNN -> banning credits earned in this run. */
  credits: Record<number, number>;
  /** The node reported on SRVID_BANNING (EnableBans, on failure). */
  banned?: number;
  timings: { gatherMs: number; allocateMs: number; totalMs: number } & PhaseTimings;
}

/** Stages before the allocation: a failure there ends the gathering time too. */
const GATHER_STAGES: ReadonlySet<TakeoverStage> = new Set(['tunables', 'nodemap', 'nodes', 'known-ips', 'available-ips']);

export async function takeoverRun(opts: TakeoverRunOptions): Promise<TakeoverRunResult> {
  const now = opts.now ?? (() => performance.now());
  const client = opts.client;
  const credits = new BanCredits();
  const start = now();
  const result: TakeoverRunResult = {
    status: 0, placement: [], moved: [], failures: [], credits: {},
    timings: { gatherMs: 0, allocateMs: 0, releaseMs: 0, takeoverMs: 0, ipreallocatedMs: 0, totalMs: 0 },
  };
  let enableBans = false;
  try {
    const state = await readClusterState(client, opts.initialTimeoutS ?? INITIAL_TAKEOVER_TIMEOUT_S, opts.scope);
    enableBans = state.tunables.EnableBans !== 0;
    // Until allocation starts, a jump to IPREALLOCATED has 3 x TakeoverTimeout from here.
    let deadlineMs = now() + 3 * state.takeoverTimeoutMs;
    const exec = { credits, failures: result.failures, now, get deadlineMs() { return deadlineMs; } };
    if (opts.failoverDisabled) {
      result.plan = planIpreallocatedOnly(state.connected);
      result.timings.gatherMs = now() - start;
      await timed(now, (ms) => { result.timings.ipreallocatedMs = ms; }, () => ipreallocatedPhase(client, state.connected, exec));
      return result;
    }
    const input = await gatherPublicIps(client, state, credits, { forceRebalanceNodes: opts.forceRebalanceNodes, log: opts.log });
    result.input = input;
    result.timings.gatherMs = now() - start;
    if (!canHostIps(input)) {
      result.plan = planIpreallocatedOnly(state.connected);
      await timed(now, (ms) => { result.timings.ipreallocatedMs = ms; }, () => ipreallocatedPhase(client, state.connected, exec));
      return result;
    }
    const allocStart = now();
    result.placement = (opts.allocate ?? allocateDefault)(input);
    result.timings.allocateMs = now() - allocStart;
    result.moved = movesOf(input, result.placement);
    result.plan = planTakeoverRun(input, result.placement);
    // The three phases share 3 x TakeoverTimeout, not counting the allocation.
    deadlineMs = now() + 3 * state.takeoverTimeoutMs;
    await executePlan(client, result.plan, exec, result.timings);
    return result;
  } catch (err) {
    if (!(err instanceof TakeoverRunError)) {
      result.error = (err as Error).message;
      throw err;
    }
    result.status = err.status;
    result.stage = err.stage;
    result.error = err.message;
    if (GATHER_STAGES.has(err.stage)) result.timings.gatherMs = now() - start;
    // Failing before the public addresses were asked for earns nobody a ban (the helper's takeover_failed).
    if (enableBans && err.stage !== 'tunables' && err.stage !== 'nodemap' && err.stage !== 'nodes') {
      result.banned = credits.culprit();
      if (result.banned !== undefined) await reportForBanning(client, result.banned);
    }
    return result;
  } finally {
    result.credits = credits.toObject();
    result.timings.totalMs = now() - start;
    logRun(opts.log, result);
  }
}

async function timed(now: () => number, record: (ms: number) => void, fn: () => Promise<void>): Promise<void> {
  const started = now();
  try {
    await fn();
  } finally {
    record(now() - started);
  }
}

/** SRVID_BANNING to the local recovery daemon, carrying the culprit's PNN; returns once written. */
async function reportForBanning(client: TakeoverClient, pnn: number): Promise<void> {
  try {
    client.sendMessage(client.pnn, Srvid.BANNING, encodeMessagePayload(Srvid.BANNING, { pnn }));
  } catch (err) {
    throw new TakeoverRunDisconnectedError(err);
  }
  for (let i = 0; i < 100 && (client.bufferedBytes ?? 0) > 0; i++) await new Promise((r) => setImmediate(r));
}

function logRun(log: Logger, r: TakeoverRunResult): void {
  const line = {
    status: r.status, stage: r.stage, moved: r.moved.length,
    releases: r.plan?.releases.reduce((n, x) => n + x.nodes.length, 0) ?? 0,
    takeovers: r.plan?.takeovers.length ?? 0, failures: r.failures.length, banned: r.banned,
    ms: Math.round(r.timings.totalMs),
  };
  if (r.status === 0 && r.error === undefined) log.info(line, 'takeover run done');
  else log.warn({ ...line, error: r.error }, 'takeover run failed');
}
