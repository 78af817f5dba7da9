// clusterd's message types on the transport (service CLUSTERD_SERVICE):
// heartbeat and vote between clusterds, status / subscribe / set-mode for
// other components and the CLI, and the one-way event subscribers receive.

import type { MessageDefinition, SchemaObject } from '../framework/schema-types.ts';
import { CLUSTERD_MODES } from '../framework/bridge-conf.ts';
import { NODE_STATES, heartbeatSchemas, voteSchemas } from './core/types.ts';

const pnn: SchemaObject = { type: 'integer', minimum: 0, maximum: 0xefffffff };
const optionalPnn: SchemaObject = { anyOf: [pnn, { type: 'null' }] };
const epoch: SchemaObject = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER };
const ms: SchemaObject = { type: 'number', minimum: 0 };
const text: SchemaObject = { type: 'string', maxLength: 512 };
const mode: SchemaObject = { enum: [...CLUSTERD_MODES] };
const empty: SchemaObject = { type: 'object', additionalProperties: false, properties: {} };

function object(properties: Record<string, SchemaObject>, required = Object.keys(properties)): SchemaObject {
  return { type: 'object', additionalProperties: false, properties, required };
}

export const nodeViewSchema = object({
  pnn,
  address: { type: 'string', maxLength: 64 },
  state: { enum: [...NODE_STATES] },
  legacyFlags: { anyOf: [{ type: 'integer', minimum: 0, maximum: 0xffffffff }, { type: 'null' }] },
  clusterd: { type: 'boolean' },
  heartbeatAgeMs: { anyOf: [ms, { type: 'null' }] },
});

const differenceSchema = object({
  subject: { type: 'string', maxLength: 32 },
  ours: text,
  legacy: text,
});

export const clusterStatusSchema = object({
  node: pnn,
  mode,
  leader: optionalPnn,
  epoch,
  leaseRemainingMs: { anyOf: [ms, { type: 'null' }] },
  nodes: { type: 'array', maxItems: 4096, items: nodeViewSchema },
  legacy: object({ reachable: { type: 'boolean' }, leader: optionalPnn }),
  differences: object({ current: { type: 'array', maxItems: 8192, items: differenceSchema }, total: { type: 'integer', minimum: 0 } }),
  clusterLock: { anyOf: [{ enum: ['held', 'not-held'] }, { type: 'null' }] },
});

export const clusterEventSchema: SchemaObject = {
  type: 'object', additionalProperties: false,
  properties: {
    seq: { type: 'integer', minimum: 1 },
    node: pnn,
    kind: { enum: ['node', 'leader', 'mode'] },
    reason: text,
    view: nodeViewSchema,
    previousState: { anyOf: [{ enum: [...NODE_STATES] }, { type: 'null' }] },
    leader: optionalPnn,
    previousLeader: optionalPnn,
    epoch,
    mode,
  },
  required: ['seq', 'node', 'kind', 'reason', 'epoch'],
};

export const CLUSTERD_MESSAGES: MessageDefinition[] = [
  { type: 'clusterd.heartbeat', versions: { 1: heartbeatSchemas } },
  { type: 'clusterd.vote', versions: { 1: voteSchemas } },
  { type: 'clusterd.status', versions: { 1: { body: empty, reply: clusterStatusSchema } } },
  { type: 'clusterd.subscribe', versions: { 1: { body: empty, reply: clusterStatusSchema } } },
  { type: 'clusterd.unsubscribe', versions: { 1: { body: empty, reply: empty } } },
  { type: 'clusterd.set-mode', versions: { 1: { body: object({ mode }), reply: object({ mode, previous: mode }) } } },
  { type: 'clusterd.event', versions: { 1: { body: clusterEventSchema } } },
];
