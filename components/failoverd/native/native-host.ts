import { isIP } from 'node:net';
import type { LegacyClient } from '../../../legacy/client/client.ts';
import type { LegacyMessage } from '../../../legacy/client/events.ts';
import type { Logger } from '../../../legacy/common/log.ts';
import type { PublicAddress } from '../../../legacy/config/public-addresses.ts';
import type { Endpoint, IpEvent, TickleConnection } from '../../../legacy/daemon/ip-events.ts';
import { MAX_CONNECTIONS_PER_ADDRESS } from '../../../legacy/daemon/tcp-connections.ts';
import type { HostedAddress } from '../../../legacy/daemon/public-ips.ts';
import { Node } from '../../../legacy/protocol/constants.ts';
import { BridgeSrvid } from '../../../legacy/protocol/srvid.ts';
import { sockAddrOf } from '../../../legacy/daemon/controls/info.ts';
import type { HostExecutor } from './executor.ts';

/**
 * failoverd's native mode on one node: the executor of the embedded
 * daemon's public IP events. It registers on BridgeSrvid.IP_EVENT of its
 * local daemon, carries each event out on the host (one at a time, in the
 * order they came) and answers on IP_EVENT_DONE; every `checkIntervalMs` it
 * makes the host carry exactly the addresses the daemon says this node
 * hosts (drift: an address removed by hand, a crash between add and answer).
 * Requests are validated here, where they are consumed.
 */

export type NativeLink = Pick<LegacyClient, 'registerSrvid' | 'sendMessage' | 'getPublicIps' | 'getPublicIpInfo' | 'getPnn'>;

export interface NativeHostOptions {
  link: NativeLink;
  executor: Pick<HostExecutor, 'execute' | 'reconcile'>;
  /** This node's public_addresses (only these are ever touched). */
  publicAddresses: readonly PublicAddress[];
  log: Logger;
  checkIntervalMs: number;
}

export class IpEventRequestError extends Error {
  override name = 'IpEventRequestError';
}

/** Events waiting beyond this are refused (a local client flooding IP_EVENT cannot grow the queue without bound). */
export const MAX_QUEUED_EVENTS = 256;

interface Request {
  id: number;
  event: IpEvent;
}

export class NativeHost {
  private queue: Promise<void> = Promise.resolve();
  private queued = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private subscription: { close(): Promise<void> } | undefined;
  /** Events carried out and drift repairs made (status). */
  readonly counters = { events: 0, failedEvents: 0, repairs: 0 };

  constructor(private readonly opts: NativeHostOptions) {}

  /** Starts executing (idempotent); the first drift check follows at once. */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    this.subscription = await this.opts.link.registerSrvid(BridgeSrvid.IP_EVENT, (m) => this.onRequest(m));
    this.timer = setTimeout(() => this.runCheck(), 0);
  }

  /** Stops executing (idempotent): the daemon sees no executor any more and keeps its record only. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const sub = this.subscription;
    this.subscription = undefined;
    await sub?.close();
    await this.queue;
  }

  /** One drift check now (also what the timer runs). */
  check(): Promise<void> {
    return this.enqueue(async () => {
      const hosted = await this.hostedByThisNode();
      const drift = await this.opts.executor.reconcile(hosted, this.opts.publicAddresses);
      this.counters.repairs += drift.missing.length + drift.stray.length;
    });
  }

  private onRequest(m: LegacyMessage): void {
    let req: Request;
    try {
      req = parseRequest(m.data);
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message, bytes: m.data.length }, 'malformed ip event request: ignored');
      return;
    }
    // Only this node's configured public addresses are ever touched, whoever sent the request.
    const e = req.event;
    if (e.event !== 'ipreallocated' && !this.opts.publicAddresses.some((p) => p.address === e.address)) {
      this.refuse(req.id, `${e.address} is not a public address of this node`);
      return;
    }
    if (this.queued >= MAX_QUEUED_EVENTS) {
      this.refuse(req.id, `more than ${MAX_QUEUED_EVENTS} events waiting`);
      return;
    }
    this.queued++;
    void this.enqueue(async () => {
      this.queued--;
      let error: string | undefined;
      try {
        await this.opts.executor.execute(req.event);
        this.counters.events++;
      } catch (err) {
        error = (err as Error).message;
        this.counters.failedEvents++;
        this.opts.log.error({ event: req.event, err: error }, 'public IP event failed on this host');
      }
      const answer = error === undefined ? { id: req.id, ok: true } : { id: req.id, ok: false, error };
      this.opts.link.sendMessage(Node.CURRENT, BridgeSrvid.IP_EVENT_DONE, Buffer.from(JSON.stringify(answer)));
    });
  }

  private refuse(id: number, error: string): void {
    this.counters.failedEvents++;
    this.opts.log.warn({ id, err: error }, 'ip event refused');
    this.opts.link.sendMessage(Node.CURRENT, BridgeSrvid.IP_EVENT_DONE, Buffer.from(JSON.stringify({ id, ok: false, error })));
  }

  private enqueue(job: () => Promise<void>): Promise<void> {
    const next = this.queue.then(job, job);
    this.queue = next.catch((err) => { this.opts.log.warn({ err: (err as Error).message }, 'native host job failed'); });
    return next;
  }

  private runCheck(): void {
    if (this.stopped) return;
    this.check().catch(() => undefined).finally(() => {
      if (this.stopped) return;
      this.timer = setTimeout(() => this.runCheck(), this.opts.checkIntervalMs);
      this.timer.unref();
    });
  }

  private async hostedByThisNode(): Promise<HostedAddress[]> {
    const pnn = await this.opts.link.getPnn();
    const { ips } = await this.opts.link.getPublicIps();
    const out: HostedAddress[] = [];
    for (const ip of ips.filter((i) => i.pnn === pnn)) {
      const info = await this.opts.link.getPublicIpInfo(sockAddrOf(ip.addr.address, 0));
      const iface = info.ifaces[info.activeIdx]?.name;
      const configured = this.opts.publicAddresses.find((p) => p.address === ip.addr.address);
      if (iface && configured) out.push({ address: ip.addr.address, prefixLength: configured.prefixLength, iface });
    }
    return out;
  }
}

export function parseRequest(data: Buffer): Request {
  let v: unknown;
  try {
    v = JSON.parse(data.toString('utf8'));
  } catch {
    throw new IpEventRequestError('not JSON');
  }
  if (typeof v !== 'object' || v === null) throw new IpEventRequestError('not an object');
  const r = v as Record<string, unknown>;
  if (!Number.isSafeInteger(r.id)) throw new IpEventRequestError('id missing');
  const id = r.id as number;
  if (r.event === 'ipreallocated') return { id, event: { event: 'ipreallocated' } };
  if (r.event !== 'takeip' && r.event !== 'releaseip' && r.event !== 'updateip') throw new IpEventRequestError(`unknown event ${String(r.event)}`);
  const { iface, address, prefixLength } = r;
  if (!isIfaceName(iface)) throw new IpEventRequestError('bad interface name');
  if (typeof address !== 'string' || !/^[0-9A-Fa-f:.]{2,45}$/.test(address) || isIP(address) === 0) throw new IpEventRequestError('bad address');
  if (!Number.isInteger(prefixLength) || (prefixLength as number) < 0 || (prefixLength as number) > 128) {
    throw new IpEventRequestError('bad prefix length');
  }
  const hosted = { iface, address, prefixLength: prefixLength as number };
  if (r.event === 'releaseip') return { id, event: { event: 'releaseip', ...hosted } };
  const connections = parseConnections(r.connections);
  const extra = connections.length > 0 ? { connections } : {};
  if (r.event === 'takeip') return { id, event: { event: 'takeip', ...hosted, ...extra } };
  if (!isIfaceName(r.oldIface)) throw new IpEventRequestError('bad old interface name');
  return { id, event: { event: 'updateip', oldIface: r.oldIface, ...hosted, ...extra } };
}

function isIfaceName(v: unknown): v is string {
  return typeof v === 'string' && /^[A-Za-z0-9_.:@-]{1,15}$/.test(v);
}

/** The connections to tickle (absent: none); bounded as the daemon bounds them. */
function parseConnections(v: unknown): TickleConnection[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new IpEventRequestError('connections is not a list');
  if (v.length > MAX_CONNECTIONS_PER_ADDRESS) throw new IpEventRequestError(`more than ${MAX_CONNECTIONS_PER_ADDRESS} connections`);
  const endpoint = (e: unknown): Endpoint => {
    const { address, port } = (typeof e === 'object' && e !== null ? e : {}) as Record<string, unknown>;
    if (typeof address !== 'string' || isIP(address) === 0) throw new IpEventRequestError('bad connection address');
    if (!Number.isInteger(port) || (port as number) < 0 || (port as number) > 0xffff) throw new IpEventRequestError('bad connection port');
    return { address, port: port as number };
  };
  return v.map((c: unknown) => {
    const { client, server } = (typeof c === 'object' && c !== null ? c : {}) as Record<string, unknown>;
    return { client: endpoint(client), server: endpoint(server) };
  });
}
