import { isIP } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleepFor } from 'node:timers/promises';
import type { Logger } from '../../../legacy/common/log.ts';
import type { IpEvent } from '../../../legacy/daemon/ip-events.ts';
import type { HostedAddress } from '../../../legacy/daemon/public-ips.ts';
import { ANNOUNCE_INTERVAL_MS, ANNOUNCE_ROUNDS, announceCommand, hostTickleLines, TICKLE_DELAY_MS, tickleLines } from './announce.ts';
import { HostCommandError, mustRun, runCommand, type CommandRunner } from './commands.ts';
import { runEventScripts } from './event-scripts.ts';
import { CTDB_KILLTCP, establishedArgs, killtcpInput, parseEstablished, type Established } from './release-kill.ts';
import {
  ADDRESS_NOT_THERE, addAddressArgs, deleteAddressArgs, findDrift, parseAddresses, promoteSecondariesArgs, SHOW_ADDRESSES_ARGS, type Drift,
} from './host-addresses.ts';

/**
 * Native mode's hands on the host: the embedded daemon's public IP events
 * carried out as ctdbd's event scripts and takeover code carry them out.
 * takeip: the address goes on its interface, the operator's scripts run,
 * then it is announced (gratuitous ARP / unsolicited neighbour
 * advertisement) and its known client connections are tickled, three rounds
 * in the background as ctdbd's timer does (announce.ts); releaseip: scripts
 * first, then the connections still established on it are reset
 * (release-kill.ts, 10.interface's step), then the address comes off (and
 * what is left of its announcement is cancelled); updateip: the address moves to its new interface, the
 * scripts run with ctdbd's `updateip OLD NEW ADDR BITS`, and it is announced
 * and tickled there (what 10.interface does for ctdbd); ipreallocated:
 * scripts only. Adding an address that is there, or deleting one that is
 * not, is not an error (a restart, or a drift repair, got there first).
 */

export interface HostExecutorOptions {
  /** CTDB_BASE: the operator's scripts are in events/legacy below it. */
  base: string;
  log: Logger;
  run?: CommandRunner;
  ip?: string;
  arping?: string;
  /** IPv6 announcements (libndp-tools). */
  ndptool?: string;
  /** Debian's ctdb tool (its `tickle` needs no daemon). */
  ctdb?: string;
  ss?: string;
  sysctl?: string;
  /** Debian's ctdb_killtcp helper. */
  killtcp?: string;
  /** ctdbd's event script timeout. */
  scriptTimeoutMs?: number;
  /** Announcement rounds per takeover (ctdbd: CTDB_ARP_REPEAT = 3). */
  arpCount?: number;
  /** Between rounds (ctdbd: 1.1 s). */
  arpIntervalMs?: number;
  /** From a round's announcement to its tickles. */
  tickleDelayMs?: number;
  /** Timers (tests). */
  sleep?: (ms: number) => Promise<void>;
}

export class HostExecutor {
  private readonly run: CommandRunner;
  private readonly ip: string;
  private readonly sleep: (ms: number) => Promise<void>;
  /** Address -> its announcement in progress (a newer one, or a release, ends the older). */
  private readonly announcing = new Map<string, Promise<void>>();
  /** Tickle ACKs sent (connections x rounds) and `ctdb tickle` runs that failed (status). */
  readonly counters = { tickles: 0, failedTickles: 0, announcements: 0, killed: 0, failedKills: 0 };

  constructor(private readonly opts: HostExecutorOptions) {
    this.run = opts.run ?? runCommand;
    this.ip = opts.ip ?? 'ip';
    this.sleep = opts.sleep ?? ((ms) => sleepFor(ms, undefined, { ref: false }));
  }

  async execute(e: IpEvent): Promise<void> {
    const scripts = () => runEventScripts(this.run, join(this.opts.base, 'events', 'legacy'), this.opts.base, e,
      this.opts.scriptTimeoutMs ?? 30_000);
    switch (e.event) {
      case 'takeip':
        await this.addAddress(e);
        await scripts();
        this.announce(e, tickleLines(e.connections ?? []));
        return;
      case 'releaseip':
        this.announcing.delete(e.address);
        await scripts();
        await this.killConnections(e);
        await this.deleteAddress(e);
        return;
      case 'updateip': {
        await this.deleteAddress({ ...e, iface: e.oldIface });
        await this.addAddress(e);
        await scripts();
        // The tracked connections, and what this host has on the address both ways (10.interface's updateip).
        const onHost = (await this.established(e)) ?? [];
        this.announce(e, [...new Set([...tickleLines(e.connections ?? []), ...hostTickleLines(onHost)])]);
        return;
      }
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
    if (isIP(h.address) === 4) {
      const p = await this.run(this.opts.sysctl ?? 'sysctl', promoteSecondariesArgs(h.iface));
      // As ctdbd's set_proc: a failure is reported, the delete still goes ahead.
      if (p.exitCode !== 0) this.opts.log.warn({ iface: h.iface, err: p.stderr.trim() }, 'cannot make the interface promote secondary addresses');
    }
    const r = await this.run(this.ip, deleteAddressArgs(h));
    if (r.exitCode !== 0 && !ADDRESS_NOT_THERE.test(r.stderr)) {
      throw new HostCommandError(`${this.ip} ${deleteAddressArgs(h).join(' ')}`, r);
    }
  }

  /** Resolves when every announcement in progress has finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.announcing.size > 0) await Promise.all([...this.announcing.values()]);
  }

  /**
   * The announcement rounds, in the background: each an ARP / neighbour
   * advertisement so that neighbours and switches learn the new host at
   * once, then the tickles. Failures are logged, never fatal.
   */
  private announce(h: HostedAddress, tickles: readonly string[] = []): void {
    const rounds = this.opts.arpCount ?? ANNOUNCE_ROUNDS;
    const interval = this.opts.arpIntervalMs ?? ANNOUNCE_INTERVAL_MS;
    const delay = Math.min(this.opts.tickleDelayMs ?? TICKLE_DELAY_MS, interval);
    const current = () => this.announcing.get(h.address) === job;
    const job: Promise<void> = (async () => {
      await Promise.resolve(); // `job` is registered before the first round looks at it
      for (let round = 0; round < rounds; round++) {
        if (round > 0) await this.sleep(interval - delay);
        if (!current()) return; // released, or announced anew, meanwhile (ctdbd cancels too)
        this.sendAnnouncement(h);
        if (tickles.length === 0) {
          if (round < rounds - 1) await this.sleep(delay);
          continue;
        }
        await this.sleep(delay);
        if (!current()) return;
        await this.tickle(h, tickles);
      }
    })().finally(() => {
      if (current()) this.announcing.delete(h.address);
    });
    this.announcing.set(h.address, job);
  }

  private sendAnnouncement(h: HostedAddress): void {
    const { program, args } = announceCommand(h, { arping: this.opts.arping ?? 'arping', ndptool: this.opts.ndptool ?? 'ndptool' });
    this.counters.announcements++;
    // arping -U exits 1 when no reply came, and none comes to an unsolicited ARP.
    const fine = (code: number) => code === 0 || (code === 1 && args[0] === '-U');
    void this.run(program, args, { timeoutMs: 10_000 }).then((r) => {
      if (!fine(r.exitCode)) this.opts.log.warn({ address: h.address, program, stderr: r.stderr.trim() }, 'announcing the address failed');
    });
  }

  /** Resets what is still established on a released address; failures are logged, never fatal (as 10.interface). */
  private async killConnections(h: HostedAddress): Promise<void> {
    const connections = await this.established(h);
    if (connections === undefined) {
      this.counters.failedKills++;
      return;
    }
    if (connections.length === 0) return;
    // ctdb_killtcp gives up on a connection after 50 tries 100 ms apart.
    const r = await this.run(this.opts.killtcp ?? CTDB_KILLTCP, [h.iface], { input: killtcpInput(connections), timeoutMs: 15_000 });
    if (r.exitCode !== 0) {
      this.counters.failedKills++;
      this.opts.log.warn({ address: h.address, connections: connections.length, stderr: r.stderr.trim() }, 'killing the connections on a released address failed');
      return;
    }
    this.counters.killed += connections.length;
    this.opts.log.info({ address: h.address, connections: connections.length }, 'connections on a released address reset');
  }

  /** TCP connections established on the address on this host; undefined (logged) when `ss` fails. */
  private async established(h: HostedAddress): Promise<Established[] | undefined> {
    const shown = await this.run(this.opts.ss ?? 'ss', establishedArgs(h.address), { timeoutMs: 10_000 });
    if (shown.exitCode === 0) return parseEstablished(shown.stdout);
    this.opts.log.warn({ address: h.address, stderr: shown.stderr.trim() }, 'cannot list the connections on an address');
    return undefined;
  }

  /** One `ctdb tickle` run fed "CLIENT SERVER" lines. */
  private async tickle(h: HostedAddress, lines: readonly string[]): Promise<void> {
    const r = await this.run(this.opts.ctdb ?? 'ctdb', ['tickle'], { input: lines.map((l) => `${l}\n`).join(''), timeoutMs: 10_000 });
    if (r.exitCode === 0) {
      this.counters.tickles += lines.length;
      return;
    }
    this.counters.failedTickles++;
    this.opts.log.warn({ address: h.address, tickles: lines.length, stderr: r.stderr.trim() }, 'ctdb tickle failed');
  }
}
