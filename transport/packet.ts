// A packet is a header plus its raw JSON payload bytes. Whole-message
// carriers (WebSocket, in-process) use encodePacket/decodePacket; byte
// streams (unix socket) go through FrameReader in framing.ts.

import { DEFAULT_MAX_PAYLOAD, HEADER_SIZE, Offset, decodeHeader, writeHeader, type TransportHeader } from './header.ts';
import { TransportDecodeError } from './errors.ts';

export interface Packet {
  header: TransportHeader;
  payload: Buffer;
}

/** Header with payloadLength taken from the payload, then the payload. */
export function encodePacket(packet: Packet, maxPayload = DEFAULT_MAX_PAYLOAD): Buffer {
  return encodePacketAt(packet, 0, maxPayload);
}

/**
 * The packet at offset `headroom` of one new buffer, the bytes before it left
 * for a carrier's own header (the tunnel envelope), so nothing is copied twice.
 */
export function encodePacketAt(packet: Packet, headroom: number, maxPayload = DEFAULT_MAX_PAYLOAD): Buffer {
  const { payload } = packet;
  const out = Buffer.allocUnsafe(headroom + HEADER_SIZE + payload.length);
  const header = packet.header.payloadLength === payload.length ? packet.header : { ...packet.header, payloadLength: payload.length };
  writeHeader(out, headroom, header, maxPayload);
  payload.copy(out, headroom + HEADER_SIZE);
  return out;
}

/** One complete packet in `buf` (nothing more, nothing less). */
export function decodePacket(buf: Buffer, maxPayload = DEFAULT_MAX_PAYLOAD): Packet {
  const header = decodeHeader(buf, 0, maxPayload);
  const actual = buf.length - HEADER_SIZE;
  if (actual !== header.payloadLength) {
    throw new TransportDecodeError('payloadLength', Offset.payloadLength,
      `header says ${header.payloadLength} payload bytes, message carries ${actual}`);
  }
  return { header, payload: buf.subarray(HEADER_SIZE) };
}

/** The same packet with some header fields replaced (routing rewrites src/dest). */
export function withHeader(packet: Packet, changes: Partial<TransportHeader>): Packet {
  return { header: { ...packet.header, ...changes }, payload: packet.payload };
}
