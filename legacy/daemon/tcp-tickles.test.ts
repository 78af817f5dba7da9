import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../common/log.ts';
import { Control } from '../protocol/controls.ts';
import { decodeControlReply } from '../protocol/control-payloads.ts';
import { connectionDef, publicIpDef, tickleListDef, type Connection, type TickleList } from '../protocol/types/public-ip.ts';
import { sockAddrDef } from '../protocol/types/sock-addr.ts';
import type { IpEvent } from './ip-events.ts';
import { canonicalAddr, ConnectionTable, TickleLimitError } from './tcp-connections.ts';
import { TickleTracker, type TickleHost } from './tcp-tickles.ts';
import { captureLog } from './testing/log-capture.ts';
import { RawClient } from './testing/raw-client.ts';
import { TestCluster } from './testing/test-cluster.ts';

const log = silentLogger('test');
const v4 = (address: string, port: number) => ({ family: 'inet' as const, address, port });
/** smbd's orientation: src the client, dst the public address. */
const conn = (client: string, port: number, server = '10.78.1.1', serverPort = 445): Connection =>
  ({ src: v4(client, port), dst: v4(server, serverPort) });

describe('ConnectionTable', () => {
  it('keeps connections per public address once each, lists them by port, removes them', () => {
    const t = new ConnectionTable();
    expect(t.add(conn('10.9.0.1', 40000))).toBe(true);
    expect(t.add(conn('10.9.0.1', 40000)), 'the same connection again').toBe(false);
    t.add(conn('10.9.0.2', 40001, '10.78.1.1', 139));
    t.add(conn('10.9.0.3', 40002, '10.78.1.2'));
    expect(t.list('10.78.1.1').map((c) => c.src.address)).toEqual(['10.9.0.1', '10.9.0.2']);
    expect(t.list('10.78.1.1', 139).map((c) => c.src.address)).toEqual(['10.9.0.2']);
    expect(t.remove(conn('10.9.0.1', 40000))).toBe(true);
    expect(t.remove(conn('10.9.0.1', 40000))).toBe(false);
    expect(t.size).toBe(2);
    expect(t.takeChanged().sort()).toEqual(['10.78.1.1']);
  });

  it('an IPv4-mapped IPv6 address is its IPv4 address (ctdb_canonicalize_ip)', () => {
    expect(canonicalAddr({ family: 'inet6', address: '::ffff:10.9.0.1', port: 5 })).toEqual(v4('10.9.0.1', 5));
    expect(canonicalAddr({ family: 'inet6', address: 'fd00::1', port: 5 })).toEqual({ family: 'inet6', address: 'fd00::1', port: 5 });
    const t = new ConnectionTable();
    t.add({ src: { family: 'inet6', address: '::ffff:10.9.0.1', port: 1 }, dst: { family: 'inet6', address: '::ffff:10.78.1.1', port: 445 } });
    expect(t.list('10.78.1.1')).toEqual([conn('10.9.0.1', 1)]);
  });

  it('is bounded per address: one more is a TickleLimitError, also for a whole list and per client', () => {
    const t = new ConnectionTable(2);
    t.add(conn('10.9.0.1', 1));
    t.add(conn('10.9.0.1', 2));
    expect(() => t.add(conn('10.9.0.1', 3))).toThrow(TickleLimitError);
    expect(t.add(conn('10.9.0.1', 2)), 'a known one is still fine').toBe(false);
    t.add(conn('10.9.0.1', 3, '10.78.1.2'));
    expect(() => t.replace('10.78.1.3', [conn('a', 1, '10.78.1.3'), conn('a', 2, '10.78.1.3'), conn('a', 3, '10.78.1.3')]))
      .toThrow(/more than 2 TCP connections tracked for public address 10.78.1.3/);
    t.recordClient(7, conn('10.9.0.1', 1));
    t.recordClient(7, conn('10.9.0.1', 2));
    expect(() => t.recordClient(7, conn('10.9.0.1', 9))).toThrow(TickleLimitError);
  });

  it('remembers which client registered what, and hands it back once when the client goes', () => {
    const t = new ConnectionTable();
    t.recordClient(7, conn('10.9.0.1', 1));
    t.recordClient(7, conn('10.9.0.1', 1, '10.78.1.2'));
    t.recordClient(8, conn('10.9.0.2', 2));
    expect(t.clientGone(7)).toEqual([conn('10.9.0.1', 1), conn('10.9.0.1', 1, '10.78.1.2')]);
    expect(t.clientGone(7)).toEqual([]);
    expect(t.clientCount).toBe(1);
  });
});

describe('TickleTracker', () => {
  function fakeHost(hosted: string[], publicAddresses = ['10.78.1.1', '10.78.1.2']) {
    const sent: Array<{ pnn: number; opcode: number; data: Buffer }> = [];
    const host: TickleHost = {
      pnn: 0, log,
      hosts: (a) => (publicAddresses.includes(a) ? hosted.includes(a) : undefined),
      hostedAddresses: () => hosted,
      connectedPeers: () => [1, 2],
      sendNoReply: (pnn, opcode, data) => { sent.push({ pnn, opcode, data }); },
      updateIntervalMs: () => 60_000,
    };
    return { host, sent };
  }

  it('TCP_CLIENT: recorded and sent as TCP_ADD to every connected node; not hosted fails; not public is ignored', () => {
    const { host, sent } = fakeHost(['10.78.1.1']);
    const t = new TickleTracker(host);
    expect(t.tcpClient(7, conn('10.9.0.1', 40000))).toBe('recorded');
    expect(sent.map((s) => [s.pnn, s.opcode])).toEqual([[1, Control.TCP_ADD], [2, Control.TCP_ADD]]);
    expect(connectionDef.decodeExact(sent[0]!.data)).toEqual(conn('10.9.0.1', 40000));
    expect(t.tcpClient(7, conn('10.9.0.1', 40000, '10.78.1.2'))).toBe('not-hosted');
    expect(t.tcpClient(7, conn('10.9.0.1', 40000, '127.0.0.1'))).toBe('not-public');
    expect(t.getList(v4('10.78.1.1', 0))?.connections).toEqual([conn('10.9.0.1', 40000)]);
    expect(t.getList(v4('10.99.0.1', 0))).toBeUndefined();
  });

  it('a client going away takes its connections along (TCP_REMOVE to the others), except on addresses released meanwhile', () => {
    const hosted = ['10.78.1.1', '10.78.1.2'];
    const { host, sent } = fakeHost(hosted);
    const t = new TickleTracker(host);
    t.tcpClient(7, conn('10.9.0.1', 1));
    t.tcpClient(7, conn('10.9.0.1', 2, '10.78.1.2'));
    t.tcpClient(8, conn('10.9.0.2', 3));
    hosted.splice(1, 1); // 10.78.1.2 released: its new host will tickle that client
    sent.length = 0;
    t.clientGone(7);
    expect(sent.map((s) => [s.pnn, s.opcode])).toEqual([[1, Control.TCP_REMOVE], [2, Control.TCP_REMOVE]]);
    expect(t.table.list('10.78.1.1')).toEqual([conn('10.9.0.2', 3)]);
    expect(t.table.list('10.78.1.2')).toEqual([conn('10.9.0.1', 2, '10.78.1.2')]);
  });

  it('a local client beyond the bound gets a typed error (and the tracker counts it); peers get status -1', () => {
    const { host } = fakeHost(['10.78.1.1']);
    const t = new TickleTracker(host, 2);
    t.tcpClient(7, conn('10.9.0.1', 1));
    t.tcpClient(7, conn('10.9.0.1', 2));
    expect(() => t.tcpClient(7, conn('10.9.0.1', 3))).toThrow(TickleLimitError);
    expect(t.peerAdd(conn('10.9.0.1', 4), false)).toBe(-1);
    expect(t.refused).toBe(2);
    expect(t.table.size).toBe(2);
  });

  it('a flood of refusals writes one log line per 10 s, not one each', () => {
    const { logger, lines } = captureLog('tickles');
    const { host } = fakeHost(['10.78.1.1']);
    const t = new TickleTracker({ ...host, log: logger }, 1);
    t.tcpClient(7, conn('10.9.0.1', 1));
    for (let port = 2; port < 50; port++) expect(() => t.tcpClient(7, conn('10.9.0.1', port))).toThrow(TickleLimitError);
    for (let port = 2; port < 50; port++) t.tcpClient(7, conn('10.9.0.1', port, '10.99.0.1'));
    expect(t.refused).toBe(48);
    expect(lines.map((l) => l.msg)).toEqual([
      'tcp connection not tracked: too many for this public address', 'tcp client for an address that is not a public address: not tracked',
    ]);
  });

  it('TCP_ADD / TCP_REMOVE / SET_TCP_TICKLE_LIST from peers, with ctdbd statuses', () => {
    const { host } = fakeHost(['10.78.1.1']);
    const t = new TickleTracker(host);
    expect(t.peerAdd(conn('10.9.0.1', 1, '10.78.1.2'), false)).toBe(0);
    expect(t.peerAdd(conn('10.9.0.1', 1, '10.99.0.1'), false), 'not a public address').toBe(-1);
    const list = (address: string, ...cs: Connection[]): TickleList => ({ addr: v4(address, 0), connections: cs });
    expect(t.setList(list('10.78.1.2', conn('10.9.0.5', 5, '10.78.1.2')))).toBe(0);
    expect(t.table.list('10.78.1.2')).toEqual([conn('10.9.0.5', 5, '10.78.1.2')]);
    expect(t.setList(list('10.78.1.1', conn('10.9.0.5', 5))), 'our own address: ignored').toBe(0);
    expect(t.table.list('10.78.1.1')).toEqual([]);
    expect(t.setList(list('10.99.0.1')), 'not a public address').toBe(1);
    expect(t.peerRemove(conn('10.9.0.5', 5, '10.78.1.2'))).toBe(0);
    expect(t.table.list('10.78.1.2')).toEqual([]);
  });

  it('periodic update: only hosted addresses whose list changed; STARTUP (force): every hosted one', () => {
    const { host, sent } = fakeHost(['10.78.1.1']);
    const t = new TickleTracker(host);
    t.tcpClient(7, conn('10.9.0.1', 1));
    t.peerAdd(conn('10.9.0.9', 9, '10.78.1.2'), true);
    t.table.remove(conn('10.9.0.1', 1)); // changed
    sent.length = 0;
    t.sendUpdates(false);
    expect(sent.map((s) => [s.pnn, s.opcode])).toEqual([[1, Control.SET_TCP_TICKLE_LIST], [2, Control.SET_TCP_TICKLE_LIST]]);
    expect(tickleListDef.decodeExact(sent[0]!.data)).toEqual({ addr: v4('10.78.1.1', 0), connections: [] });
    sent.length = 0;
    t.sendUpdates(false);
    expect(sent, 'nothing changed since').toEqual([]);
    t.sendUpdates(true);
    expect(sent).toHaveLength(2);
  });

  it('after a takeover is announced the list is handed over and starts afresh', () => {
    const { host } = fakeHost(['10.78.1.1']);
    const t = new TickleTracker(host);
    t.peerAdd(conn('10.9.0.1', 1), false);
    expect(t.forAnnounce('10.78.1.1')).toEqual([conn('10.9.0.1', 1)]);
    t.announced('10.78.1.1');
    expect(t.forAnnounce('10.78.1.1')).toEqual([]);
  });
});

describe('embedded daemons: connection tracking across nodes', () => {
  const events: Array<{ pnn?: number; e: IpEvent }> = [];
  let cluster: TestCluster;
  const clients: RawClient[] = [];
  const open = async (pnn: number) => {
    const c = await RawClient.open(cluster.socketPath(pnn));
    clients.push(c);
    return c;
  };
  const ip = (pnn: number, address: string) => publicIpDef.encode({ pnn, addr: v4(address, 0) });
  async function tickles(c: RawClient, destnode: number, address: string): Promise<Connection[]> {
    const r = await c.control(Control.GET_TCP_TICKLE_LIST, { destnode, data: sockAddrDef.encode({ addr: v4(address, 0) }) });
    expect(r.status).toBe(0);
    return (decodeControlReply(Control.GET_TCP_TICKLE_LIST, r.data) as TickleList).connections;
  }

  beforeAll(async () => {
    cluster = await TestCluster.create({
      nodes: 2,
      publicAddresses: '10.78.1.1/24 lo\n10.78.1.2/24 lo\n',
      ipEvents: { run: async (e) => { events.push({ e }); } },
    });
    await cluster.startAll();
    await cluster.until(() => cluster.settled(), 15_000, 'cluster settled');
  }, 30_000);

  afterAll(async () => {
    for (const c of clients) await c.close();
    await cluster?.destroy();
  });

  it('smbd-like TCP_CLIENT on the host reaches the other node; gettickles lists it on both; its disconnect removes it on both', async () => {
    const admin = await open(0);
    expect((await admin.control(Control.TAKEOVER_IP, { destnode: 0, data: ip(0, '10.78.1.1') })).status).toBe(0);
    const smbd = await open(0);
    expect((await smbd.control(Control.TCP_CLIENT, { data: connectionDef.encode(conn('10.9.0.1', 40000)) })).status).toBe(0);
    expect((await smbd.control(Control.TCP_CLIENT, { data: connectionDef.encode(conn('10.9.0.1', 40001, '10.78.1.2')) })).status,
      'an address this node does not host').toBe(-1);
    expect(await tickles(admin, 0, '10.78.1.1')).toEqual([conn('10.9.0.1', 40000)]);
    await vi.waitFor(async () => expect(await tickles(admin, 1, '10.78.1.1')).toEqual([conn('10.9.0.1', 40000)]), { timeout: 5000 });
    const notPublic = await admin.control(Control.GET_TCP_TICKLE_LIST, { data: sockAddrDef.encode({ addr: v4('10.99.0.1', 0) }) });
    expect(notPublic.status).toBe(1);
    await smbd.close();
    await vi.waitFor(async () => {
      expect(await tickles(admin, 0, '10.78.1.1')).toEqual([]);
      expect(await tickles(admin, 1, '10.78.1.1')).toEqual([]);
    }, { timeout: 5000 });
  });

  it('a node that restarts learns the lists of the addresses the others host (STARTUP once it runs)', async () => {
    const admin = await open(0);
    expect((await admin.control(Control.TAKEOVER_IP, { destnode: 0, data: ip(0, '10.78.1.2') })).status).toBe(0);
    const smbd = await open(0);
    expect((await smbd.control(Control.TCP_CLIENT, { data: connectionDef.encode(conn('10.9.0.3', 40003, '10.78.1.2')) })).status).toBe(0);
    await cluster.stopNode(1);
    await cluster.startNode(1);
    await cluster.until(() => cluster.settled(), 15_000, 'cluster settled again');
    expect(cluster.daemons[1]!.state.runState).toBe(5);
    await vi.waitFor(async () => expect(await tickles(admin, 1, '10.78.1.2')).toEqual([conn('10.9.0.3', 40003, '10.78.1.2')]), { timeout: 5000 });
    expect((await admin.control(Control.RELEASE_IP, { destnode: 0, data: ip(0xffffffff, '10.78.1.2') })).status).toBe(0);
    await smbd.close();
  });

  it('the taker gets the connections in its takeip event, and its list starts afresh', async () => {
    const admin = await open(1);
    const smbd = await open(0);
    expect((await smbd.control(Control.TCP_CLIENT, { data: connectionDef.encode(conn('10.9.0.2', 40002)) })).status).toBe(0);
    await vi.waitFor(async () => expect(await tickles(admin, 1, '10.78.1.1')).toHaveLength(1), { timeout: 5000 });
    expect((await admin.control(Control.RELEASE_IP, { destnode: 0, data: ip(1, '10.78.1.1') })).status).toBe(0);
    // smbd on the old host exits after the release: its connection stays known for the taker.
    await smbd.close();
    events.length = 0;
    expect((await admin.control(Control.TAKEOVER_IP, { destnode: 1, data: ip(1, '10.78.1.1') })).status).toBe(0);
    expect(events.map((x) => x.e)).toEqual([{
      event: 'takeip', iface: 'lo', address: '10.78.1.1', prefixLength: 24,
      connections: [{ client: { address: '10.9.0.2', port: 40002 }, server: { address: '10.78.1.1', port: 445 } }],
    }]);
    expect(await tickles(admin, 1, '10.78.1.1')).toEqual([]);
  });
});
