// The one seam through which the CLI starts and stops our services: systemd
// units on real hosts (systemd-service-manager.ts), the local-cluster
// supervisor in tests and `ctdb-bridge start` (local-cluster-service-manager.ts).

import type { BridgeService } from './services.ts';

export type ServiceState = 'running' | 'starting' | 'stopping' | 'stopped' | 'failed';

export interface ServiceStatus {
  pnn: number;
  service: BridgeService;
  state: ServiceState;
  /** The main process, while there is one. */
  pid: number | null;
  /** The manager's own words (systemd's ActiveState/SubState/Result, an exit code). */
  detail?: string;
}

export interface ServiceManager {
  /** Starts the service (and what it needs first) and resolves once it runs; a running service is left as it is. */
  start(pnn: number, service: BridgeService): Promise<void>;
  /** Stops the service (failoverd drains its node first) and resolves once it is gone; a stopped one is left as it is. */
  stop(pnn: number, service: BridgeService): Promise<void>;
  status(pnn: number, service: BridgeService): Promise<ServiceStatus>;
}
