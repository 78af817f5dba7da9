// The pure clusterd core: membership and leadership decisions, no I/O.
export { ClusterdCore } from './clusterd-core.ts';
export { isUp } from './membership.ts';
export {
  CoreConfigError, DEFAULT_TIMINGS, NODE_STATES, heartbeatSchemas, voteSchemas,
  type Action, type Answer, type CoreConfig, type CoreOptions, type CoreView, type HeartbeatBody, type HeartbeatReplyBody,
  type LockState, type NodeState, type NodeView, type TransportNodeState, type VoteBody, type VoteReplyBody,
} from './types.ts';
