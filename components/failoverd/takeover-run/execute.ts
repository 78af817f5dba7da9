import { Node } from '../../../legacy/protocol/constants.ts';
import { Control } from '../../../legacy/protocol/controls.ts';
import { encodeControlRequest } from '../../../legacy/protocol/control-payloads.ts';
import type { PublicIp } from '../../../legacy/protocol/types/public-ip.ts';
import type { BanCredits } from './ban-credits.ts';
import { sendControl, sendControlMulti, type TakeoverClient } from './controls.ts';
import { Errno, TakeoverRunError } from './errors.ts';
import type { TakeoverPlan } from './plan.ts';

/**
 * Sends a plan in ctdb_takeover_helper's phases: every RELEASE_IP at once
 * and all of them answered before the first TAKEOVER_IP, then every
 * TAKEOVER_IP at once, then IPREALLOCATED to every connected node. The three
 * phases share one deadline (the helper gives them 3 x TakeoverTimeout
 * together, because releasing can take long while connections are killed).
 *
 * A phase with a failure stops the run (TakeoverRunError with the status the
 * helper reports) after its other controls have finished. Banning credits as
 * the helper counts them: a failed release or IPREALLOCATED credits the
 * first node to fail per address (the only failure ctdb's multi-node
 * control keeps), a failed takeover credits its node.
 */

export interface ControlFailure {
  phase: 'release' | 'takeover' | 'ipreallocated';
  pnn: number;
  ip?: string;
  status: number;
}

export interface ExecuteOptions {
  /** Absolute deadline on the `now` clock (ms). */
  deadlineMs: number;
  now(): number;
  credits: BanCredits;
  /** Failures are appended here as they come. */
  failures: ControlFailure[];
}

export interface PhaseTimings {
  releaseMs: number;
  takeoverMs: number;
  ipreallocatedMs: number;
}

export function publicIpPayload(ip: string, pnn: number): Buffer {
  const value: PublicIp = {
    pnn: pnn < 0 ? Node.UNKNOWN_PNN : pnn,
    addr: { family: ip.includes(':') ? 'inet6' : 'inet', address: ip, port: 0 },
  };
  return encodeControlRequest(Control.RELEASE_IP, value);
}

/** Runs the three phases; fills `timings` as it goes (a failed phase stops the run). */
export async function executePlan(client: TakeoverClient, plan: TakeoverPlan, opts: ExecuteOptions,
  timings: PhaseTimings = { releaseMs: 0, takeoverMs: 0, ipreallocatedMs: 0 }): Promise<PhaseTimings> {
  const timeoutMs = () => opts.deadlineMs - opts.now();
  let started = opts.now();
  await releasePhase(client, plan, opts, timeoutMs);
  timings.releaseMs = opts.now() - started;
  started = opts.now();
  await takeoverPhase(client, plan, opts, timeoutMs);
  timings.takeoverMs = opts.now() - started;
  started = opts.now();
  await ipreallocatedPhase(client, plan.ipreallocated, opts, timeoutMs);
  timings.ipreallocatedMs = opts.now() - started;
  return timings;
}

async function releasePhase(client: TakeoverClient, plan: TakeoverPlan, opts: ExecuteOptions, timeoutMs: () => number): Promise<void> {
  let fails = 0;
  let errAny = 0;
  await Promise.all(plan.releases.map(async (r) => {
    const multi = await sendControlMulti(client, Control.RELEASE_IP, r.nodes,
      { timeoutMs: timeoutMs(), data: publicIpPayload(r.ip, r.pnn) });
    if (multi.status === 0) return;
    fails++;
    if (multi.failedPnn === undefined) {
      errAny = Errno.EIO;
      return;
    }
    opts.credits.add(multi.failedPnn);
    opts.failures.push({ phase: 'release', pnn: multi.failedPnn, ip: r.ip, status: multi.status });
    errAny = multi.status;
  }));
  if (fails > 0) throw new TakeoverRunError('release', errAny, `RELEASE_IP failed for ${fails} address(es)`);
}

async function takeoverPhase(client: TakeoverClient, plan: TakeoverPlan, opts: ExecuteOptions, timeoutMs: () => number): Promise<void> {
  let fails = 0;
  let errAny = 0;
  await Promise.all(plan.takeovers.map(async (t) => {
    // The payload layout is the same for both controls (ctdb_public_ip).
    const outcome = await sendControl(client, Control.TAKEOVER_IP, t.pnn,
      { timeoutMs: timeoutMs(), data: publicIpPayload(t.ip, t.pnn) });
    if (outcome.ok) return;
    fails++;
    errAny = outcome.status;
    opts.credits.add(t.pnn);
    opts.failures.push({ phase: 'takeover', pnn: t.pnn, ip: t.ip, status: outcome.status });
  }));
  if (fails > 0) throw new TakeoverRunError('takeover', errAny, `TAKEOVER_IP failed for ${fails} address(es)`);
}

/** Also the whole run when failover is disabled or nobody can host an address yet. */
export async function ipreallocatedPhase(client: TakeoverClient, nodes: readonly number[], opts: ExecuteOptions,
  timeoutMs: () => number = () => opts.deadlineMs - opts.now()): Promise<void> {
  const multi = await sendControlMulti(client, Control.IPREALLOCATED, nodes, { timeoutMs: timeoutMs() });
  if (multi.status === 0) return;
  if (multi.failedPnn !== undefined) {
    opts.credits.add(multi.failedPnn);
    opts.failures.push({ phase: 'ipreallocated', pnn: multi.failedPnn, status: multi.status });
  }
  throw new TakeoverRunError('ipreallocated', multi.status, `IPREALLOCATED failed on node ${multi.failedPnn}`);
}
