// The pure clusterd core's vocabulary: configuration, node views, message
// bodies (with the JSON schemas the host registers as clusterd.heartbeat and
// clusterd.vote, version 1) and the actions the host performs, in order.

import type { JsonSchema as SchemaObject } from '../../../transport/json-schema.ts';
import type { NodeState as TransportdNodeState } from '../../../transport/discovery.ts';

export interface CoreConfig {
  /** This node's PNN. */
  self: number;
  /** PNNs of the nodes file (deleted nodes excluded); a majority is floor(n/2)+1 of them. */
  nodes: number[];
  heartbeatIntervalMs: number;
  deadAfterMs: number;
  leaseMs: number;
  leaseMarginMs: number;
  candidateStepMs: number;
  lockRequired: boolean;
}

export const DEFAULT_TIMINGS = {
  heartbeatIntervalMs: 250,
  deadAfterMs: 2000,
  leaseMs: 800,
  leaseMarginMs: 50,
  candidateStepMs: 100,
} as const satisfies Partial<CoreConfig>;

export interface CoreOptions {
  /** Monotonic ms at creation. */
  now: number;
  /** The epoch this node persisted last (0 when none). */
  initialEpoch: number;
  /** This process's boot id (default: a random UUID); peers see a restart when it changes. */
  bootId?: string;
}

/** A configuration the core cannot run with (it throws this from its constructor). */
export class CoreConfigError extends Error {
  override name = 'CoreConfigError';
  constructor(readonly field: string, reason: string) {
    super(`clusterd core: ${field}: ${reason}`);
  }
}

export const NODE_STATES = ['ok', 'unhealthy', 'disabled', 'banned', 'stopped', 'disconnected', 'unreachable', 'unknown'] as const;
export type NodeState = (typeof NODE_STATES)[number];

/** transportd's node states as the host passes them ('self' is never passed for another node). */
export type TransportNodeState = Exclude<TransportdNodeState, 'self'>;

export type LockState = 'held' | 'lost' | 'unavailable';

export interface NodeView {
  pnn: number;
  state: NodeState;
  /** ctdbd's NODE_FLAGS for the node; undefined while ctdbd cannot be asked (or does not list it). */
  legacyFlags: number | undefined;
  /** Since the last message from the node's clusterd; undefined if none yet (and for self). */
  heartbeatAgeMs: number | undefined;
  /** Whether a clusterd runs there (false: transportd says legacy-only and none spoke since). */
  clusterd: boolean;
  bootId?: string;
}

export interface CoreView {
  self: number;
  nodes: NodeView[];
  /** The leader this node recognises now (itself included); undefined: none. */
  leader: number | undefined;
  /** Highest epoch this node promised to a leader or candidate (never decreases). */
  epoch: number;
  iAmLeader: boolean;
  /** Leader: lease left; follower: how long it keeps following without renewal; else undefined. */
  leaseRemainingMs: number | undefined;
}

// ---- message bodies ------------------------------------------------------

export interface HeartbeatBody {
  /** Sender PNN (the host checks it against the transport source). */
  node: number;
  bootId: string;
  /** Per-boot round number; replies name it so a leader counts one round. */
  round: number;
  /** True only from a leader with a valid lease. */
  leading: boolean;
  /** Leader: its term; others: the epoch they promised. */
  epoch: number;
}

export interface HeartbeatReplyBody {
  node: number;
  bootId: string;
  round: number;
  /** The receiver follows the sender as leader (promise renewed). */
  accepted: boolean;
  promisedEpoch: number;
}

export interface VoteBody {
  node: number;
  bootId: string;
  epoch: number;
}

export interface VoteReplyBody {
  node: number;
  bootId: string;
  /** The epoch asked for (a reply counts only for that candidacy). */
  epoch: number;
  granted: boolean;
  promisedEpoch: number;
  /** Refused only because of a running promise: asking again after this long can succeed. */
  retryAfterMs?: number;
}

export interface Answer<R> {
  reply: R;
  /** Performed by the host in order, before the reply is sent (persist-epoch first). */
  actions: Action[];
}

const pnn: SchemaObject = { type: 'integer', minimum: 0, maximum: 0xefffffff };
const epoch: SchemaObject = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER };
const bootId: SchemaObject = { type: 'string', minLength: 1, maxLength: 64 };
const flag: SchemaObject = { type: 'boolean' };
const retryAfterMs: SchemaObject = { type: 'integer', minimum: 0, maximum: 0x7fffffff };

function object(properties: Record<string, SchemaObject>, required = Object.keys(properties)): SchemaObject {
  return { type: 'object', additionalProperties: false, properties, required };
}

export const heartbeatSchemas: { body: SchemaObject; reply: SchemaObject } = {
  body: object({ node: pnn, bootId, round: epoch, leading: flag, epoch }),
  reply: object({ node: pnn, bootId, round: epoch, accepted: flag, promisedEpoch: epoch }),
};

export const voteSchemas: { body: SchemaObject; reply: SchemaObject } = {
  body: object({ node: pnn, bootId, epoch }),
  reply: object(
    { node: pnn, bootId, epoch, granted: flag, promisedEpoch: epoch, retryAfterMs },
    ['node', 'bootId', 'epoch', 'granted', 'promisedEpoch'],
  ),
};

// ---- actions ---------------------------------------------------------------

export type Action =
  /** A request; the host sends it with timeout deadAfterMs/2 and calls onHeartbeatReply / heartbeatFailed. */
  | { kind: 'send-heartbeat'; to: number; body: HeartbeatBody }
  /** A request; the host calls onVoteReply / voteFailed. */
  | { kind: 'send-vote'; to: number; body: VoteBody }
  /** Write before performing any later action or sending the reply. */
  | { kind: 'persist-epoch'; epoch: number }
  | { kind: 'acquire-lock'; epoch: number }
  | { kind: 'release-lock' }
  | { kind: 'node-changed'; node: NodeView; previous: NodeState | undefined; reason: string }
  | { kind: 'leader-changed'; leader: number | undefined; epoch: number; previous: number | undefined; reason: string }
  /** Input refused, state unchanged; for the host's log line. */
  | { kind: 'bad-input'; from: number; reason: string };
