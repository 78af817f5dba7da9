/** The legacy CTDB protocol codec: pure functions over bytes, no I/O. */
export * from './constants.ts';
export * from './errors.ts';
export * from './srvid.ts';
export * from './struct.ts';
export * from './packets.ts';
export * from './framing.ts';
export * from './controls.ts';
export * from './types/index.ts';
export * from './control-payloads.ts';
export * from './message-payloads.ts';
export { Dissector, parseHexDump, toJsonValue, compareMasked } from './dissect.ts';
export type { DissectOptions, PacketRecord, RoundtripResult, DissectSummary } from './dissect.ts';
