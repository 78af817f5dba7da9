// failoverd's message types on the transport (service FAILOVERD_SERVICE),
// plus clusterd's, which it asks (status, subscribe) and hears (events).

import type { MessageDefinition, SchemaObject } from '../framework/schema-types.ts';
import { FAILOVERD_MODES } from '../framework/bridge-conf.ts';
import { CLUSTERD_MESSAGES } from '../clusterd/messages.ts';

const pnn: SchemaObject = { type: 'integer', minimum: 0, maximum: 0xefffffff };
const owner: SchemaObject = { type: 'integer', minimum: -1, maximum: 0xefffffff };
const optionalPnn: SchemaObject = { anyOf: [pnn, { type: 'null' }] };
const ms: SchemaObject = { type: 'number', minimum: 0 };
const text: SchemaObject = { type: 'string', maxLength: 512 };
const mode: SchemaObject = { enum: [...FAILOVERD_MODES] };
const empty: SchemaObject = { type: 'object', additionalProperties: false, properties: {} };
const pnnList: SchemaObject = { type: 'array', maxItems: 4096, items: pnn };

function object(properties: Record<string, SchemaObject>, required = Object.keys(properties)): SchemaObject {
  return { type: 'object', additionalProperties: false, properties, required };
}

const differenceSchema = object({ subject: { type: 'string', maxLength: 64 }, ours: text, legacy: text });

export const failoverStatusSchema = object({
  node: pnn,
  mode,
  leader: optionalPnn,
  epoch: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
  deciding: { type: 'boolean' },
  addresses: { type: 'array', maxItems: 65536, items: object({ ip: { type: 'string', maxLength: 64 }, host: owner, plan: owner }) },
  drained: pnnList,
  differences: object({ current: { type: 'array', maxItems: 65536, items: differenceSchema }, total: { type: 'integer', minimum: 0 } }),
  takeoverLease: {
    anyOf: [{ type: 'null' }, object({ held: { type: 'boolean' }, nodes: pnnList, renewedAgoMs: { anyOf: [ms, { type: 'null' }] } })],
  },
  lastRun: {
    anyOf: [{ type: 'null' }, object({ at: ms, durationMs: ms, reason: text, moved: { type: 'integer', minimum: 0 }, error: { anyOf: [text, { type: 'null' }] } })],
  },
  runs: { type: 'integer', minimum: 0 },
});

const CLUSTERD_TYPES_USED = new Set(['clusterd.status', 'clusterd.subscribe', 'clusterd.unsubscribe', 'clusterd.event']);

export const FAILOVERD_MESSAGES: MessageDefinition[] = [
  { type: 'failoverd.status', versions: { 1: { body: empty, reply: failoverStatusSchema } } },
  /** Runs a check now (and a takeover run if the placement is off) and answers the status after it. */
  { type: 'failoverd.check', versions: { 1: { body: empty, reply: failoverStatusSchema } } },
  { type: 'failoverd.set-mode', versions: { 1: { body: object({ mode }), reply: object({ mode, previous: mode }) } } },
  { type: 'failoverd.drain', versions: { 1: { body: object({ pnn, drained: { type: 'boolean' } }), reply: object({ drained: pnnList }) } } },
  ...CLUSTERD_MESSAGES.filter((m) => CLUSTERD_TYPES_USED.has(m.type)),
];
