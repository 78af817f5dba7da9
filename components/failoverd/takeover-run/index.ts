/** ctdbd's takeover run, performed through ctdbd's controls exactly as ctdb_takeover_helper does. */
export { takeoverRun, type TakeoverRunOptions, type TakeoverRunResult } from './takeover-run.ts';
export { gather, gatherPublicIps, readClusterState, INITIAL_TAKEOVER_TIMEOUT_S, type ClusterState, type RunScope } from './gather.ts';
export {
  planTakeoverRun, planIpreallocatedOnly, canHostIps, currentOwners, movesOf, compareHelperOrder, connectedNodes,
  activeNodes, type TakeoverPlan, type PlannedRelease, type PlannedTakeover, type Move,
} from './plan.ts';
export { executePlan, ipreallocatedPhase, type ControlFailure, type ExecuteOptions, type PhaseTimings } from './execute.ts';
export { BanCredits } from './ban-credits.ts';
export type { TakeoverClient } from './controls.ts';
export { Errno, TakeoverRunError, TakeoverRunDisconnectedError, type TakeoverStage } from './errors.ts';
