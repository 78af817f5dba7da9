import { isIP } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../../../legacy/common/log.ts';
import type { IpEvent } from '../../../legacy/daemon/ip-events.ts';
import type { HostedAddress } from '../../../legacy/daemon/public-ips.ts';
import { HostCommandError, mustRun, runCommand, type CommandRunner } from './commands.ts';
import { runEventScripts } from './event-scripts.ts';
import { addAddressArgs, deleteAddressArgs, findDrift, parseAddresses, SHOW_ADDRESSES_ARGS, type Drift } from './host-addresses.ts';

/**
 * Native mode's hands on the host: the embedded daemon's public IP events
 * carried out as ctdbd's event scripts and takeover code carry them out.
 * takeip: the address goes on its interface, the operator's scripts run,
 * then gratuitous ARPs announce it (in the background, as ctdbd's timer
 * does); releaseip: scripts first, then the address comes off;
 * ipreallocated: scripts only. Adding an address that is there, or deleting
 * one that is not, is not an error (a restart, or a drift repair, got there
 * first).
 */

export interface HostExecutorOptions {
  /** CTDB_BASE: the operator's scripts are in events/legacy below it. */
  base: string;
  log: Logger;
  run?: CommandRunner;
  ip?: string;
  arping?: string;
  /** ctdbd's event script timeout. */
  scriptTimeoutMs?: number;
  /** Gratuitous ARPs per takeover (ctdbd: CTDB_ARP_REPEAT = 3, a second apart). */
  arpCount?: number;
}

export class HostExecutor {
  private readonly run: CommandRunner;
  private readonly ip: string;

  constructor(private readonly opts: HostExecutorOptions) {
    this.run = opts.run ?? runCommand;
    this.ip = opts.ip ?? 'ip';
  }

  async execute(e: IpEvent): Promise<void> {
    const scripts = () => runEventScripts(this.run, join(this.opts.base, 'events', 'legacy'), this.opts.base, e,
      this.opts.scriptTimeoutMs ?? 30_000);
    switch (e.event) {
      case 'takeip':
        await this.addAddress(e);
        await scripts();
        this.announce(e);
        return;
      case 'releaseip':
        await scripts();
        await this.deleteAddress(e);
        return;
      case 'ipreallocated':
        await scripts();
    }
  }

  /** Puts on the host what the node hosts and takes off public addresses it does not host. */
  async reconcile(hosted: readonly HostedAddress[], publicAddresses: ReadonlyArray<{ address: string; prefixLength: number }>): Promise<Drift> {
    const shown = await mustRun(this.run, this.ip, SHOW_ADDRESSES_ARGS);
    const drift = findDrift(parseAddresses(shown.stdout), hosted, publicAddresses);
    for (const h of drift.missing) {
      this.opts.log.warn({ address: h.address, iface: h.iface }, 'hosted public address missing on the host: adding it');
      await this.addAddress(h);
      this.announce(h);
    }
    for (const h of drift.stray) {
      this.opts.log.warn({ address: h.address, iface: h.iface }, 'public address on the host that this node does not host: removing it');
      await this.deleteAddress(h);
    }
    return drift;
  }

  private async addAddress(h: HostedAddress): Promise<void> {
    const r = await this.run(this.ip, addAddressArgs(h));
    if (r.exitCode !== 0 && !/File exists/.test(r.stderr)) throw new HostCommandError(`${this.ip} ${addAddressArgs(h).join(' ')}`, r);
  }

  private async deleteAddress(h: HostedAddress): Promise<void> {
    const r = await this.run(this.ip, deleteAddressArgs(h));
    if (r.exitCode !== 0 && !/Cannot assign requested address/.test(r.stderr)) {
      throw new HostCommandError(`${this.ip} ${deleteAddressArgs(h).join(' ')}`, r);
    }
  }

  /** Gratuitous ARP so that neighbours and switches learn the new host at once; failures are logged, never fatal. */
  private announce(h: HostedAddress): void {
    if (isIP(h.address) !== 4) {
      this.opts.log.debug({ address: h.address }, 'no unsolicited neighbour advertisement sent for IPv6 (not implemented)');
      return;
    }
    const count = String(this.opts.arpCount ?? 3);
    void this.run(this.opts.arping ?? 'arping', ['-U', '-c', count, '-w', count, '-I', h.iface, h.address], { timeoutMs: 10_000 })
      .then((r) => {
        if (r.exitCode !== 0 && r.exitCode !== 1) this.opts.log.warn({ address: h.address, stderr: r.stderr.trim() }, 'gratuitous ARP failed');
      });
  }
}
