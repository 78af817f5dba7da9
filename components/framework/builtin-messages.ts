// The requests every component answers on its own service id: ping, uptime,
// version, status, log level (get/set) and memory.

import type { MessageDefinition, SchemaObject } from './schema-types.ts';

const empty: SchemaObject = { type: 'object', additionalProperties: false, properties: {} };
const node = { type: 'integer', minimum: 0, maximum: 0xefffffff };
const name = { type: 'string', maxLength: 64 };
const bytes = { type: 'integer', minimum: 0 };

/** pino's levels, in the order operators know them. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type ComponentLogLevel = (typeof LOG_LEVELS)[number];

function request(type: string, body: SchemaObject, reply: SchemaObject): MessageDefinition {
  return { type, versions: { 1: { body, reply } } };
}

function reply(properties: Record<string, SchemaObject>, required: string[]): SchemaObject {
  return {
    type: 'object', additionalProperties: false,
    properties: { node, component: name, ...properties }, required: ['node', 'component', ...required],
  };
}

export const BUILTIN_COMPONENT_MESSAGES: MessageDefinition[] = [
  request('component.ping', empty, reply({ time: { type: 'number' } }, ['time'])),
  request('component.uptime', empty, reply({
    startedAt: { type: 'string', maxLength: 40 }, uptimeSeconds: { type: 'number', minimum: 0 },
  }, ['startedAt', 'uptimeSeconds'])),
  request('component.version', empty, reply({
    software: { type: 'string', maxLength: 128 },
    messageTypes: { type: 'array', maxItems: 1024, items: { type: 'string', maxLength: 128 } },
  }, ['software', 'messageTypes'])),
  request('component.status', empty, reply({
    state: { enum: ['starting', 'waiting', 'active', 'stopping'] },
    waitingFor: { type: 'string', maxLength: 256 },
    detail: {},
  }, ['state', 'detail'])),
  request('component.log-level',
    { type: 'object', additionalProperties: false, properties: { level: { enum: [...LOG_LEVELS] } } },
    reply({ level: { enum: [...LOG_LEVELS] }, previous: { enum: [...LOG_LEVELS] } }, ['level'])),
  request('component.memory', empty, reply({
    rss: bytes, heapTotal: bytes, heapUsed: bytes, external: bytes, arrayBuffers: bytes,
  }, ['rss', 'heapTotal', 'heapUsed', 'external', 'arrayBuffers'])),
];
