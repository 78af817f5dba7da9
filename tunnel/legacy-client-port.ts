import type { EventEmitter } from 'node:events';
import type { LegacyClient } from '../legacy/client/client.ts';
import { TUNNEL_DATA_OFFSET } from '../legacy/protocol/packets.ts';
import { TunnelDisconnectedError } from './errors.ts';
import type { LegacyTunnelPort, NodeEntry, TunnelPacketIn } from './legacy-port.ts';

/**
 * Adapts a LegacyClient (real ctdbd or embedded daemon) to what a tunnel
 * endpoint needs. The client itself restores the tunnel registration after
 * a reconnect; the port only reports the connection going and coming.
 */
export function portFromLegacyClient(client: LegacyClient): LegacyTunnelPort {
  // The client's emitter is typed per event; here the names come from a table.
  const emitter = client as unknown as EventEmitter;
  const listeners = new Map<() => void, { event: string; wrapped: () => void }[]>();
  const eventsFor = { connected: ['connect', 'reconnect'], disconnected: ['disconnect'] } as const;
  return {
    async getPnn() {
      // A client still reconnecting cannot be connected again; the endpoint retries later.
      if (client.state === 'idle') await client.connect();
      if (!client.connected) throw new TunnelDisconnectedError();
      return client.pnn;
    },
    async registerTunnel(tunnelId: bigint, onPacket: (p: TunnelPacketIn) => void) {
      // The client's packet carries srcnode, flags and data: handed on as it is.
      await client.registerTunnel(tunnelId, onPacket);
    },
    async deregisterTunnel(tunnelId: bigint) {
      await client.deregisterTunnel(tunnelId);
    },
    sendTunnel(destnode: number, tunnelId: bigint, flags: number, data: Buffer) {
      client.sendTunnel({ destnode, tunnelId, flags, data });
    },
    sendTunnelFrame(destnode: number, tunnelId: bigint, flags: number, frame: Buffer) {
      client.sendTunnelFrame({ destnode, tunnelId, flags, frame });
    },
    frameRoom: TUNNEL_DATA_OFFSET,
    async getNodeMap(): Promise<NodeEntry[]> {
      const map = await client.getNodeMap();
      return map.nodes.map((n) => ({ pnn: n.pnn, flags: n.flags }));
    },
    on(event, listener) {
      const wrapped = () => listener();
      const entries = eventsFor[event].map((e) => ({ event: e, wrapped }));
      for (const e of entries) emitter.on(e.event, wrapped);
      listeners.set(listener, [...(listeners.get(listener) ?? []), ...entries]);
      return this;
    },
    off(_event, listener) {
      for (const e of listeners.get(listener) ?? []) emitter.off(e.event, e.wrapped);
      listeners.delete(listener);
      return this;
    },
  };
}
