// Service 1 on every transportd: ping, uptime, version, status.

import type { Logger } from 'pino';
import { ServiceDispatcher } from './dispatcher.ts';
import { SUPPORTED_PROTOCOL_VERSIONS } from './header.ts';
import type { MessageRegistry } from './schemas.ts';
import type { NodeInfo } from './discovery.ts';

export interface TransportStatus {
  node: number;
  software: string;
  protocolVersions: number[];
  uplink: string;
  startedAt: string;
  uptimeSeconds: number;
  services: Array<{ service: number; name: string }>;
  /** This node first (state "self"), then every node the uplink knows. */
  nodes: NodeInfo[];
}

export interface BuiltinServiceDeps {
  node: number;
  software: string;
  startedAt: number;
  now: () => number;
  registry: MessageRegistry;
  logger: Logger;
  maxPayload: number;
  status: () => TransportStatus;
}

export function createBuiltinService(deps: BuiltinServiceDeps): ServiceDispatcher {
  const d = new ServiceDispatcher({ registry: deps.registry, logger: deps.logger, node: () => deps.node, maxPayload: deps.maxPayload });
  d.handle('transport.ping', () => ({ node: deps.node, time: deps.now() }));
  d.handle('transport.uptime', () => ({
    node: deps.node,
    startedAt: new Date(deps.startedAt).toISOString(),
    uptimeSeconds: Math.max(0, (deps.now() - deps.startedAt) / 1000),
  }));
  d.handle('transport.version', () => ({
    node: deps.node,
    software: deps.software,
    protocolVersions: [...SUPPORTED_PROTOCOL_VERSIONS],
    messageTypes: deps.registry.list(),
  }));
  d.handle('transport.status', () => deps.status());
  return d;
}
