// JSON payloads: the {type, body} envelope and the packets built from it.

import { DEFAULT_MAX_PAYLOAD, Flag, PROTOCOL_VERSION, type TransportHeader } from './header.ts';
import type { Endpoint } from './endpoint.ts';
import { InvalidPayloadError, PayloadTooLargeError, type WireErrorBody } from './errors.ts';
import { PACKET_ROOM, type Packet } from './packet.ts';
import type { Envelope, MessageRegistry } from './schemas.ts';

export const ERROR_TYPE = 'transport.error';
export const ERROR_VERSION = 1;

/** Serialises the envelope; throws InvalidPayloadError (not JSON) or PayloadTooLargeError. */
export function encodeEnvelope(type: string, body: unknown, maxPayload = DEFAULT_MAX_PAYLOAD): Buffer {
  return encodeEnvelopeAt(type, body, maxPayload, 0);
}

/**
 * A new buffer with the envelope's bytes `room` bytes into it. The text is
 * always the canonical `{"type":<name>,"body":<json>}`, which decodeEnvelope
 * reads without building the outer object.
 */
function encodeEnvelopeAt(type: string, body: unknown, maxPayload: number, room: number): Buffer {
  let text: string;
  try {
    const bodyText = JSON.stringify(body ?? null);
    // undefined for a function or symbol body: nothing JSON can carry.
    if (bodyText === undefined) throw new TypeError(`a ${typeof body} is not a JSON value`);
    text = `${ENVELOPE_PREFIX}${JSON.stringify(type)}${ENVELOPE_MIDDLE}${bodyText}}`;
  } catch (err) {
    throw new InvalidPayloadError(type, `not serialisable as JSON: ${(err as Error).message}`);
  }
  const size = Buffer.byteLength(text, 'utf8');
  if (size > maxPayload) throw new PayloadTooLargeError(size, maxPayload);
  const out = Buffer.allocUnsafe(room + size);
  out.write(text, room, size, 'utf8');
  return out;
}

const ENVELOPE_PREFIX = '{"type":';
const ENVELOPE_MIDDLE = ',"body":';
const QUOTE = 0x22;
const CLOSE_BRACE = 0x7d;

/** Parses and shape-checks the envelope; throws InvalidPayloadError. */
export function decodeEnvelope(payload: Buffer, registry: MessageRegistry): Envelope {
  const text = payload.toString();
  const canonical = readCanonicalEnvelope(text, registry);
  if (canonical) return canonical;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InvalidPayloadError('', `not JSON: ${(err as Error).message}`);
  }
  registry.validateEnvelope(value);
  return value;
}

/**
 * Fast path for the canonical text every encoder here writes: the type is
 * read off the text and only the body is parsed (the envelope object and its
 * keys were a third of the parse). It accepts exactly what the general path
 * would: `{"type":"T","body":` + a complete JSON value + `}` is a valid
 * two-key envelope, and T must be a type the registry defines (no escapes
 * possible in those names). Anything else returns undefined and takes the
 * general path, which also words the errors.
 */
function readCanonicalEnvelope(text: string, registry: MessageRegistry): Envelope | undefined {
  const typeStart = ENVELOPE_PREFIX.length + 1;
  if (!text.startsWith(ENVELOPE_PREFIX) || text.charCodeAt(typeStart - 1) !== QUOTE) return undefined;
  if (text.charCodeAt(text.length - 1) !== CLOSE_BRACE) return undefined;
  const typeEnd = text.indexOf('"', typeStart);
  if (typeEnd < 0 || !text.startsWith(ENVELOPE_MIDDLE, typeEnd + 1)) return undefined;
  const type = text.slice(typeStart, typeEnd);
  if (!registry.has(type)) return undefined;
  try {
    return { type, body: JSON.parse(text.slice(typeEnd + 1 + ENVELOPE_MIDDLE.length, -1)) };
  } catch {
    return undefined;
  }
}

export interface OutgoingSpec {
  src: Endpoint;
  dest: Endpoint;
  type: string;
  version: number;
  body: unknown;
  requestId: number;
  flags: number;
}

/** Header and JSON payload, in a frame with PACKET_ROOM free bytes in front of the payload for in-place framing. */
export function buildPacket(spec: OutgoingSpec, maxPayload = DEFAULT_MAX_PAYLOAD): Packet {
  const frame = encodeEnvelopeAt(spec.type, spec.body, maxPayload, PACKET_ROOM);
  const payload = frame.subarray(PACKET_ROOM);
  const header: TransportHeader = {
    protocolVersion: PROTOCOL_VERSION,
    payloadVersion: spec.version,
    flags: spec.flags,
    dest: spec.dest,
    src: spec.src,
    requestId: spec.requestId,
    payloadLength: payload.length,
  };
  return { header, payload, frame };
}

/** Reply to `request`, addressed back to its source, from the endpoint it was sent to. */
export function buildReply(request: TransportHeader, type: string, version: number, body: unknown, maxPayload?: number): Packet {
  return buildPacket({
    src: request.dest, dest: request.src, type, version, body, requestId: request.requestId, flags: Flag.REPLY,
  }, maxPayload);
}

export function buildErrorReply(request: TransportHeader, error: WireErrorBody): Packet {
  return buildPacket({
    src: request.dest, dest: request.src, type: ERROR_TYPE, version: ERROR_VERSION, body: error,
    requestId: request.requestId, flags: Flag.REPLY | Flag.ERROR,
  });
}
