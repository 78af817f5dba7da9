// A packet is a header plus its raw JSON payload bytes. Whole-message
// carriers (WebSocket, in-process) use encodePacket/decodePacket; byte
// streams (unix socket) go through FrameReader in framing.ts.
//
// Packets built here (buildPacket in message.ts) keep free room in front of
// their payload, so the transport header and a carrier's own headers (the
// tunnel's REQ_TUNNEL header and envelope) are written in place: the JSON
// bytes are written once and never copied on their way to a socket.

import {
  DEFAULT_MAX_PAYLOAD, HEADER_SIZE, Offset, checkHeader, decodeHeader, encodeHeader, writeCheckedHeader, type TransportHeader,
} from './header.ts';
import { TransportDecodeError } from './errors.ts';

export interface Packet {
  header: TransportHeader;
  payload: Buffer;
  /**
   * The buffer `payload` ends, when the bytes in front of the payload are
   * free and owned by this packet. The first encoder takes it (sets
   * undefined): two packets never share one frame.
   */
  frame?: Buffer;
}

/** Largest carrier prefix in front of the transport header: REQ_TUNNEL header (48) + tunnel envelope (16). */
export const MAX_CARRIER_ROOM = 64;
/** Room a packet builder leaves in front of the payload. */
export const PACKET_ROOM = MAX_CARRIER_ROOM + HEADER_SIZE;

/** Header with payloadLength taken from the payload, then the payload. */
export function encodePacket(packet: Packet, maxPayload = DEFAULT_MAX_PAYLOAD): Buffer {
  return encodePacketAt(packet, 0, maxPayload);
}

/**
 * The packet at offset `carrierRoom` of a buffer whose first `carrierRoom`
 * bytes are left for the carrier's own header. Takes the packet's frame when
 * it has room enough (no copy), else one new buffer. `trusted`: the header
 * passed checkHeader already (transportd checks every packet it accepts).
 */
export function encodePacketAt(packet: Packet, carrierRoom: number, maxPayload = DEFAULT_MAX_PAYLOAD, trusted = false): Buffer {
  const { payload, frame } = packet;
  const front = carrierRoom + HEADER_SIZE;
  const header = packet.header.payloadLength === payload.length ? packet.header : { ...packet.header, payloadLength: payload.length };
  if (!trusted) {
    const problem = checkHeader(header, maxPayload);
    if (problem) throw new TransportDecodeError(problem.field, Offset[problem.field], problem.detail);
  }
  let out: Buffer;
  const free = frame === undefined ? -1 : frame.length - payload.length;
  if (free >= front) {
    packet.frame = undefined;
    out = free === front ? frame! : frame!.subarray(free - front);
  } else {
    out = Buffer.allocUnsafe(front + payload.length);
    payload.copy(out, front);
  }
  writeCheckedHeader(out, carrierRoom, header);
  return out;
}

/**
 * From this payload size on, a packet without room of its own in front is not
 * copied behind a new header for a byte stream: header and payload go as two
 * buffers of one writev (a copy of a 64 KiB payload cost more than that).
 */
export const SEPARATE_PAYLOAD_BYTES = 4096;

/**
 * The packet as the buffers a byte stream writes back to back: one (header
 * written in place, or a small payload copied behind it), or header and
 * payload apart. Same checks as encodePacket.
 */
export function encodePacketParts(packet: Packet, maxPayload = DEFAULT_MAX_PAYLOAD): Buffer[] {
  const { payload, frame } = packet;
  const hasRoom = frame !== undefined && frame.length - payload.length >= HEADER_SIZE;
  if (hasRoom || payload.length < SEPARATE_PAYLOAD_BYTES) return [encodePacketAt(packet, 0, maxPayload)];
  const header = packet.header.payloadLength === payload.length ? packet.header : { ...packet.header, payloadLength: payload.length };
  return [encodeHeader(header, maxPayload), payload];
}

/** One complete packet in `buf` (nothing more, nothing less). */
export function decodePacket(buf: Buffer, maxPayload = DEFAULT_MAX_PAYLOAD): Packet {
  const header = decodeHeader(buf, 0, maxPayload);
  const actual = buf.length - HEADER_SIZE;
  if (actual !== header.payloadLength) {
    throw new TransportDecodeError('payloadLength', Offset.payloadLength,
      `header says ${header.payloadLength} payload bytes, message carries ${actual}`);
  }
  return { header, payload: buf.subarray(HEADER_SIZE), frame: undefined };
}

/** The same payload under another header (routing rewrites src/dest); the frame moves along. */
export function withHeader(packet: Packet, changes: Partial<TransportHeader>): Packet {
  const moved: Packet = { header: { ...packet.header, ...changes }, payload: packet.payload, frame: packet.frame };
  packet.frame = undefined;
  return moved;
}

/** Another packet with the same payload (fan-out): it gets no frame, so copies never overwrite each other. */
export function sharingPayload(packet: Packet, changes: Partial<TransportHeader>): Packet {
  return { header: { ...packet.header, ...changes }, payload: packet.payload, frame: undefined };
}
