// Message-type registry: every payload is validated against the schema of
// its type and payload version (json-schema.ts: the JSON Schema subset the
// types use, compiled to closures). Components define their own types
// on a registry created with createRegistry() (which holds the core types).

import { compileSchema, type JsonSchema, type Validator } from './json-schema.ts';
import { InvalidPayloadError, UnknownMessageTypeError, VersionMismatchError, WIRE_ERROR_CODES } from './errors.ts';

/** Type names: dotted lowercase words, e.g. "transport.ping", "clusterd.leader-changed". */
export const TYPE_NAME_PATTERN = '^[a-z][a-z0-9-]*(\\.[a-z][a-z0-9-]*)+$';

export interface MessageSchemas {
  /** Body of a request or of a one-way message. */
  body: JsonSchema;
  /** Body of the reply; absent for one-way message types. */
  reply?: JsonSchema;
}

export interface MessageDefinition {
  type: string;
  /** Payload version (1..255) -> schemas. */
  versions: Record<number, MessageSchemas>;
}

export type SchemaPart = 'body' | 'reply';

/**
 * One version's schemas; each is compiled on its first use (compileAll()
 * does them all now). Compiling every type up front cost a daemon ~2 MB of
 * generated code for types it never sees (a component defines dozens).
 */
interface CompiledVersion {
  schemas: MessageSchemas;
  body?: Validator;
  reply?: Validator;
}

const envelopeSchema: JsonSchema = {
  type: 'object',
  properties: {
    type: { type: 'string', maxLength: 128, pattern: TYPE_NAME_PATTERN },
    body: {},
  },
  required: ['type', 'body'],
  additionalProperties: false,
};

export interface Envelope {
  type: string;
  body: unknown;
}

const TYPE_NAME = new RegExp(TYPE_NAME_PATTERN);

/**
 * envelopeSchema as plain code: a JSON object with exactly `type` (a type
 * name) and `body`. A type the registry defines passed the name rule when it
 * was defined: only unknown names go through the pattern.
 */
function isEnvelope(value: unknown, known: Map<string, unknown>): value is Envelope {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  let keys = 0;
  for (const key in value) {
    if (key !== 'type' && key !== 'body') return false;
    keys++;
  }
  const { type } = value as { type?: unknown };
  return keys === 2 && typeof type === 'string' && (known.has(type) || (type.length <= 128 && TYPE_NAME.test(type)));
}

/** Compiled on the first bad envelope (a good one passes the hand-written check). */
let envelopeCheck: Validator | undefined;

export class MessageRegistry {
  private readonly types = new Map<string, Map<number, CompiledVersion>>();
  /** type -> newest version, kept by define(): latest() runs for every packet sent. */
  private readonly newest = new Map<string, number>();

  /**
   * Adds a type (or new versions of a known type). Throws on bad names and
   * versions; a bad schema throws where it is first compiled (compileAll()
   * checks every schema now).
   */
  define(def: MessageDefinition): this {
    if (!new RegExp(TYPE_NAME_PATTERN).test(def.type) || def.type.length > 128) {
      throw new Error(`bad message type name ${JSON.stringify(def.type)}`);
    }
    const versions = this.types.get(def.type) ?? new Map<number, CompiledVersion>();
    for (const [key, schemas] of Object.entries(def.versions)) {
      const version = Number(key);
      if (!Number.isInteger(version) || version < 1 || version > 255) {
        throw new Error(`bad payload version ${key} for ${def.type}`);
      }
      if (versions.has(version)) throw new Error(`${def.type} version ${version} is already defined`);
      versions.set(version, { schemas });
    }
    this.types.set(def.type, versions);
    this.newest.set(def.type, Math.max(...versions.keys()));
    return this;
  }

  has(type: string): boolean {
    return this.types.has(type);
  }

  /** Supported payload versions of a type, ascending. */
  versions(type: string): number[] {
    return [...(this.types.get(type)?.keys() ?? [])].sort((a, b) => a - b);
  }

  latest(type: string): number {
    const version = this.newest.get(type);
    if (version === undefined) throw new UnknownMessageTypeError(type);
    return version;
  }

  expectsReply(type: string, version: number): boolean {
    return this.compiled(type, version).schemas.reply !== undefined;
  }

  /** Every type with its versions (for the version reply and status). */
  list(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const type of [...this.types.keys()].sort()) out[type] = this.versions(type);
    return out;
  }

  /** Throws UnknownMessageTypeError, VersionMismatchError or InvalidPayloadError. */
  validate(type: string, version: number, part: SchemaPart, value: unknown): void {
    const compiled = this.compiled(type, version);
    const schema = compiled.schemas[part];
    if (!schema) throw new InvalidPayloadError(type, `${type} is a one-way message type and has no reply`);
    const error = (compiled[part] ??= compileSchema(schema))(value);
    if (error !== undefined) throw new InvalidPayloadError(type, `${part}: ${error}`);
  }

  /** Compiles every schema not compiled yet (throws on the first bad one): for tests that want all checked now. */
  compileAll(): this {
    for (const versions of this.types.values()) {
      for (const compiled of versions.values()) {
        compiled.body ??= compileSchema(compiled.schemas.body);
        if (compiled.schemas.reply) compiled.reply ??= compileSchema(compiled.schemas.reply);
      }
    }
    return this;
  }

  /** Checks the {type, body} envelope shape. */
  validateEnvelope(value: unknown): asserts value is Envelope {
    // Checked by hand first (same rules as envelopeSchema); the schema runs only to word the error.
    if (isEnvelope(value, this.types)) return;
    envelopeCheck ??= compileSchema(envelopeSchema);
    throw new InvalidPayloadError('', `envelope: ${envelopeCheck(value) ?? 'not a {type, body} object'}`);
  }

  private compiled(type: string, version: number): CompiledVersion {
    const versions = this.types.get(type);
    if (!versions) throw new UnknownMessageTypeError(type);
    const compiled = versions.get(version);
    if (!compiled) throw new VersionMismatchError('payload', type, version, this.versions(type));
    return compiled;
  }
}

// ---- core message types (service 0 = transportd control, service 1 = built-in) ----

/**
 * Most services one hello may list (PROTOCOL.md, Trust and bounds). A hello
 * listing more is refused; a transportd announces its lowest-numbered
 * services up to this many. It bounds what every peer stores per node.
 */
export const MAX_HELLO_SERVICES = 128;
/** Most nodes a status lists (this one included); discovery tracks no more. */
export const MAX_NODES = 4096;

const u32 = { type: 'integer', minimum: 0, maximum: 0xffffffff } as const;
const node = { type: 'integer', minimum: 0, maximum: 0xefffffff } as const;
const shortText = { type: 'string', maxLength: 256 } as const;
const versionList = { type: 'array', items: { type: 'integer', minimum: 1, maximum: 255 }, maxItems: 255 } as const;
const isoTime = { type: 'string', maxLength: 64 } as const;
const seconds = { type: 'number', minimum: 0 } as const;
/** Who answers: the fields the version and status replies share. */
const identity = { node, software: shortText, protocolVersions: versionList } as const;
const empty = { type: 'object', additionalProperties: false } as const;
const endpoint = {
  type: 'object',
  properties: { node: u32, service: u32 },
  required: ['node', 'service'],
  additionalProperties: false,
} as const;

export const NODE_STATES = ['self', 'transport', 'discovering', 'legacy-only', 'unreachable'] as const;

const nodeInfo = {
  type: 'object',
  properties: {
    node,
    state: { type: 'string', enum: NODE_STATES },
    since: isoTime,
    software: shortText,
    protocolVersions: versionList,
    bootId: shortText,
    startedAt: isoTime,
    services: { type: 'array', items: u32, maxItems: MAX_HELLO_SERVICES },
  },
  required: ['node', 'state', 'since'],
  additionalProperties: false,
} as const;

export const CORE_MESSAGES: MessageDefinition[] = [
  {
    type: 'transport.error',
    versions: {
      1: {
        body: {
          type: 'object',
          properties: {
            code: { type: 'string', enum: [...WIRE_ERROR_CODES] },
            message: { type: 'string', maxLength: 4096 },
            node: u32,
            endpoint,
            type: { type: 'string', maxLength: 128 },
            version: { type: 'integer', minimum: 0, maximum: 255 },
            supported: versionList,
            what: { type: 'string', enum: ['protocol', 'payload'] },
          },
          required: ['code', 'message', 'node'],
          additionalProperties: false,
        },
      },
    },
  },
  {
    type: 'transportd.attach',
    versions: {
      1: {
        body: {
          type: 'object',
          properties: { name: { type: 'string', minLength: 1, maxLength: 128 }, service: u32 },
          required: ['name'],
          additionalProperties: false,
        },
        reply: {
          type: 'object',
          properties: { node, service: u32, software: shortText, protocolVersions: versionList },
          required: ['node', 'service', 'software', 'protocolVersions'],
          additionalProperties: false,
        },
      },
    },
  },
  {
    type: 'transport.hello',
    versions: {
      1: {
        body: {
          type: 'object',
          properties: {
            node,
            bootId: shortText,
            software: shortText,
            protocolVersions: versionList,
            startedAt: isoTime,
            services: { type: 'array', items: u32, maxItems: MAX_HELLO_SERVICES },
            wantReply: { type: 'boolean' },
          },
          required: ['node', 'bootId', 'software', 'protocolVersions', 'startedAt', 'services', 'wantReply'],
          additionalProperties: false,
        },
      },
    },
  },
  {
    type: 'transport.bye',
    versions: {
      1: {
        body: {
          type: 'object',
          properties: { node, bootId: shortText },
          required: ['node', 'bootId'],
          additionalProperties: false,
        },
      },
    },
  },
  {
    type: 'transport.ping',
    versions: {
      1: {
        body: empty,
        reply: {
          type: 'object',
          properties: { node, time: { type: 'number' } },
          required: ['node', 'time'],
          additionalProperties: false,
        },
      },
    },
  },
  {
    type: 'transport.uptime',
    versions: {
      1: {
        body: empty,
        reply: {
          type: 'object',
          properties: { node, startedAt: isoTime, uptimeSeconds: seconds },
          required: ['node', 'startedAt', 'uptimeSeconds'],
          additionalProperties: false,
        },
      },
    },
  },
  {
    type: 'transport.version',
    versions: {
      1: {
        body: empty,
        reply: {
          type: 'object',
          properties: {
            ...identity,
            messageTypes: { type: 'object', additionalProperties: versionList, maxProperties: 1024 },
          },
          required: ['node', 'software', 'protocolVersions', 'messageTypes'],
          additionalProperties: false,
        },
      },
    },
  },
  {
    type: 'transport.status',
    versions: {
      1: {
        body: empty,
        reply: {
          type: 'object',
          properties: {
            ...identity,
            uplink: shortText,
            startedAt: isoTime,
            uptimeSeconds: seconds,
            services: {
              type: 'array',
              maxItems: 4096,
              items: {
                type: 'object',
                properties: { service: u32, name: shortText },
                required: ['service', 'name'],
                additionalProperties: false,
              },
            },
            nodes: { type: 'array', items: nodeInfo, maxItems: MAX_NODES },
          },
          required: ['node', 'software', 'protocolVersions', 'uplink', 'startedAt', 'uptimeSeconds', 'services', 'nodes'],
          additionalProperties: false,
        },
      },
    },
  },
];

/** A fresh registry holding the core transport message types. */
export function createRegistry(extra: MessageDefinition[] = []): MessageRegistry {
  const registry = new MessageRegistry();
  for (const def of [...CORE_MESSAGES, ...extra]) registry.define(def);
  return registry;
}
