/**
 * What the tunnel needs from a legacy client connection. LegacyClient
 * (legacy/client) provides it; keeping it an interface keeps this layer
 * small and lets the same endpoint run over our daemon or a real ctdbd.
 */
export interface TunnelPacketIn {
  /** Delivering daemon's PNN (a real ctdbd rewrites it; do not trust as the sender). */
  srcnode: number;
  flags: number;
  data: Buffer;
}

export interface NodeEntry {
  pnn: number;
  flags: number;
}

export interface LegacyTunnelPort {
  /** PNN of the daemon this client is connected to. */
  getPnn(): Promise<number>;
  /** Registers the id and routes its packets to onPacket; re-registered by the client after a reconnect. */
  registerTunnel(tunnelId: bigint, onPacket: (p: TunnelPacketIn) => void): Promise<void>;
  deregisterTunnel(tunnelId: bigint): Promise<void>;
  /** Fire-and-forget REQ_TUNNEL to a concrete PNN. */
  sendTunnel(destnode: number, tunnelId: bigint, flags: number, data: Buffer): void;
  /**
   * sendTunnel() for data placed `frameRoom` bytes into `frame`: the port
   * writes its REQ_TUNNEL header there instead of copying the data.
   */
  sendTunnelFrame(destnode: number, tunnelId: bigint, flags: number, frame: Buffer): void;
  /** Bytes sendTunnelFrame() needs in front of the data. */
  readonly frameRoom: number;
  getNodeMap(): Promise<NodeEntry[]>;
  on(event: 'connected' | 'disconnected', listener: () => void): unknown;
  off(event: 'connected' | 'disconnected', listener: () => void): unknown;
}
