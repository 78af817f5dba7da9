// The schema types components use, re-exported from the transport layer so
// component modules import one place.
/** The JSON Schema subset message payloads use (transport/json-schema.ts). */
export type { JsonSchema as SchemaObject } from '../../transport/json-schema.ts';
export type { MessageDefinition, MessageSchemas } from '../../transport/schemas.ts';
