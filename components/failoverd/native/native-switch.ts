import { join } from 'node:path';
import type { LegacyClient } from '../../../legacy/client/client.ts';
import type { Logger } from '../../../legacy/common/log.ts';
import { loadPublicAddresses } from '../../../legacy/config/load.ts';
import { HostExecutor } from './executor.ts';
import { NativeHost } from './native-host.ts';

/**
 * Native mode on and off for failoverd (failoverd.ts switches it with the
 * mode): on, a NativeHost over failoverd's own ctdbd connection with this
 * node's public_addresses read afresh; off, none, so the daemon keeps its
 * record only.
 */
export interface NativeHostSwitchOptions {
  connect(): Promise<LegacyClient>;
  /** CTDB_BASE: public_addresses and events/legacy. */
  base: string;
  log: Logger;
  /** How often the host is checked against what the node hosts. */
  checkIntervalMs?: number;
}

export class NativeHostSwitch {
  private host: NativeHost | undefined;

  constructor(private readonly opts: NativeHostSwitchOptions) {}

  get running(): boolean {
    return this.host !== undefined;
  }

  async start(): Promise<void> {
    if (this.host) return;
    const [client, file] = await Promise.all([this.opts.connect(), loadPublicAddresses(join(this.opts.base, 'public_addresses'))]);
    const host = new NativeHost({
      link: client, log: this.opts.log, checkIntervalMs: this.opts.checkIntervalMs ?? 2000, publicAddresses: file.addresses,
      executor: new HostExecutor({ base: this.opts.base, log: this.opts.log }),
    });
    await host.start();
    this.host = host;
    this.opts.log.info({ addresses: file.addresses.length }, 'native mode: this host carries out the public IP events');
  }

  async stop(): Promise<void> {
    const host = this.host;
    this.host = undefined;
    await host?.stop();
  }
}
