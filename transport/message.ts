// JSON payloads: the {type, body} envelope and the packets built from it.

import { DEFAULT_MAX_PAYLOAD, Flag, PROTOCOL_VERSION, type TransportHeader } from './header.ts';
import type { Endpoint } from './endpoint.ts';
import { InvalidPayloadError, PayloadTooLargeError, type WireErrorBody } from './errors.ts';
import type { Packet } from './packet.ts';
import type { Envelope, MessageRegistry } from './schemas.ts';

export const ERROR_TYPE = 'transport.error';
export const ERROR_VERSION = 1;

/** Serialises the envelope; throws InvalidPayloadError (not JSON) or PayloadTooLargeError. */
export function encodeEnvelope(type: string, body: unknown, maxPayload = DEFAULT_MAX_PAYLOAD): Buffer {
  let text: string;
  try {
    text = JSON.stringify({ type, body: body ?? null });
  } catch (err) {
    throw new InvalidPayloadError(type, `not serialisable as JSON: ${(err as Error).message}`);
  }
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > maxPayload) throw new PayloadTooLargeError(bytes.length, maxPayload);
  return bytes;
}

/** Parses and shape-checks the envelope; throws InvalidPayloadError. */
export function decodeEnvelope(payload: Buffer, registry: MessageRegistry): Envelope {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    throw new InvalidPayloadError('', `not JSON: ${(err as Error).message}`);
  }
  registry.validateEnvelope(value);
  return value;
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

export function buildPacket(spec: OutgoingSpec, maxPayload = DEFAULT_MAX_PAYLOAD): Packet {
  const payload = encodeEnvelope(spec.type, spec.body, maxPayload);
  const header: TransportHeader = {
    protocolVersion: PROTOCOL_VERSION,
    payloadVersion: spec.version,
    flags: spec.flags,
    dest: spec.dest,
    src: spec.src,
    requestId: spec.requestId,
    payloadLength: payload.length,
  };
  return { header, payload };
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
