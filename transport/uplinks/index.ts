// Uplink selection by name, for the transportd command and local clusters.
// The legacy tunnel uplink plugs in here (and only here) when it exists.

import type { Logger } from 'pino';
import { InProcessHub } from './inproc.ts';
import { WebSocketUplink, type WsPeer } from './websocket.ts';
import type { Uplink } from './uplink.ts';

export type UplinkKind = 'tunnel' | 'ws' | 'inproc';
export const UPLINK_KINDS: readonly UplinkKind[] = ['tunnel', 'ws', 'inproc'];

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
}

export function createUplink(kind: UplinkKind, config: UplinkConfig): Uplink {
  switch (kind) {
    case 'ws':
      if (!config.ws) throw new Error('the ws uplink needs listen address, peers and the cluster secret');
      return new WebSocketUplink({ node: config.node, logger: config.logger, ...config.ws });
    case 'inproc':
      return (config.hub ?? new InProcessHub([config.node])).createUplink(config.node);
    case 'tunnel':
      throw new Error('the tunnel uplink is not yet available; use --uplink ws or inproc');
  }
}

export type { Uplink, UplinkNode, UplinkPacketHandler, UplinkReachabilityHandler } from './uplink.ts';
export { InProcessHub, InProcessUplink } from './inproc.ts';
export { WebSocketUplink, type WebSocketUplinkOptions, type WsPeer } from './websocket.ts';
