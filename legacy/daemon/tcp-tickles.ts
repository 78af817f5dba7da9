import type { Logger } from '../common/log.ts';
import { LimitedLog } from '../common/log-limiter.ts';
import { Control } from '../protocol/controls.ts';
import { connectionDef, tickleListDef, type Connection, type TickleList } from '../protocol/types/public-ip.ts';
import type { SockAddr } from '../protocol/types/sock-addr.ts';
import { canonicalAddr, canonicalConnection, ConnectionTable, MAX_CONNECTIONS_PER_ADDRESS, TickleLimitError } from './tcp-connections.ts';

/**
 * The node's side of connection tracking for tickle ACKs, as ctdbd 4.17
 * does it (ctdb_takeover.c): smbd's TCP_CLIENT on the hosting node is
 * recorded and sent as TCP_ADD to every other connected node, so the node
 * that takes the address over knows whom to tickle; a client that
 * disconnects takes its connections with it (here also sent as TCP_REMOVE
 * at once, as newer ctdbd does; 4.17 waits for the periodic update); every
 * TickleUpdateInterval the hosting node sends the whole list of each
 * address whose list changed (SET_TCP_TICKLE_LIST), and all of them when
 * another node starts (it sends STARTUP once it is RUNNING). The table
 * itself is tcp-connections.ts.
 */

/** What the tracker needs of its daemon. */
export interface TickleHost {
  readonly pnn: number;
  readonly log: Logger;
  /** Does this node host the public address? undefined: not one of its public addresses. */
  hosts(address: string): boolean | undefined;
  /** Public addresses this node hosts now. */
  hostedAddresses(): string[];
  /** The other nodes a broadcast to the connected ones reaches. */
  connectedPeers(): number[];
  /** A control to another node, without a reply. */
  sendNoReply(pnn: number, opcode: number, data: Buffer): void;
  /** TickleUpdateInterval in ms (read at every round: a tunable). */
  updateIntervalMs(): number;
}

export type TcpClientOutcome =
  /** Recorded and sent to the other nodes. */
  | 'recorded'
  /** Not a public address of this node: ignored, the control succeeds (ctdbd logs it). */
  | 'not-public'
  /** A public address another node hosts: the control fails, which tells smbd to drop the client. */
  | 'not-hosted';

const LOOPBACK = /^127\./;

export class TickleTracker {
  readonly table: ConnectionTable;
  private timer: NodeJS.Timeout | undefined;
  /** Refused additions (the bound was hit), for status and tests. */
  refused = 0;
  /** One line per kind of complaint per window (a flooding client must not flood the log). */
  private readonly complaints: LimitedLog;

  constructor(private readonly host: TickleHost, maxPerAddress = MAX_CONNECTIONS_PER_ADDRESS) {
    this.table = new ConnectionTable(maxPerAddress);
    this.complaints = new LimitedLog(host.log, { burst: 1 });
  }

  start(): void {
    this.stop();
    const round = () => {
      this.sendUpdates(false);
      this.timer = setTimeout(round, this.host.updateIntervalMs());
      this.timer.unref();
    };
    this.timer = setTimeout(round, this.host.updateIntervalMs());
    this.timer.unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** TCP_CLIENT from local client `clientId`. Throws TickleLimitError beyond the bound (logged here). */
  tcpClient(clientId: number, conn: Connection): TcpClientOutcome {
    const c = canonicalConnection(conn);
    const hosted = this.host.hosts(c.dst.address);
    if (hosted === undefined) {
      if (!LOOPBACK.test(c.dst.address)) {
        this.complaints.warn('not-public', { client: `${c.src.address}:${c.src.port}`, address: c.dst.address, clientId },
          'tcp client for an address that is not a public address: not tracked');
      }
      return 'not-public';
    }
    if (!hosted) {
      this.complaints.warn('not-hosted', { address: c.dst.address, clientId }, 'tcp client for a public IP this node does not host: failing it');
      return 'not-hosted';
    }
    try {
      this.table.add(c);
      this.table.recordClient(clientId, c);
    } catch (err) {
      this.refuse(err, { clientId });
      throw err;
    }
    this.host.log.debug({ client: `${c.src.address}:${c.src.port}`, address: `${c.dst.address}:${c.dst.port}`, clientId }, 'registered tcp client');
    this.broadcast(Control.TCP_ADD, connectionDef.encode(c));
    return 'recorded';
  }

  /** TCP_ADD / TCP_ADD_DELAYED_UPDATE from another node: the control's status. */
  peerAdd(conn: Connection, delayedUpdate: boolean): number {
    const c = canonicalConnection(conn);
    if (this.host.hosts(c.dst.address) === undefined) return -1;
    try {
      this.table.add(c, delayedUpdate);
    } catch (err) {
      this.refuse(err, {});
      return -1;
    }
    return 0;
  }

  /** TCP_REMOVE from another node (status 0, known or not). */
  peerRemove(conn: Connection): number {
    this.table.remove(conn);
    return 0;
  }

  /** A local client went away: its connections to addresses this node still hosts are forgotten, here and on the others. */
  clientGone(clientId: number): void {
    for (const c of this.table.clientGone(clientId)) {
      // An address released meanwhile keeps the record: its new host tickles it (ctdb_takeover_client_destructor_hook).
      if (this.host.hosts(c.dst.address) !== true) continue;
      if (this.table.remove(c)) this.broadcast(Control.TCP_REMOVE, connectionDef.encode(c));
    }
  }

  /** SET_TCP_TICKLE_LIST: the control's status (1: not a public address, as ctdbd). */
  setList(list: TickleList): number {
    const address = canonicalAddr(list.addr).address;
    const hosted = this.host.hosts(address);
    if (hosted === undefined) return 1;
    // The hosting node's own list is the truth; a list about it is redundant.
    if (hosted) return 0;
    try {
      this.table.replace(address, list.connections);
    } catch (err) {
      this.refuse(err, {});
      return -1;
    }
    return 0;
  }

  /** GET_TCP_TICKLE_LIST; undefined: not a public address (status 1). Port 0: all connections. */
  getList(addr: SockAddr): TickleList | undefined {
    const a = canonicalAddr(addr);
    if (this.host.hosts(a.address) === undefined) return undefined;
    return { addr, connections: this.table.list(a.address, a.port) };
  }

  /** The connections to tickle after taking `address` over. */
  forAnnounce(address: string): Connection[] {
    return this.table.list(address);
  }

  /** The takeover was announced: the list went to the tickles (ctdbd hands its array over and starts afresh). */
  announced(address: string): void {
    this.table.clear(address);
  }

  /**
   * This node reached RUNNING: STARTUP to every connected node, which answers
   * with the lists of the addresses it hosts, as ctdbd does after its
   * startup event (a restarted node would otherwise know none of them).
   */
  startedUp(): void {
    this.broadcast(Control.STARTUP, Buffer.alloc(0));
  }

  /** The periodic update (`force`: every hosted address, as after another node's STARTUP). */
  sendUpdates(force: boolean): void {
    const changed = new Set(this.table.takeChanged());
    const hosted = new Set(this.host.hostedAddresses());
    // Not hosted here: the flag waits until it is (ctdbd's tcp_update_needed stays set).
    for (const address of changed) if (!hosted.has(address)) this.table.markChanged(address);
    for (const address of hosted) {
      if (!force && !changed.has(address)) continue;
      const connections = this.table.list(address);
      const addr: SockAddr = { family: address.includes(':') ? 'inet6' : 'inet', address, port: 0 };
      this.broadcast(Control.SET_TCP_TICKLE_LIST, tickleListDef.encode({ addr, connections }));
      this.host.log.debug({ address, connections: connections.length }, 'sent tickle list update');
    }
  }

  private broadcast(opcode: number, data: Buffer): void {
    for (const pnn of this.host.connectedPeers()) this.host.sendNoReply(pnn, opcode, data);
  }

  private refuse(err: unknown, fields: Record<string, unknown>): void {
    if (!(err instanceof TickleLimitError)) throw err;
    this.refused++;
    this.complaints.warn('limit', { ...fields, address: err.address, limit: err.limit }, 'tcp connection not tracked: too many for this public address');
  }
}
