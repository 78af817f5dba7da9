// The service-manager seam on a real host: our units, through systemctl, on
// this host only. Another node's services are never reached by ssh: a
// cluster-wide step asks that node over the transport, and that node's CLI
// uses its own manager.

import type { ServiceManager, ServiceState, ServiceStatus } from './service-manager.ts';
import type { BridgeService } from './services.ts';
import { systemctl, systemctlRunner, type SystemctlRunner } from './systemctl.ts';
import { unitName } from './units.ts';

export class RemoteServiceError extends Error {
  override name = 'RemoteServiceError';
  constructor(readonly pnn: number, readonly localPnn: number) {
    super(`node ${pnn} is not this host (node ${localPnn}): systemd manages only this host's services; ` +
      'cluster-wide steps go through the transport to that node, not through ssh');
  }
}

export interface SystemdServiceManagerOptions {
  /** This host's node number (e.g. ctdbd's GET_PNN); asked once, when first needed. */
  localPnn: number | (() => Promise<number>);
  systemctl?: SystemctlRunner;
}

const PROPERTIES = ['LoadState', 'ActiveState', 'SubState', 'Result', 'MainPID'];

/** systemd's ActiveState as our state; "active" with a dead main process cannot happen for Type=exec. */
function stateOf(p: Record<string, string>): ServiceState {
  switch (p.ActiveState) {
    case 'active': case 'reloading': return 'running';
    case 'activating': return 'starting';
    case 'deactivating': return 'stopping';
    case 'failed': return 'failed';
    default: return 'stopped';
  }
}

export class SystemdServiceManager implements ServiceManager {
  private readonly run: SystemctlRunner;
  private localPnn: Promise<number> | undefined;

  constructor(private readonly opts: SystemdServiceManagerOptions) {
    this.run = opts.systemctl ?? systemctlRunner();
  }

  async start(pnn: number, service: BridgeService): Promise<void> {
    await this.local(pnn);
    await systemctl(this.run, ['start', unitName(service)]); // Wants= brings up what it needs first
  }

  async stop(pnn: number, service: BridgeService): Promise<void> {
    await this.local(pnn);
    await systemctl(this.run, ['stop', unitName(service)]); // failoverd's ExecStop drains first
  }

  async status(pnn: number, service: BridgeService): Promise<ServiceStatus> {
    await this.local(pnn);
    const r = await systemctl(this.run, ['show', unitName(service), `--property=${PROPERTIES.join(',')}`]);
    const p: Record<string, string> = {};
    for (const line of r.stdout.split('\n')) {
      const eq = line.indexOf('=');
      if (eq > 0) p[line.slice(0, eq)] = line.slice(eq + 1);
    }
    const pid = Number(p.MainPID);
    const detail = p.LoadState === 'not-found'
      ? `${unitName(service)} is not installed (ctdb-bridge service install)`
      : `${p.ActiveState}/${p.SubState}, result ${p.Result}`;
    return { pnn, service, state: stateOf(p), pid: Number.isInteger(pid) && pid > 0 ? pid : null, detail };
  }

  private async local(pnn: number): Promise<void> {
    const { localPnn } = this.opts;
    this.localPnn ??= typeof localPnn === 'number' ? Promise.resolve(localPnn) : localPnn();
    const local = await this.localPnn.catch((err) => {
      this.localPnn = undefined; // ask again next time
      throw err;
    });
    if (pnn !== local) throw new RemoteServiceError(pnn, local);
  }
}
