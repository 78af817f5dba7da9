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

/** A new buffer with the envelope's bytes `room` bytes into it. */
function encodeEnvelopeAt(type: string, body: unknown, maxPayload: number, room: number): Buffer {
  let text: string;
  try {
    text = JSON.stringify({ type, body: body ?? null });
  } catch (err) {
    throw new InvalidPayloadError(type, `not serialisable as JSON: ${(err as Error).message}`);
  }
  const size = Buffer.byteLength(text, 'utf8');
  if (size > maxPayload) throw new PayloadTooLargeError(size, maxPayload);
  const out = Buffer.allocUnsafe(room + size);
  out.write(text, room, size, 'utf8');
  return out;
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
