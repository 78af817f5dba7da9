import { Ajv } from 'ajv';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileSchema, SchemaCompileError, type JsonSchema } from './json-schema.ts';
import { CORE_MESSAGES, type MessageDefinition } from './schemas.ts';
import { BUILTIN_COMPONENT_MESSAGES } from '../components/framework/builtin-messages.ts';
import { CLUSTERD_MESSAGES } from '../components/clusterd/messages.ts';
import { FAILOVERD_MESSAGES } from '../components/failoverd/messages.ts';

/** Every schema the project defines: the transport's, the component framework's and each component's. */
function projectSchemas(): Array<[string, JsonSchema]> {
  const defs: MessageDefinition[] = [...CORE_MESSAGES, ...BUILTIN_COMPONENT_MESSAGES, ...CLUSTERD_MESSAGES, ...FAILOVERD_MESSAGES];
  return defs.flatMap((d) => Object.entries(d.versions).flatMap(([v, s]) => [
    [`${d.type} v${v} body`, s.body] as [string, JsonSchema],
    ...(s.reply ? [[`${d.type} v${v} reply`, s.reply] as [string, JsonSchema]] : []),
  ]));
}

/** Values near what the schema accepts (so most rules are exercised on both sides of their bounds). */
function nearValue(s: JsonSchema, depth = 0): fc.Arbitrary<unknown> {
  const options: Array<fc.Arbitrary<unknown>> = [];
  if (s.anyOf) options.push(...s.anyOf.map((sub) => nearValue(sub, depth + 1)));
  if (s.enum) options.push(fc.constantFrom(...s.enum), fc.string({ maxLength: 3 }));
  if ('const' in s) options.push(fc.constant(s.const));
  const types = s.type === undefined ? [] : typeof s.type === 'string' ? [s.type] : [...s.type];
  for (const t of types) {
    if (t === 'integer' || t === 'number') {
      const lo = s.minimum ?? -10;
      const hi = s.maximum ?? lo + 20;
      options.push(fc.integer({ min: Math.max(lo - 2, Number.MIN_SAFE_INTEGER), max: Math.min(hi + 2, Number.MAX_SAFE_INTEGER) }), fc.constantFrom(lo, hi));
      if (t === 'number') options.push(fc.double({ noNaN: true }));
      else options.push(fc.constant(lo + 0.5));
    }
    if (t === 'string') options.push(fc.string({ unit: 'grapheme', maxLength: Math.min((s.maxLength ?? 8) + 2, 300) }), fc.constant('a.b'), fc.constant(''));
    if (t === 'boolean') options.push(fc.boolean());
    if (t === 'null') options.push(fc.constant(null));
    if (t === 'array' && depth < 4) {
      const item = s.items ? nearValue(s.items, depth + 1) : fc.anything({ maxDepth: 1 });
      options.push(fc.array(item, { maxLength: Math.min((s.maxItems ?? 4) + 1, 6) }));
    }
    if (t === 'object' && depth < 4) {
      const props = Object.entries(s.properties ?? {});
      const required = new Set(s.required ?? []);
      options.push(fc.tuple(
        ...props.map(([k, sub]) => fc.option(nearValue(sub, depth + 1), { freq: required.has(k) ? 8 : 2 }).map((v) => [k, v] as const)),
        fc.option(fc.tuple(fc.constantFrom('extra', 'a/b', '~x'), fc.anything({ maxDepth: 1 })), { freq: 4 }),
      ).map((entries) => {
        const o: Record<string, unknown> = {};
        for (const e of entries) if (e !== null) o[e[0] as string] = e[1];
        return o;
      }));
    }
  }
  if (options.length === 0) options.push(fc.anything({ maxDepth: 2 }));
  return fc.oneof(...options);
}

describe('compileSchema: the JSON Schema subset of the message types', () => {
  const ajv = new Ajv({ strict: true, allErrors: false });

  it.each(projectSchemas())('%s: the same verdict and the same first error as ajv 8', (_name, schema) => {
    const ours = compileSchema(schema);
    const theirs = ajv.compile(schema);
    fc.assert(fc.property(fc.oneof({ arbitrary: nearValue(schema), weight: 4 }, { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 1 }), (value) => {
      const valid = theirs(value);
      expect(ours(value)).toBe(valid ? undefined : ajv.errorsText(theirs.errors));
    }), { numRuns: 300 });
  });

  it('words each rule as ajv does', () => {
    const s: JsonSchema = {
      type: 'object',
      properties: {
        n: { type: 'integer', minimum: 1, maximum: 9 },
        s: { type: 'string', minLength: 2, maxLength: 3, pattern: '^[a-z]+$' },
        list: { type: 'array', items: { type: ['string', 'null'] }, minItems: 1, maxItems: 2 },
        mode: { enum: ['a', 'b'] },
        either: { anyOf: [{ type: 'integer' }, { type: 'string', maxLength: 1 }] },
        'a/b': { type: 'boolean' },
      },
      required: ['n'],
      additionalProperties: false,
      maxProperties: 5,
    };
    const check = compileSchema(s);
    expect(check({ n: 1 })).toBeUndefined();
    expect(check([])).toBe('data must be object');
    expect(check({})).toBe("data must have required property 'n'");
    expect(check({ n: 0 })).toBe('data/n must be >= 1');
    expect(check({ n: 10 })).toBe('data/n must be <= 9');
    expect(check({ n: 1.5 })).toBe('data/n must be integer');
    expect(check({ n: 1, s: 'a' })).toBe('data/s must NOT have fewer than 2 characters');
    // Code points, not UTF-16 units: three emoji are three characters.
    expect(check({ n: 1, s: '\u{1F600}\u{1F600}\u{1F600}' })).toBe('data/s must match pattern "^[a-z]+$"');
    expect(check({ n: 1, s: 'abcd' })).toBe('data/s must NOT have more than 3 characters');
    expect(check({ n: 1, list: [] })).toBe('data/list must NOT have fewer than 1 items');
    expect(check({ n: 1, list: ['x', null, 'y'] })).toBe('data/list must NOT have more than 2 items');
    expect(check({ n: 1, list: ['x', 2] })).toBe('data/list/1 must be string,null');
    expect(check({ n: 1, mode: 'c' })).toBe('data/mode must be equal to one of the allowed values');
    expect(check({ n: 1, either: 'xy' })).toBe('data/either must be integer, data/either must NOT have more than 1 characters, data/either must match a schema in anyOf');
    expect(check({ n: 1, 'a/b': 1 })).toBe('data/a~1b must be boolean');
    expect(check({ n: 1, other: 1 })).toBe('data must NOT have additional properties');
    expect(check({ n: 1, s: 'ab', list: ['x'], mode: 'a', either: 1, 'a/b': true })).toBe('data must NOT have more than 5 properties');
  });

  it('refuses at compile time what it does not implement (ajv strict mode would too)', () => {
    expect(() => compileSchema({ type: 'object', oneOf: [] } as JsonSchema)).toThrow(SchemaCompileError);
    expect(() => compileSchema({ type: 'object', oneOf: [] } as JsonSchema)).toThrow(/unknown keyword "oneOf"/);
    expect(() => compileSchema({ type: 'nonsense' })).toThrow(/unknown type "nonsense"/);
    expect(() => compileSchema({ properties: { x: { format: 'ipv4' } as JsonSchema } })).toThrow(/#\/properties\/x: unknown keyword "format"/);
    expect(() => compileSchema({ type: 'string', pattern: '(' })).toThrow(/bad pattern/);
  });
});
