// Uplink selection by name, for the transportd command and local clusters.
// The tunnel uplink needs a connected LegacyClient (its PNN is the node
// number); openTunnelUplink() connects one from a ctdbd socket path.

import type { Logger } from 'pino';
import { InProcessHub } from './inproc.ts';
import { WebSocketUplink, type WsPeer } from './websocket.ts';
import { tunnelUplinkFromClient, type TunnelUplinkConfig } from './tunnel-config.ts';
import type { Uplink } from './uplink.ts';
import type { UplinkKind } from './kinds.ts';

export { UPLINK_KINDS, type UplinkKind } from './kinds.ts';

export interface UplinkConfig {
  node: number;
  logger?: Logger;
  ws?: {
    listen: { host: string; port: number };
    peers: WsPeer[];
    secret: Buffer;
  };
  /** For inproc: the hub shared by every transportd of this process (a fresh one-node hub if omitted). */
  hub?: InProcessHub;
  /** For tunnel: the connected client to this node's ctdbd. */
  tunnel?: TunnelUplinkConfig;
}

export function createUplink(kind: UplinkKind, config: UplinkConfig): Uplink {
  switch (kind) {
    case 'ws':
      if (!config.ws) throw new Error('the ws uplink needs listen address, peers and the cluster secret');
      return new WebSocketUplink({ node: config.node, logger: config.logger, ...config.ws });
    case 'inproc':
      return (config.hub ?? new InProcessHub([config.node])).createUplink(config.node);
    case 'tunnel': {
      if (!config.tunnel) throw new Error('the tunnel uplink needs a connected LegacyClient to the local ctdbd');
      const uplink = tunnelUplinkFromClient(config.tunnel, config.logger);
      if (uplink.localNode !== config.node) {
        throw new Error(`the local ctdbd is node ${uplink.localNode}, not ${config.node}`);
      }
      return uplink;
    }
  }
}

export type { Uplink, UplinkNode, UplinkPacketHandler, UplinkReachabilityHandler } from './uplink.ts';
export { InProcessHub, InProcessUplink } from './inproc.ts';
export { WebSocketUplink, type WebSocketUplinkOptions, type WsPeer } from './websocket.ts';
export { TunnelUplink, DEFAULT_NODE_MAP_POLL_MS, type TunnelUplinkOptions } from './tunnel.ts';
export { openTunnelUplink, tunnelUplinkFromClient, type OpenTunnelUplinkOptions, type TunnelUplinkConfig } from './tunnel-config.ts';
