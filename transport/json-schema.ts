// The subset of JSON Schema (draft 2020-12 wording) that message payloads
// use, compiled to closures. It replaces ajv in the daemons: ajv's code and
// the code it generates cost every bridge process 2-5 MiB of its ~50 MiB
// budget, for schemas that only ever use the keywords below. Results and
// error wording follow ajv 8 with allErrors off (the first error, as
// "data/path must ..."); json-schema.test.ts checks that against ajv on
// every schema the project defines. An unknown keyword throws at compile
// time, as ajv's strict mode does, so a schema cannot silently lose a rule.

export type JsonType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean' | 'null';

export interface JsonSchema {
  /** JsonType names (plain strings here so schema fragments need no `as const`; checked when compiled). */
  type?: string | readonly string[];
  properties?: Readonly<Record<string, JsonSchema>>;
  required?: readonly string[];
  additionalProperties?: boolean | JsonSchema;
  maxProperties?: number;
  minProperties?: number;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  enum?: readonly unknown[];
  const?: unknown;
  anyOf?: readonly JsonSchema[];
  /** Annotations: no effect on validation. */
  default?: unknown;
  description?: string;
  title?: string;
}

/** undefined: valid; otherwise the first error, e.g. `data/node must be <= 4026531839`. */
export type Validator = (value: unknown) => string | undefined;

/**
 * A check of one value; on failure the errors (more than one only from
 * anyOf), each with its path below the value ("", "/nodes/0"). Paths are
 * built on the way out of a failure, so a valid value costs no strings.
 */
interface Failure { path: string; message: string }
type Check = (value: unknown) => Failure[] | undefined;

const fail = (message: string): Failure[] => [{ path: '', message }];
/** The failures of a child value, moved under `segment` ("/key", "/3"). */
const under = (segment: string, failures: Failure[]): Failure[] => failures.map((f) => ({ path: segment + f.path, message: f.message }));

const KEYWORDS = new Set([
  'type', 'properties', 'required', 'additionalProperties', 'maxProperties', 'minProperties', 'items', 'minItems', 'maxItems',
  'minimum', 'maximum', 'minLength', 'maxLength', 'pattern', 'enum', 'const', 'anyOf', 'default', 'description', 'title',
]);

export class SchemaCompileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchemaCompileError';
  }
}

export function compileSchema(schema: JsonSchema | boolean): Validator {
  const check = compile(schema, '#');
  return (value) => check(value)?.map((f) => `data${f.path} ${f.message}`).join(', ');
}

function compile(schema: JsonSchema | boolean, where: string): Check {
  if (schema === true) return () => undefined;
  if (schema === false) return () => fail('boolean schema is false');
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) throw new SchemaCompileError(`${where}: a schema must be an object or a boolean`);
  for (const key of Object.keys(schema)) {
    if (!KEYWORDS.has(key)) throw new SchemaCompileError(`${where}: unknown keyword "${key}"`);
  }
  // ajv's order, which decides the one error reported: type, the keywords of no
  // particular type (const, enum, anyOf), then number, string, array, object ones.
  const checks: Check[] = [];
  if (schema.type !== undefined) checks.push(typeCheck(schema.type, where));
  checks.push(...generalChecks(schema, where));
  checks.push(...numberChecks(schema), ...stringChecks(schema, where), ...arrayChecks(schema, where), ...objectChecks(schema, where));
  if (checks.length === 1) return checks[0]!;
  return (value) => {
    for (let i = 0; i < checks.length; i++) {
      const failures = checks[i]!(value);
      if (failures !== undefined) return failures;
    }
    return undefined;
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const TYPE_TESTS: Record<JsonType, (v: unknown) => boolean> = {
  object: isObject,
  array: Array.isArray,
  string: (v) => typeof v === 'string',
  integer: (v) => typeof v === 'number' && Number.isInteger(v),
  number: (v) => typeof v === 'number' && Number.isFinite(v),
  boolean: (v) => typeof v === 'boolean',
  null: (v) => v === null,
};

function typeCheck(type: string | readonly string[], where: string): Check {
  const types = typeof type === 'string' ? [type] : [...type];
  const isJsonType = (t: string): t is JsonType => Object.prototype.hasOwnProperty.call(TYPE_TESTS, t);
  const tests = types.map((t) => {
    if (!isJsonType(t)) throw new SchemaCompileError(`${where}: unknown type "${t}"`);
    return TYPE_TESTS[t];
  });
  const message = `must be ${types.join(',')}`;
  if (tests.length === 1) {
    const test = tests[0]!;
    return (v) => (test(v) ? undefined : fail(message));
  }
  return (v) => (tests.some((test) => test(v)) ? undefined : fail(message));
}

function numberChecks(s: JsonSchema): Check[] {
  const checks: Check[] = [];
  const { maximum, minimum } = s;
  if (maximum !== undefined) checks.push((v) => (typeof v === 'number' && v > maximum ? fail(`must be <= ${maximum}`) : undefined));
  if (minimum !== undefined) checks.push((v) => (typeof v === 'number' && v < minimum ? fail(`must be >= ${minimum}`) : undefined));
  return checks;
}

/** Length in code points, as ajv counts it (a surrogate pair is one character). */
function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

function stringChecks(s: JsonSchema, where: string): Check[] {
  const checks: Check[] = [];
  const { maxLength, minLength, pattern } = s;
  if (maxLength !== undefined) {
    // UTF-16 length bounds the code points from above: count only when it could matter.
    checks.push((v) => (typeof v === 'string' && v.length > maxLength && codePoints(v) > maxLength ? fail(`must NOT have more than ${maxLength} characters`) : undefined));
  }
  if (minLength !== undefined) {
    checks.push((v) => (typeof v === 'string' && codePoints(v) < minLength ? fail(`must NOT have fewer than ${minLength} characters`) : undefined));
  }
  if (pattern !== undefined) {
    let re: RegExp;
    try {
      re = new RegExp(pattern, 'u');
    } catch (err) {
      throw new SchemaCompileError(`${where}: bad pattern ${JSON.stringify(pattern)}: ${(err as Error).message}`);
    }
    checks.push((v) => (typeof v === 'string' && !re.test(v) ? fail(`must match pattern "${pattern}"`) : undefined));
  }
  return checks;
}

function arrayChecks(s: JsonSchema, where: string): Check[] {
  const checks: Check[] = [];
  const { maxItems, minItems } = s;
  if (maxItems !== undefined) checks.push((v) => (Array.isArray(v) && v.length > maxItems ? fail(`must NOT have more than ${maxItems} items`) : undefined));
  if (minItems !== undefined) checks.push((v) => (Array.isArray(v) && v.length < minItems ? fail(`must NOT have fewer than ${minItems} items`) : undefined));
  if (s.items !== undefined) {
    const item = compile(s.items, `${where}/items`);
    checks.push((v) => {
      if (!Array.isArray(v)) return undefined;
      for (let i = 0; i < v.length; i++) {
        const failures = item(v[i]);
        if (failures !== undefined) return under(`/${i}`, failures);
      }
      return undefined;
    });
  }
  return checks;
}

/** A property name as a JSON pointer segment. */
const pointer = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

function objectChecks(s: JsonSchema, where: string): Check[] {
  const checks: Check[] = [];
  const { maxProperties, minProperties, required } = s;
  const count = (v: Record<string, unknown>) => Object.keys(v).length;
  if (maxProperties !== undefined) {
    checks.push((v) => (isObject(v) && count(v) > maxProperties ? fail(`must NOT have more than ${maxProperties} properties`) : undefined));
  }
  if (minProperties !== undefined) {
    checks.push((v) => (isObject(v) && count(v) < minProperties ? fail(`must NOT have fewer than ${minProperties} properties`) : undefined));
  }
  if (required !== undefined) {
    checks.push((v) => {
      if (!isObject(v)) return undefined;
      // As ajv: a property whose value is undefined (never so in parsed JSON) is missing.
      for (let i = 0; i < required.length; i++) if (v[required[i]!] === undefined) return fail(`must have required property '${required[i]}'`);
      return undefined;
    });
  }
  const properties = Object.entries(s.properties ?? {}).map(([key, sub]) => ({ key, segment: `/${pointer(key)}`, check: compile(sub, `${where}/properties/${key}`) }));
  const known = new Set(properties.map((p) => p.key));
  const extra = s.additionalProperties;
  if (extra !== undefined && extra !== true) {
    const check = extra === false ? undefined : compile(extra, `${where}/additionalProperties`);
    checks.push((v) => {
      if (!isObject(v)) return undefined;
      for (const key in v) {
        if (known.has(key)) continue;
        if (!check) return fail('must NOT have additional properties');
        const failures = check(v[key]);
        if (failures !== undefined) return under(`/${pointer(key)}`, failures);
      }
      return undefined;
    });
  }
  if (properties.length > 0) {
    checks.push((v) => {
      if (!isObject(v)) return undefined;
      for (let i = 0; i < properties.length; i++) {
        const p = properties[i]!;
        const value = v[p.key];
        if (value === undefined) continue;
        const failures = p.check(value);
        if (failures !== undefined) return under(p.segment, failures);
      }
      return undefined;
    });
  }
  return checks;
}

function generalChecks(s: JsonSchema, where: string): Check[] {
  const checks: Check[] = [];
  if ('const' in s) {
    const expected = canonical(s.const);
    checks.push((v) => (canonical(v) === expected ? undefined : fail('must be equal to constant')));
  }
  if (s.enum !== undefined) {
    // Primitives compare as they are; objects and arrays by their canonical text.
    const primitives = new Set(s.enum.filter((e) => typeof e !== 'object' || e === null));
    const composites = new Set(s.enum.filter((e) => typeof e === 'object' && e !== null).map(canonical));
    const allowed = (v: unknown) => (typeof v === 'object' && v !== null ? composites.has(canonical(v)) : primitives.has(v));
    checks.push((v) => (allowed(v) ? undefined : fail('must be equal to one of the allowed values')));
  }
  if (s.anyOf !== undefined) {
    const options = s.anyOf.map((sub, i) => compile(sub, `${where}/anyOf/${i}`));
    // ajv reports each option's first error, then the anyOf itself.
    checks.push((v) => {
      const failures: Failure[] = [];
      for (const option of options) {
        const f = option(v);
        if (f === undefined) return undefined;
        failures.push(...f);
      }
      failures.push({ path: '', message: 'must match a schema in anyOf' });
      return failures;
    });
  }
  return checks;
}

/** A JSON value as text with object keys sorted: equal JSON values, equal text (ajv's deep equality). */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObject(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  return JSON.stringify(v) ?? 'undefined';
}
