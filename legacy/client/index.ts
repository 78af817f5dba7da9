/** Client for a ctdbd unix socket (real Samba daemon or the embedded one). */
export { LegacyClient } from './client.ts';
export type {
  LegacyClientOptions, MessageHandler, TunnelHandler, ReconnectOptions, Subscription, TunnelSendOptions,
} from './client.ts';
export { ControlsApi } from './controls-api.ts';
export type { CallOptions, ControlOptions, ControlReply, AttachOptions, SetTunableResult } from './controls-api.ts';
export type { LegacyClientEvents, ClientState, LegacyMessage, LegacyTunnelPacket } from './events.ts';
export * from './errors.ts';
export { exponentialBackoff, ReconnectLoop, type BackoffPolicy, type ExponentialBackoffOptions } from './reconnect.ts';
export { realTimers, type ClientTimers } from './timers.ts';
export { resolveSocketPath, resolveNodesFile, DEFAULT_SOCKET_PATH } from './socket-path.ts';
export { ReqidAllocator } from './request-tracker.ts';
