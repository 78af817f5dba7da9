// The schema types components use, re-exported from the transport layer so
// component modules import one place.
export type { SchemaObject } from 'ajv';
export type { MessageDefinition, MessageSchemas } from '../../transport/schemas.ts';
