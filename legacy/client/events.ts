/** Events a LegacyClient emits (`client.on(name, listener)`). */

export type ClientState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

/** A REQ_MESSAGE delivered to a registered SRVID. */
export interface LegacyMessage {
  srvid: bigint;
  data: Buffer;
  /** Always the local daemon's PNN: ctdbd does not preserve the sender (behaviour.md §4). */
  srcnode: number;
  generation: number;
}

/** A REQ_TUNNEL delivered for a registered tunnel id. */
export interface LegacyTunnelPacket {
  tunnelId: bigint;
  flags: number;
  data: Buffer;
  /** The delivering daemon's PNN and reqid 0 through a real ctdbd (behaviour.md §3). */
  srcnode: number;
  reqid: number;
  generation: number;
}

export interface LegacyClientEvents {
  /** First connection established and PNN known. */
  connect: [info: { pnn: number; socketPath: string }];
  /** The connection dropped; `failedRequests` in-flight requests were rejected. */
  disconnect: [info: { reason: string; failedRequests: number; willReconnect: boolean }];
  /** A reconnect attempt failed; `nextDelayMs` undefined when giving up. */
  reconnectFailed: [info: { attempt: number; error: Error; nextDelayMs: number | undefined }];
  /** Connected again, SRVIDs and tunnels re-registered. */
  reconnect: [info: { pnn: number; attempts: number; srvids: number; tunnels: number; downMs: number }];
  /** A registration could not be restored after reconnect (e.g. tunnel id taken by another client). */
  reregisterFailed: [info: { kind: 'srvid' | 'tunnel'; id: bigint; error: Error }];
  /** Reconnecting stopped after maxAttempts; the client is closed. */
  giveUp: [info: { attempts: number; error: Error }];
  /** Leader learned from SRVID_LEADER changed (UNKNOWN_PNN 0xFFFFFFFF = election running). */
  leader: [info: { pnn: number; previous: number }];
  /** A message arrived for an SRVID without local handler (e.g. registered by another layer). */
  unhandledMessage: [message: LegacyMessage];
  /** A tunnel packet arrived for a tunnel id without local handler. */
  unhandledTunnel: [packet: LegacyTunnelPacket];
  /** close() finished. */
  close: [];
}
