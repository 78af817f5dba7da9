// Building a tunnel uplink from a ctdbd socket or an existing LegacyClient.
// The node number is learned from ctdbd (GET_PNN) before the uplink, and so
// the transportd, is constructed.

import type { Logger } from 'pino';
import { LegacyClient, exponentialBackoff } from '../../legacy/client/index.ts';
import { createLogger } from '../../legacy/common/log.ts';
import { TunnelChannel, TunnelEndpoint, bridgeTunnelId, portFromLegacyClient } from '../../tunnel/index.ts';
import { TunnelUplink } from './tunnel.ts';

export interface TunnelUplinkConfig {
  /** A connected LegacyClient to this node's ctdbd (its PNN is the node number). */
  client: LegacyClient;
  /** Tunnel id; default: the bridge's transport v1 channel. */
  tunnelId?: bigint;
  pollIntervalMs?: number;
  maxPacketSize?: number;
  /** Close the client when the uplink stops. */
  ownsClient?: boolean;
}

/** Synchronous construction over a connected client (createUplink('tunnel', ...)). */
export function tunnelUplinkFromClient(config: TunnelUplinkConfig, logger?: Logger): TunnelUplink {
  const { client } = config;
  if (!client.connected) throw new Error('the tunnel uplink needs a connected LegacyClient (its PNN names this node)');
  const node = client.pnn;
  const log = logger ?? createLogger({ component: 'tunnel-uplink', node });
  const endpoint = new TunnelEndpoint({
    port: portFromLegacyClient(client),
    tunnelId: config.tunnelId ?? bridgeTunnelId(TunnelChannel.TRANSPORT_V1),
    logger: log.child({ part: 'endpoint' }),
  });
  return new TunnelUplink({
    endpoint, node, logger: log, pollIntervalMs: config.pollIntervalMs, maxPacketSize: config.maxPacketSize,
    release: config.ownsClient ? () => client.close() : undefined,
  });
}

export interface OpenTunnelUplinkOptions extends Omit<TunnelUplinkConfig, 'client' | 'ownsClient'> {
  /** ctdbd's unix socket. */
  socketPath: string;
  logger?: Logger;
  /** Client timeouts and reconnect pacing (ctdbd restarts are survived by reconnecting). */
  connectTimeoutMs?: number;
  controlTimeoutMs?: number;
  reconnectMaxMs?: number;
}

/** Connects to ctdbd, learns this node's PNN and returns an uplink that owns the client. */
export async function openTunnelUplink(opts: OpenTunnelUplinkOptions): Promise<TunnelUplink> {
  const client = new LegacyClient({
    socketPath: opts.socketPath,
    logger: opts.logger,
    trackLeader: false,
    connectTimeoutMs: opts.connectTimeoutMs,
    defaultTimeoutMs: opts.controlTimeoutMs ?? 5000,
    reconnect: { backoff: exponentialBackoff({ initialMs: 100, maxMs: opts.reconnectMaxMs ?? 1000 }) },
  });
  await client.connect();
  return tunnelUplinkFromClient({ ...opts, client, ownsClient: true }, opts.logger);
}
