import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlFlag, Node, Operation } from '../protocol/constants.ts';
import { Control } from '../protocol/controls.ts';
import { Srvid } from '../protocol/srvid.ts';
import type { ReplyCall, ReplyControl } from '../protocol/packets.ts';
import { NO_DATABASES } from './controls/databases.ts';
import { RawClient } from './testing/raw-client.ts';
import { TestCluster } from './testing/test-cluster.ts';

/**
 * The unix-socket face of one embedded node (behaviour.md §1), with a raw
 * client so that header fields and malformed input can be checked exactly.
 * The other nodes of the 3-node nodes list are not running, as when a node
 * starts first.
 */

let cluster: TestCluster;
const clients: RawClient[] = [];

async function client(): Promise<RawClient> {
  const c = await RawClient.open(cluster.socketPath(0));
  clients.push(c);
  return c;
}

beforeAll(async () => {
  cluster = await TestCluster.create({ nodes: 3 });
  await cluster.startNode(0);
});

afterAll(async () => {
  for (const c of clients) await c.close();
  await cluster.destroy();
});

describe('client face', () => {
  it('answers GET_PNN to CURRENT_NODE with the PNN in status, reqid echoed, srcnode = own PNN, length padded', async () => {
    const c = await client();
    const r = await c.control(Control.GET_PNN, { destnode: Node.CURRENT });
    expect(r.status).toBe(0);
    expect(r.destnode).toBe(0);
    expect(r.srcnode).toBe(0);
    expect(r.length! % 8).toBe(0);
    expect(r.length).toBe(48);
  });

  it('accepts unpadded (smbd-style) packets', async () => {
    const c = await client();
    const r = await c.control(Control.GET_PID, { padding: 'none' });
    expect(r.status).toBe(process.pid);
  });

  it('socket is mode 0700', async () => {
    const { statSync } = await import('node:fs');
    expect(statSync(cluster.socketPath(0)).mode & 0o777).toBe(0o700);
  });

  it('PING counts connected clients plus the recovery daemon; rejects a payload', async () => {
    const a = await client();
    const b = await client();
    const r = await a.control(Control.PING);
    expect(r.status).toBe(cluster.daemons[0]!.clientFace.count + 1);
    expect(r.status).toBeGreaterThanOrEqual(3);
    const bad = await b.control(Control.PING, { data: Buffer.from('abcd') });
    expect(bad.status).toBe(-1);
    expect(bad.data.length).toBe(0);
  });

  it('a control to an out-of-range or disconnected node fails at once with ctdbd\'s text', async () => {
    const c = await client();
    for (const dest of [7, 1, Node.MULTICAST]) {
      const r = await c.control(Control.GET_PNN, { destnode: dest });
      expect(r.status).toBe(-1);
      expect(r.errorMessage.toString()).toBe('ctdb_control to disconnected node');
    }
  });

  it('a broadcast control without NOREPLY gets no reply at all; with NOREPLY it runs', async () => {
    const c = await client();
    const p = c.controlPacket(Control.GET_PNN, { destnode: Node.BROADCAST_ALL });
    c.send(p);
    expect(await c.nothing((r) => r.operation === Operation.REPLY_CONTROL && r.reqid === p.reqid, 300)).toBe(true);
    // NOREPLY broadcast of SET_DEBUG takes effect on this node.
    const lvl = Buffer.alloc(4);
    lvl.writeInt32LE(5);
    c.send(c.controlPacket(Control.SET_DEBUG, { destnode: Node.BROADCAST_CONNECTED, data: lvl, flags: ControlFlag.NOREPLY }));
    const r = await c.control(Control.GET_DEBUG);
    expect(r.data.readInt32LE(0)).toBe(5);
    lvl.writeInt32LE(3);
    await c.control(Control.SET_DEBUG, { data: lvl });
  });

  it('unknown opcodes answer -1 without data or text', async () => {
    const c = await client();
    for (const op of [2, 92, 200, Control.GET_RECMASTER]) {
      const r = await c.control(op);
      expect(r.status).toBe(-1);
      expect(r.data.length).toBe(0);
      expect(r.errorMessage.length).toBe(0);
    }
  });

  it('database controls fail with a clear error; GET_DBMAP is an empty map', async () => {
    const c = await client();
    const attach = await c.control(Control.DB_ATTACH, { data: Buffer.from('foo.tdb\0') });
    expect(attach.status).toBe(-1);
    expect(attach.errorMessage.toString()).toContain(NO_DATABASES);
    const map = await c.control(Control.GET_DBMAP);
    expect(map.status).toBe(0);
    expect(map.data.equals(Buffer.from([0, 0, 0, 0]))).toBe(true);
  });

  it('REQ_CALL gets a REPLY_CALL with status -1 and the client\'s reqid', async () => {
    const c = await client();
    const reqid = c.allocReqid();
    c.send({
      operation: Operation.REQ_CALL, generation: 0, destnode: Node.CURRENT, srcnode: 0, reqid, flags: 1, dbId: 0x1234,
      callId: 0xff000001, hopcount: 0, key: Buffer.from('key'), callData: Buffer.alloc(0),
    });
    const r = await c.next((p) => p.operation === Operation.REPLY_CALL && p.reqid === reqid) as ReplyCall;
    expect(r.status).toBe(-1);
  });

  it('drops packets with bad magic or version but keeps the connection', async () => {
    const c = await client();
    const bad = Buffer.alloc(64);
    bad.writeUInt32LE(64, 0);
    bad.writeUInt32LE(0x12345678, 4);
    c.write(bad);
    const badVersion = Buffer.alloc(64);
    badVersion.writeUInt32LE(64, 0);
    badVersion.writeUInt32LE(0x43544442, 4);
    badVersion.writeUInt32LE(2, 8);
    c.write(badVersion);
    const r = await c.control(Control.GET_PNN);
    expect(r.status).toBe(0);
    expect(c.closed).toBe(false);
  });

  it('consumes and drops a packet shorter than the header; length 0 kills the connection', async () => {
    const c = await client();
    const short = Buffer.alloc(16);
    short.writeUInt32LE(16, 0);
    c.write(short);
    expect((await c.control(Control.GET_PNN)).status).toBe(0);
    const d = await client();
    d.write(Buffer.alloc(64));
    await cluster.until(() => d.closed, 2000, 'connection closed');
    // Others never notice.
    expect((await c.control(Control.GET_PNN)).status).toBe(0);
  });

  it('an oversized length is skipped without buffering, the stream continues after it', async () => {
    const c = await client();
    const huge = Buffer.alloc(32);
    huge.writeUInt32LE(70 * 1024 * 1024, 0);
    c.write(huge);
    const chunk = Buffer.alloc(1024 * 1024);
    let left = 70 * 1024 * 1024 - 32;
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      c.write(chunk.subarray(0, n));
      left -= n;
    }
    const r = await c.control(Control.GET_PNN, { timeoutMs: 10_000 });
    expect(r.status).toBe(0);
  });

  it('half packets and disconnect mid-request do not disturb other clients', async () => {
    const a = await client();
    const b = await client();
    const full = Buffer.alloc(64);
    full.writeUInt32LE(64, 0);
    full.writeUInt32LE(0x43544442, 4);
    full.writeUInt32LE(1, 8);
    full.writeUInt32LE(Operation.REQ_CONTROL, 16);
    a.write(full.subarray(0, 20));
    await a.close();
    const junk = await client();
    junk.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    const r = await b.control(Control.GET_PNN);
    expect(r.status).toBe(0);
  });

  it('registers SRVIDs as a multiset, delivers one copy per registration, DEREGISTER ENOENT = 2', async () => {
    const a = await client();
    const b = await client();
    const srvid = 0xae00000000001234n;
    expect((await a.control(Control.REGISTER_SRVID, { srvid })).status).toBe(0);
    expect((await a.control(Control.REGISTER_SRVID, { srvid })).status).toBe(0);
    expect((await b.control(Control.REGISTER_SRVID, { srvid })).status).toBe(0);
    const sender = await client();
    sender.message(Node.CURRENT, srvid, Buffer.from('hello'), 'none');
    const m1 = await a.nextMessage(srvid);
    const m2 = await a.nextMessage(srvid);
    const m3 = await b.nextMessage(srvid);
    for (const m of [m1, m2, m3]) {
      expect(m.data.toString()).toBe('hello');
      expect(m.reqid).toBe(0);
      expect(m.destnode).toBe(0);
      expect(m.srcnode).toBe(0);
      expect(m.length! % 8).toBe(0);
    }
    expect((await a.control(Control.DEREGISTER_SRVID, { srvid })).status).toBe(0);
    expect((await a.control(Control.DEREGISTER_SRVID, { srvid })).status).toBe(0);
    expect((await a.control(Control.DEREGISTER_SRVID, { srvid })).status).toBe(2);
  });

  it('SRVID_ALL receives every message; nobody listening = silently discarded', async () => {
    const all = await client();
    await all.control(Control.REGISTER_SRVID, { srvid: Srvid.ALL });
    const s = await client();
    s.message(0, 0xae00000000009999n, Buffer.from('x'));
    const m = await all.nextMessage(0xae00000000009999n);
    expect(m.data.toString()).toBe('x');
    await all.control(Control.DEREGISTER_SRVID, { srvid: Srvid.ALL });
  });

  it('removes registrations when a client disconnects', async () => {
    const a = await client();
    const srvid = 0xae00000000004444n;
    await a.control(Control.REGISTER_SRVID, { srvid });
    await a.control(Control.TUNNEL_REGISTER, { srvid: 0xffffffff00000044n });
    const d = cluster.daemons[0]!;
    expect(d.srvids.hasListeners(srvid)).toBe(true);
    await a.close();
    await cluster.until(() => !d.srvids.hasListeners(srvid), 2000, 'cleanup');
    expect(d.tunnels.holder(0xffffffff00000044n)).toBeUndefined();
  });

  it('tunnels: one holder per id (-1 on duplicate, also the same client), local delivery with reqid 0', async () => {
    const a = await client();
    const b = await client();
    const id = 0xffffffff00000001n;
    expect((await a.control(Control.TUNNEL_REGISTER, { srvid: id })).status).toBe(0);
    expect((await a.control(Control.TUNNEL_REGISTER, { srvid: id })).status).toBe(-1);
    expect((await b.control(Control.TUNNEL_REGISTER, { srvid: id })).status).toBe(-1);
    expect((await b.control(Control.TUNNEL_DEREGISTER, { srvid: id })).status).toBe(-1);
    a.tunnel(0, id, Buffer.from('ping'), 0x10, 144);
    const t = await a.nextTunnel(id);
    expect(t.reqid).toBe(0);
    expect(t.srcnode).toBe(0);
    expect(t.destnode).toBe(0);
    expect(t.flags).toBe(0x10);
    expect(t.data.toString()).toBe('ping');
    // CURRENT_NODE and broadcast destinations are dropped; so is an id not registered here.
    a.tunnel(Node.CURRENT, id, Buffer.from('no'));
    a.tunnel(Node.BROADCAST_ALL, id, Buffer.from('no'));
    b.tunnel(0, 0xffffffff00000099n, Buffer.from('no'));
    expect(await a.nothing((p) => p.operation === Operation.REQ_TUNNEL, 300)).toBe(true);
    expect((await a.control(Control.TUNNEL_DEREGISTER, { srvid: id })).status).toBe(0);
  });

  it('PROCESS_EXISTS and CHECK_PID_SRVID find connected clients by peer pid', async () => {
    const c = await client();
    const srvid = 0xae00000000007777n;
    await c.control(Control.REGISTER_SRVID, { srvid });
    const pid = Buffer.alloc(4);
    pid.writeInt32LE(process.pid);
    expect((await c.control(Control.PROCESS_EXISTS, { data: pid })).status).toBe(0);
    pid.writeInt32LE(1);
    expect((await c.control(Control.PROCESS_EXISTS, { data: pid })).status).toBe(-1);
    const ps = Buffer.alloc(12);
    ps.writeInt32LE(process.pid, 0);
    ps.writeBigUInt64LE(srvid, 4);
    expect((await c.control(Control.CHECK_PID_SRVID, { data: ps })).status).toBe(0);
    ps.writeBigUInt64LE(srvid + 1n, 4);
    expect((await c.control(Control.CHECK_PID_SRVID, { data: ps })).status).toBe(-1);
    expect((await c.control(Control.CHECK_PID_SRVID, { data: pid })).status).toBe(-1);
  });

  it('tunables: case-insensitive get, -22 for unknown names, obsolete set = 1, list has a leading colon', async () => {
    const c = await client();
    const name = (s: string) => {
      const b = Buffer.alloc(4 + s.length + 1);
      b.writeUInt32LE(s.length + 1);
      b.write(s, 4);
      return b;
    };
    const g = await c.control(Control.GET_TUNABLE, { data: name('recovertimeout') });
    expect(g.status).toBe(0);
    expect(g.data.readUInt32LE(0)).toBe(30);
    expect((await c.control(Control.GET_TUNABLE, { data: name('NoSuchTunable') })).status).toBe(-22);
    const set = (s: string, v: number) => Buffer.concat([Buffer.from([v, 0, 0, 0]), name(s)]);
    expect((await c.control(Control.SET_TUNABLE, { data: set('VacuumLimit', 7) })).status).toBe(1);
    expect((await c.control(Control.SET_TUNABLE, { data: set('Bogus', 7) })).status).toBe(-1);
    const list = await c.control(Control.LIST_TUNABLES);
    const text = list.data.toString('utf8', 4, list.data.length - 1);
    expect(text.startsWith(':SeqnumInterval:ControlTimeout:')).toBe(true);
    expect(text).not.toContain('VacuumLimit');
    const all = await c.control(Control.GET_ALL_TUNABLES);
    expect(all.data.length).toBe(248);
  });

  it('disconnecting clients with outstanding forwarded state is harmless', async () => {
    const c = await client();
    c.send(c.controlPacket(Control.GET_NODEMAP));
    await c.close();
    const d = await client();
    const r = await d.control(Control.GET_NODEMAP) as ReplyControl;
    expect(r.status).toBe(0);
    expect(r.data.readUInt32LE(0)).toBe(3);
  });
});
