// Where the CLI's seams come from: a local cluster (its directory: every
// node's ctdbd and transportd sockets on this host, the local-cluster
// supervisor with detached services, uplink switch supported) or a real
// host (this host's sockets, systemd for this host's units only; stage 4
// refused: other hosts' transportd cannot be restarted from here).

import { LegacyClient, resolveSocketPath } from '../../../legacy/client/index.ts';
import { silentLogger } from '../../../legacy/common/log.ts';
import { readClusterFile } from '../../local-cluster/cluster-file.ts';
import { nodeNamespace } from '../../local-cluster/netns/names.ts';
import type { LocalClusterNode } from '../../local-cluster/types.ts';
import { LocalClusterServiceManager } from '../../services/local-cluster-service-manager.ts';
import { DetachedSpawner } from '../../services/detached-spawner.ts';
import { SystemdServiceManager } from '../../services/systemd-service-manager.ts';
import { ENVIRONMENT_FILE, optionsVariable, unitName } from '../../services/units.ts';
import type { ServiceManager } from '../../services/service-manager.ts';
import type { ObserveDeps } from './observe.ts';
import type { UplinkSwitcher } from './actions.ts';

export interface UpgradeBackend {
  manager: ServiceManager;
  observe: Omit<ObserveDeps, 'timeoutMs'>;
  uplinks?: UplinkSwitcher;
}

export interface LocalClusterBackendOptions {
  dir: string;
  /** The node the CLI acts as "this host" for: its sockets are tried first. */
  via?: number;
  transportdPollMs?: number;
  logLevel?: string;
}

/** A local cluster's seams; its manager is the supervisor itself (start and cleanup use its pids and stopAll). */
export async function localClusterBackend(opts: LocalClusterBackendOptions): Promise<UpgradeBackend & {
  spawner: DetachedSpawner; nodes: LocalClusterNode[]; manager: LocalClusterServiceManager;
}> {
  const file = await readClusterFile(opts.dir);
  const nodes: LocalClusterNode[] = file.nodes.map((n) => ({ pnn: n.pnn, address: n.address, base: n.base, socketPath: n.socketPath }));
  const netns = file.netns;
  const spawner = new DetachedSpawner({
    clusterDir: opts.dir, pollIntervalMs: opts.transportdPollMs, logLevel: opts.logLevel,
    namespaceOf: netns ? (pnn) => nodeNamespace(netns.id, pnn) : undefined,
  });
  // No drain on stop: the plan hands failover back to ctdbd before any failoverd stops.
  const manager = new LocalClusterServiceManager({ cluster: { dir: opts.dir, nodes }, spawner, drain: false });
  const ordered = [...nodes].sort((a, b) => (a.pnn === opts.via ? -1 : b.pnn === opts.via ? 1 : a.pnn - b.pnn));
  return {
    spawner, nodes, manager,
    observe: {
      ctdbSockets: ordered.map((n) => n.socketPath),
      transportSockets: ordered.map((n) => manager.transportSocket(n.pnn)),
      manager, managed: () => true, uplinkSwitch: { supported: true },
    },
    uplinks: {
      async restartTransportd(pnn, uplink) {
        spawner.setUplink(pnn, uplink);
        await manager.stop(pnn, 'transportd');
        await manager.start(pnn, 'transportd');
      },
    },
  };
}

export const SYSTEMD_STAGE4 = `stage 4 on systemd hosts: on every node set ${optionsVariable('transportd')}="--uplink ws --secret-file ...", ` +
  `in ${ENVIRONMENT_FILE}, then systemctl restart ${unitName('transportd')} on all nodes at once ` +
  '(this CLI starts and stops only this host\'s units)';

export async function hostBackend(opts: { socket: string; ctdbSocket?: string; timeoutMs: number }): Promise<UpgradeBackend> {
  const ctdbSocket = resolveSocketPath(opts.ctdbSocket);
  const localPnn = await (async () => {
    const c = new LegacyClient({ socketPath: ctdbSocket, reconnect: false, logger: silentLogger('upgrade'), defaultTimeoutMs: opts.timeoutMs });
    try {
      await c.connect();
      return await c.getPnn();
    } catch {
      return null;
    } finally {
      await c.close().catch(() => undefined);
    }
  })();
  const manager = new SystemdServiceManager({ localPnn: localPnn ?? -1 });
  return {
    manager,
    observe: {
      ctdbSockets: [ctdbSocket], transportSockets: [opts.socket], manager,
      managed: (pnn) => pnn === localPnn, uplinkSwitch: { supported: false, why: SYSTEMD_STAGE4 },
    },
  };
}
