import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRegistry, type MessageRegistry } from './schemas.ts';
import type { JsonSchema } from './json-schema.ts';
import { InvalidPayloadError, UnknownMessageTypeError, VersionMismatchError } from './errors.ts';
import { decodeEnvelope, encodeEnvelope } from './message.ts';
import { PayloadTooLargeError } from './errors.ts';

describe('message registry', () => {
  const registry = createRegistry([{
    type: 'demo.echo',
    versions: {
      1: { body: { type: 'object', properties: { text: { type: 'string', maxLength: 10 } }, required: ['text'], additionalProperties: false },
        reply: { type: 'string' } },
      3: { body: { type: 'object' }, reply: { type: 'object' } },
    },
  }, { type: 'demo.event', versions: { 1: { body: { type: 'integer' } } } }]);

  it('validates bodies and replies against the schema of the version', () => {
    expect(() => registry.validate('demo.echo', 1, 'body', { text: 'hi' })).not.toThrow();
    expect(() => registry.validate('demo.echo', 1, 'body', { text: 'much too long text' })).toThrow(InvalidPayloadError);
    expect(() => registry.validate('demo.echo', 1, 'body', { text: 'hi', extra: 1 })).toThrow(/additional/);
    expect(() => registry.validate('demo.echo', 1, 'reply', 42)).toThrow(InvalidPayloadError);
    expect(() => registry.validate('demo.echo', 3, 'body', { anything: true })).not.toThrow();
  });

  it('reports unknown types and versions with the supported list', () => {
    expect(() => registry.validate('demo.nope', 1, 'body', {})).toThrow(UnknownMessageTypeError);
    try {
      registry.validate('demo.echo', 2, 'body', {});
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(VersionMismatchError);
      expect((err as VersionMismatchError).supported).toEqual([1, 3]);
    }
    expect(registry.latest('demo.echo')).toBe(3);
  });

  it('knows one-way types', () => {
    expect(registry.expectsReply('demo.event', 1)).toBe(false);
    expect(registry.expectsReply('demo.echo', 1)).toBe(true);
    expect(() => registry.validate('demo.event', 1, 'reply', 1)).toThrow(/one-way/);
  });

  it('refuses bad definitions', () => {
    expect(() => createRegistry().define({ type: 'NoDots', versions: { 1: { body: {} } } })).toThrow(/type name/);
    expect(() => createRegistry().define({ type: 'a.b', versions: { 0: { body: {} } } })).toThrow(/version/);
    expect(() => createRegistry().define({ type: 'transport.ping', versions: { 1: { body: {} } } })).toThrow(/already/);
    const bad = createRegistry().define({ type: 'a.b', versions: { 1: { body: { type: 'object', bogusKeyword: 1 } as JsonSchema } } });
    expect(() => bad.compileAll()).toThrow(/bogusKeyword/);
    expect(() => bad.validate('a.b', 1, 'body', {})).toThrow(/bogusKeyword/);
  });

  it('compiles each schema on its first use, with the same verdicts as compiled up front', () => {
    const defs = [{ type: 'demo.lazy', versions: { 1: { body: { type: 'object', properties: { n: { type: 'integer', minimum: 1 } }, required: ['n'] }, reply: { type: 'boolean' } } } }];
    const lazy = createRegistry(defs);
    const eager = createRegistry(defs).compileAll();
    const bodies = [{ n: 1 }, { n: 0 }, { n: 'x' }, {}, null, { n: 2, more: true }];
    for (const registry of [lazy, eager]) {
      const verdicts = bodies.map((b) => { try { registry.validate('demo.lazy', 1, 'body', b); return 'ok'; } catch (err) { return (err as Error).constructor.name; } });
      expect(verdicts).toEqual(['ok', 'InvalidPayloadError', 'InvalidPayloadError', 'InvalidPayloadError', 'InvalidPayloadError', 'ok']);
      expect(() => registry.validate('demo.lazy', 1, 'reply', true)).not.toThrow();
      expect(() => registry.validate('demo.lazy', 1, 'reply', 1)).toThrow(/reply: data must be boolean/);
    }
    // A bad schema is not compiled (nor reported) until used: define() accepts it.
    expect(() => createRegistry().define({ type: 'demo.later', versions: { 1: { body: { type: 'nonsense' } } } })).not.toThrow();
  });

  it('has core schemas that all compile', () => {
    expect(() => createRegistry().compileAll()).not.toThrow();
  });

  it('lists the core types', () => {
    expect(Object.keys(createRegistry().list())).toEqual(expect.arrayContaining([
      'transport.error', 'transport.hello', 'transport.ping', 'transport.status', 'transportd.attach',
    ]));
  });
});

describe('payload envelope', () => {
  const registry: MessageRegistry = createRegistry();
  it('round-trips', () => {
    expect(decodeEnvelope(encodeEnvelope('transport.ping', {}), registry)).toEqual({ type: 'transport.ping', body: {} });
  });
  it('rejects non-JSON, wrong shapes and bad type names', () => {
    for (const text of ['{', '[]', '{"type":"a.b"}', '{"type":"A b","body":1}', '{"type":"a.b","body":1,"x":2}', 'null']) {
      expect(() => decodeEnvelope(Buffer.from(text), registry)).toThrow(InvalidPayloadError);
    }
  });
  it('bounds the encoded size and refuses unserialisable bodies', () => {
    expect(() => encodeEnvelope('a.b', 'x'.repeat(100), 64)).toThrow(PayloadTooLargeError);
    expect(() => encodeEnvelope('a.b', { n: 1n })).toThrow(InvalidPayloadError);
    expect(() => encodeEnvelope('a.b', () => 1)).toThrow(InvalidPayloadError);
  });
  it('writes the canonical text, the same JSON as the envelope object', () => {
    const body = { a: [1, 'é', null], 'b"c': { d: true } };
    const text = encodeEnvelope('transport.ping', body).toString();
    expect(text).toBe(JSON.stringify({ type: 'transport.ping', body }));
    expect(encodeEnvelope('transport.ping', undefined).toString()).toBe('{"type":"transport.ping","body":null}');
  });

  /** What the general path (one JSON.parse of the whole text, then the shape check) makes of a text. */
  const reference = (text: string): unknown => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return 'throws';
    }
    try {
      registry.validateEnvelope(value);
    } catch {
      return 'throws';
    }
    return value;
  };
  const decoded = (text: string): unknown => {
    try {
      return decodeEnvelope(Buffer.from(text), registry);
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidPayloadError);
      return 'throws';
    }
  };

  it('decodes every text exactly as one parse of the whole envelope would', () => {
    const types = fc.constantFrom('transport.ping', 'transport.hello', 'not.defined', 'A b', 'x');
    const variants = fc.tuple(types, fc.json(), fc.constantFrom(
      (t: string, b: string) => `{"type":${JSON.stringify(t)},"body":${b}}`,
      (t: string, b: string) => `{"type":${JSON.stringify(t)},"body":${b} }`,
      (t: string, b: string) => `{ "type":${JSON.stringify(t)},"body":${b}}`,
      (t: string, b: string) => `{"body":${b},"type":${JSON.stringify(t)}}`,
      (t: string, b: string) => `{"type":${JSON.stringify(t)},"body":${b},"x":1}`,
      (t: string, b: string) => `{"type":${JSON.stringify(t)},"body":${b}},"type":"a.b"}`,
      (t: string, b: string) => `{"type":${JSON.stringify(t)},"body":${b},"type":"transport.ping"}`,
      (t: string, b: string) => `{"type":${JSON.stringify(t)},"body":${b.slice(0, -1)}}`,
      (t: string, b: string) => `{"type":"${t}\\","body":${b}}`,
    ));
    fc.assert(fc.property(variants, ([type, body, shape]) => {
      const text = shape(type, body);
      expect(decoded(text)).toEqual(reference(text));
    }), { numRuns: 2000 });
  });
});
