// Public surface of the transport layer.
export * from './endpoint.ts';
export * from './errors.ts';
export {
  HEADER_SIZE, MAGIC, PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS, DEFAULT_MAX_PAYLOAD, Flag,
  decodeHeader, encodeHeader, kindOf, type TransportHeader, type PacketKind,
} from './header.ts';
export { encodePacket, decodePacket, type Packet } from './packet.ts';
export { FrameReader, type FrameEvent } from './framing.ts';
export { MessageRegistry, createRegistry, CORE_MESSAGES, type MessageDefinition, type MessageSchemas } from './schemas.ts';
export {
  TransportClient, connectTransport, DEFAULT_REQUEST_TIMEOUT_MS, DEFAULT_RECONNECT_MAX_DELAY_MS, type TransportClientOptions,
  type TransportReconnectOptions, type TransportClientEvents, type RequestOptions, type SendOptions,
} from './api.ts';
export type { IncomingContext, RequestHandler, MessageListener } from './dispatcher.ts';
export { Transportd, type TransportdOptions, type TransportStatus } from './transportd.ts';
export type { NodeInfo, NodeState } from './discovery.ts';
export * from './uplinks/index.ts';
