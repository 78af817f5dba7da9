// A packet is a header plus its raw JSON payload bytes. Whole-message
// carriers (WebSocket, in-process) use encodePacket/decodePacket; byte
// streams (unix socket) go through FrameReader in framing.ts.

import { DEFAULT_MAX_PAYLOAD, HEADER_SIZE, Offset, decodeHeader, encodeHeader, type TransportHeader } from './header.ts';
import { TransportDecodeError } from './errors.ts';

export interface Packet {
  header: TransportHeader;
  payload: Buffer;
}

/** Header with payloadLength taken from the payload, then the payload. */
export function encodePacket(packet: Packet, maxPayload = DEFAULT_MAX_PAYLOAD): Buffer {
  const header = encodeHeader({ ...packet.header, payloadLength: packet.payload.length }, maxPayload);
  return Buffer.concat([header, packet.payload], HEADER_SIZE + packet.payload.length);
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
