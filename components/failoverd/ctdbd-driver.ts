// failoverd's hold on the real (or embedded) ctdbd: one legacy client,
// reconnected when needed, for gathering, takeover runs and the lease on
// ctdbd's own takeover runs.

import { NativeHostSwitch } from './native/native-switch.ts';
import type { Logger } from 'pino';
import { LegacyClient } from '../../legacy/client/client.ts';
import { realComponentTimers, type ComponentTimers } from '../framework/component.ts';
import type { AllocationInput, Placement } from './allocation/types.ts';
import type { HandOver, RunOutcome, TakeoverDriver } from './failoverd.ts';
import { TakeoverRunsLease, type LeaseLink } from './takeover-lease.ts';
import { gather, takeoverRun, type RunScope } from './takeover-run/index.ts';
import { Control } from '../../legacy/protocol/controls.ts';
import type { NodeMap, PublicIpList } from '../../legacy/protocol/types/index.ts';
import { NodeFlag } from '../../legacy/protocol/constants.ts';
import { sendControl } from './takeover-run/controls.ts';
import { publicIpPayload } from './takeover-run/execute.ts';
import { TakeoverRunRequests } from './takeover-run-requests.ts';

const RECMODE_ACTIVE = 1;

/** Nodes whose recovery mode is ACTIVE (or that cannot say: a run there would fail the same way). */
async function nodesInRecovery(client: LegacyClient, pnns: number[]): Promise<number[]> {
  const modes = await Promise.all(pnns.map((pnn) => client.getRecmode({ destnode: pnn, timeoutMs: 2000 }).catch(() => RECMODE_ACTIVE)));
  return pnns.filter((_, i) => modes[i] === RECMODE_ACTIVE);
}

export interface CtdbdDriverOptions {
  socketPath: string;
  logger: Logger;
  timers?: ComponentTimers;
  /** CTDB_BASE of this node, for native mode (public_addresses, events/legacy); without it there is no native mode. */
  base?: string;
}

/** A release of our own addresses may run the releaseip event (connections killed): generous, not unbounded. */
const SELF_RELEASE_TIMEOUT_MS = 10_000;

export class CtdbdDriver implements TakeoverDriver {
  readonly lease: TakeoverRunsLease;
  readonly requests: TakeoverRunRequests;
  readonly nativeHost: NativeHostSwitch | undefined;
  private client: LegacyClient | undefined;
  private connecting: Promise<LegacyClient> | undefined;

  constructor(private readonly opts: CtdbdDriverOptions) {
    const driver = this;
    const link: LeaseLink = {
      get pnn() { return driver.client?.pnn ?? 0; },
      registerSrvid: async (srvid, handler) => (await driver.connected()).registerSrvid(srvid, handler),
      sendMessage: (destnode, srvid, data) => driver.client!.sendMessage(destnode, srvid, data),
    };
    this.lease = new TakeoverRunsLease(link, opts.timers ?? realComponentTimers);
    this.requests = new TakeoverRunRequests(link);
    this.nativeHost = opts.base === undefined ? undefined
      : new NativeHostSwitch({ connect: () => this.connected(), base: opts.base, log: opts.logger });
  }

  async gather(scope?: RunScope): Promise<AllocationInput> {
    const client = await this.connected();
    // Registered on every connection (a reconnect to a restarted ctdbd loses it).
    void this.requests.listen(client).catch((err) => this.opts.logger.warn({ err }, 'cannot listen for takeover-run requests'));
    return (await gather(client, { log: this.opts.logger, scope })).input;
  }

  async run(allocate: (input: AllocationInput) => Placement[], scope?: RunScope): Promise<RunOutcome> {
    const client = await this.connected();
    // ctdbd runs its takeover runs only after a recovery; during one it refuses takeip events, and a run
    // failing there would earn a healthy node banning credits.
    const recovering = await nodesInRecovery(client, await this.activeNodes(client, scope));
    if (recovering.length > 0) return { moved: 0, deferred: `database recovery in progress on node(s) ${recovering.join(', ')}` };
    const result = await takeoverRun({ client, log: this.opts.logger, allocate, scope });
    return { moved: result.moved.length, ...(result.status !== 0 ? { error: `${result.stage ?? 'run'}: ${result.error ?? `status ${result.status}`}` } : {}) };
  }

  async handOver(moves: readonly HandOver[]): Promise<string[]> {
    const client = await this.connected();
    const failed: string[] = [];
    await Promise.all(moves.map(async (m) => {
      // Take first: the new owner's takeip event adds the address and announces it (gratuitous ARP) while
      // the old owner still answers; ctdbd accepts it because the new owner does not have it yet.
      const take = await sendControl(client, Control.TAKEOVER_IP, m.to, { timeoutMs: SELF_RELEASE_TIMEOUT_MS, data: publicIpPayload(m.ip, m.to) });
      if (!take.ok) {
        failed.push(m.ip);
        return;
      }
      const release = await sendControl(client, Control.RELEASE_IP, m.from, { timeoutMs: SELF_RELEASE_TIMEOUT_MS, data: publicIpPayload(m.ip, m.to) });
      if (!release.ok) failed.push(m.ip);
    }));
    return failed;
  }

  async answering(pnns: readonly number[], timeoutMs: number): Promise<number[]> {
    const client = await this.connected();
    // GET_RUNSTATE: a cheap control every ctdbd (and the embedded daemon) answers in its data, not its status.
    const answers = await Promise.all(pnns.map(async (pnn) => ((await sendControl(client, Control.GET_RUNSTATE, pnn, { timeoutMs })).ok ? pnn : undefined)));
    return answers.filter((p): p is number => p !== undefined);
  }

  async nodeFlags(): Promise<string> {
    const client = await this.connected();
    const map = await sendControl(client, Control.GET_NODEMAP, client.pnn, { timeoutMs: 1000 });
    if (!map.ok) throw new Error(`GET_NODEMAP failed (status ${map.status})`);
    return (map.value as NodeMap).nodes.map((n) => `${n.pnn}:${n.flags}`).join(' ');
  }

  /** Active nodes from the node map alone (a whole gather here would add N x 2 controls before every run). */
  private async activeNodes(client: LegacyClient, scope?: RunScope): Promise<number[]> {
    const map = await sendControl(client, Control.GET_NODEMAP, client.pnn, { timeoutMs: 2000 });
    if (!map.ok) throw new Error(`GET_NODEMAP failed (status ${map.status})`);
    const silent = new Set(scope?.unreachable ?? []);
    return (map.value as NodeMap).nodes.filter((n) => (n.flags & NodeFlag.INACTIVE) === 0 && !silent.has(n.pnn)).map((n) => n.pnn);
  }

  async releaseHosted(): Promise<string[]> {
    const client = await this.connected();
    const self = client.pnn;
    const list = await sendControl(client, Control.GET_PUBLIC_IPS, self, { timeoutMs: 2000 });
    if (!list.ok) throw new Error(`GET_PUBLIC_IPS on this node failed (status ${list.status})`);
    const hosted = (list.value as PublicIpList).ips.filter((ip) => ip.pnn === self).map((ip) => ip.addr.address);
    // RELEASE_IP to our own ctdbd, new owner unknown: what the takeover helper sends when nobody may host an
    // address, so the releaseip event runs and smbd hears CTDB_SRVID_RELEASE_IP.
    const outcomes = await Promise.all(hosted.map((ip) => sendControl(client, Control.RELEASE_IP, self,
      { timeoutMs: SELF_RELEASE_TIMEOUT_MS, data: publicIpPayload(ip, -1) })));
    const failed = hosted.filter((_, i) => !outcomes[i].ok);
    if (failed.length > 0) throw new Error(`RELEASE_IP failed on this node for ${failed.join(', ')}`);
    return hosted;
  }

  async close(): Promise<void> {
    await this.nativeHost?.stop();
    await this.client?.close();
  }

  /**
   * One client for the driver's life: it reconnects by itself and registers
   * the lease's reply port again, so a ctdbd restart costs nothing but time.
   */
  private async connected(): Promise<LegacyClient> {
    if (this.client?.connected) return this.client;
    if (this.client) throw new Error(`ctdbd at ${this.opts.socketPath} is not connected (${this.client.state})`);
    this.connecting ??= (async () => {
      const client = new LegacyClient({ socketPath: this.opts.socketPath, logger: this.opts.logger, reconnect: true });
      try {
        await client.connect();
        this.client = client;
        return client;
      } catch (err) {
        await client.close().catch(() => undefined);
        throw err;
      } finally {
        this.connecting = undefined;
      }
    })();
    return this.connecting;
  }
}
