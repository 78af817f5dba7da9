import { afterEach, describe, expect, it } from 'vitest';
import { Node, NodeFlag, Operation } from '../protocol/constants.ts';
import { Control } from '../protocol/controls.ts';
import { Srvid } from '../protocol/srvid.ts';
import { nodeMapDef } from '../protocol/types/node.ts';
import { RawClient } from './testing/raw-client.ts';
import { TestCluster } from './testing/test-cluster.ts';

/**
 * Several in-process embedded nodes on 127.0.S.x linked over real TCP with
 * fast timers: links, election, leader broadcasts, flags, messages and
 * tunnels across nodes, node failure and rejoin.
 */

let cluster: TestCluster | undefined;
const clients: RawClient[] = [];

async function client(pnn: number): Promise<RawClient> {
  const c = await RawClient.open(cluster!.socketPath(pnn));
  clients.push(c);
  return c;
}

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await cluster?.destroy();
  cluster = undefined;
});

async function settledCluster(n = 3): Promise<TestCluster> {
  cluster = await TestCluster.create({ nodes: n });
  await cluster.startAll();
  await cluster.until(() => cluster!.settled(), 15_000, 'cluster settled');
  return cluster;
}

function leaderOf(c: TestCluster): number {
  return c.daemons.find((d) => d)!.recoverd.leader;
}

describe('embedded cluster', () => {
  it('links up, elects one leader, recovers to a common generation and VNN map', async () => {
    const c = await settledCluster(3);
    const gens = new Set(c.daemons.map((d) => d!.state.vnnMap.generation));
    expect(gens.size).toBe(1);
    expect([...gens][0]).not.toBe(1);
    for (const d of c.daemons) {
      expect(d!.state.vnnMap.map).toEqual([0, 1, 2]);
      expect(d!.state.runState).toBe(5);
      expect(d!.state.nodes.map((n) => n.flags)).toEqual([0, 0, 0]);
    }
  });

  it('election rule: an earlier priority_time wins, equal times go to the higher PNN, inactive senders lose', async () => {
    const c = await settledCluster(2);
    const r = c.daemons[0]!.recoverd;
    const t = r.priority;
    const em = (sec: number, usec: number, pnn: number, nodeFlags = 0) => ({ numConnected: 2, priorityTime: { sec, usec }, pnn, nodeFlags });
    expect(r.weWin(em(t.sec + 1, 0, 1))).toBe(true);
    expect(r.weWin(em(t.sec, t.usec + 1, 1))).toBe(true);
    expect(r.weWin(em(t.sec - 1, 0, 1))).toBe(false);
    expect(r.weWin(em(t.sec, t.usec, 1))).toBe(false);
    expect(c.daemons[1]!.recoverd.weWin(em(c.daemons[1]!.recoverd.priority.sec, c.daemons[1]!.recoverd.priority.usec, 0))).toBe(true);
    expect(r.weWin(em(t.sec - 1, 0, 1, NodeFlag.STOPPED))).toBe(true);
    // The elected leader is the node with the earliest priority time.
    const [p0, p1] = [c.daemons[0]!.recoverd.priority, c.daemons[1]!.recoverd.priority];
    const earliest = p0.sec < p1.sec || (p0.sec === p1.sec && p0.usec < p1.usec) ? 0 : 1;
    expect(leaderOf(c)).toBe(earliest);
  });

  it('the election message on the wire is the real 32-byte layout, broadcast to all nodes', async () => {
    const c = await settledCluster(2);
    const cl = await client(1);
    await cl.control(Control.REGISTER_SRVID, { srvid: Srvid.ELECTION });
    c.daemons[0]!.recoverd.forceElection();
    const m = await cl.nextMessage(Srvid.ELECTION, 3000);
    expect(m.data.length).toBe(32);
    expect(m.data.readUInt32LE(24)).toBe(0);
    expect(m.data.readUInt32LE(0)).toBe(2);
    await c.until(() => c.settled(), 10_000, 'settled after forced election');
  });

  it('a client learns the leader from the SRVID_LEADER broadcast, about once per interval', async () => {
    const c = await settledCluster(3);
    const cl = await client(1);
    await cl.control(Control.REGISTER_SRVID, { srvid: Srvid.LEADER });
    const m = await cl.nextMessage(Srvid.LEADER, 3000);
    expect(m.data.readUInt32LE(0)).toBe(leaderOf(c));
    expect(m.srcnode).toBe(1);
  });

  it('forwards controls to other nodes and maps the reply back (srcnode = local PNN)', async () => {
    await settledCluster(3);
    const cl = await client(0);
    const r = await cl.control(Control.GET_PNN, { destnode: 2 });
    expect(r.status).toBe(2);
    expect(r.srcnode).toBe(0);
    expect(r.destnode).toBe(0);
    const nm = await cl.control(Control.GET_NODEMAP, { destnode: 1 });
    const map = nodeMapDef.decode(nm.data);
    expect(map.nodes.map((n) => n.addr.address)).toEqual(cluster!.addresses);
    expect(map.nodes.every((n) => n.addr.port === cluster!.port)).toBe(true);
  });

  it('messages go to one node, to all, to connected; receivers see srcnode = their own daemon', async () => {
    await settledCluster(3);
    const srvid = 0xae00000000000042n;
    const rx = await Promise.all([0, 1, 2].map((pnn) => client(pnn)));
    for (const r of rx) await r.control(Control.REGISTER_SRVID, { srvid });
    const tx = await client(0);
    tx.message(2, srvid, Buffer.from('direct'), 'none');
    const d = await rx[2].nextMessage(srvid);
    expect(d.data.toString()).toBe('direct');
    expect(d.srcnode).toBe(2);
    expect(d.reqid).toBe(0);
    expect(await rx[1].nothing((p) => p.operation === Operation.REQ_MESSAGE, 200)).toBe(true);
    tx.message(Node.BROADCAST_ALL, srvid, Buffer.from('all'));
    for (const [pnn, r] of rx.entries()) {
      const m = await r.nextMessage(srvid);
      expect(m.data.toString()).toBe('all');
      expect(m.srcnode).toBe(pnn);
    }
    tx.message(Node.BROADCAST_CONNECTED, srvid, Buffer.from('conn'));
    for (const r of rx) expect((await r.nextMessage(srvid)).data.toString()).toBe('conn');
  });

  it('tunnels route to the holder on the destination node with ctdbd\'s quirks', async () => {
    await settledCluster(3);
    const id = 0xffffffff00000abcn;
    const a = await client(0);
    const b = await client(2);
    expect((await a.control(Control.TUNNEL_REGISTER, { srvid: id })).status).toBe(0);
    expect((await b.control(Control.TUNNEL_REGISTER, { srvid: id })).status).toBe(0);
    a.tunnel(2, id, Buffer.from('req'), 0x1, 144);
    const t = await b.nextTunnel(id);
    expect(t.data.toString()).toBe('req');
    expect(t.reqid).toBe(0);
    expect(t.srcnode).toBe(2);
    expect(t.destnode).toBe(0);
    expect(t.flags).toBe(1);
    // The sender must hold the id locally; the receiver needs a holder too.
    const c = await client(1);
    c.tunnel(2, 0xffffffff00000999n, Buffer.from('x'));
    a.tunnel(1, id, Buffer.from('nobody'));
    expect(await b.nothing((p) => p.operation === Operation.REQ_TUNNEL, 300)).toBe(true);
  });

  it('stop/continue and disable/enable reach every node through the leader; ban makes a node inactive', async () => {
    const c = await settledCluster(3);
    const cl = await client(0);
    expect((await cl.control(Control.STOP_NODE, { destnode: 1 })).status).toBe(0);
    await c.until(() => c.daemons.every((d) => (d!.state.node(1)!.flags & NodeFlag.STOPPED) !== 0), 5000, 'stopped everywhere');
    await c.until(() => c.daemons[0]!.state.vnnMap.map.join() === '0,2', 5000, 'vnnmap without node 1');
    expect((await cl.control(Control.CONTINUE_NODE, { destnode: 1 })).status).toBe(0);
    await c.until(() => c.settled(), 5000, 'settled after continue');
    expect((await cl.control(Control.DISABLE_NODE, { destnode: 2 })).status).toBe(0);
    await c.until(() => c.daemons.every((d) => d!.state.node(2)!.flags === NodeFlag.PERMANENTLY_DISABLED), 5000, 'disabled');
    expect((await cl.control(Control.ENABLE_NODE, { destnode: 2 })).status).toBe(0);
    await c.until(() => c.daemons.every((d) => d!.state.node(2)!.flags === 0), 5000, 'enabled');
    const ban = Buffer.alloc(8);
    ban.writeUInt32LE(1, 0);
    ban.writeUInt32LE(100, 4);
    // Only the node itself accepts a ban for itself.
    expect((await cl.control(Control.SET_BAN_STATE, { destnode: 2, data: ban })).status).toBe(-1);
    expect((await cl.control(Control.SET_BAN_STATE, { destnode: 1, data: ban })).status).toBe(0);
    await c.until(() => (c.daemons[0]!.state.node(1)!.flags & NodeFlag.BANNED) !== 0, 5000, 'banned seen');
    expect(c.daemons[1]!.state.vnnMap.generation).toBe(1);
    ban.writeUInt32LE(0, 4);
    expect((await cl.control(Control.SET_BAN_STATE, { destnode: 1, data: ban })).status).toBe(0);
    await c.until(() => c.settled(), 5000, 'settled after unban');
  });

  it('the leader answers TAKEOVER_RUN requests with its PNN on the reply SRVID', async () => {
    const c = await settledCluster(3);
    const cl = await client(1);
    const reply = 0xce01000012340001n;
    await cl.control(Control.REGISTER_SRVID, { srvid: reply });
    const msg = Buffer.alloc(16);
    msg.writeUInt32LE(1, 0);
    msg.writeBigUInt64LE(reply, 8);
    cl.message(Node.BROADCAST_CONNECTED, Srvid.TAKEOVER_RUN, msg);
    const m = await cl.nextMessage(reply);
    expect(m.data.readInt32LE(0)).toBe(leaderOf(c));
  });

  it('every node\'s recovery daemon confirms DISABLE_TAKEOVER_RUNS with its own PNN (failoverd\'s lease), the leader\'s and the others\'', async () => {
    await settledCluster(3);
    const cl = await client(0);
    const reply = 0xce01000012340002n;
    await cl.control(Control.REGISTER_SRVID, { srvid: reply });
    const msg = Buffer.alloc(24);
    msg.writeUInt32LE(0, 0);
    msg.writeBigUInt64LE(reply, 8);
    msg.writeUInt32LE(3, 16);
    const answers: number[] = [];
    for (const pnn of [0, 1, 2]) {
      const m = cl.nextMessage(reply);
      cl.message(pnn, Srvid.DISABLE_TAKEOVER_RUNS, msg);
      answers.push((await m).data.readInt32LE(0));
    }
    expect(answers).toEqual([0, 1, 2]);
  });

  it('while takeover runs are disabled (failoverd performs them) a TAKEOVER_RUN request waits, and is answered once they are enabled again', async () => {
    const c = await settledCluster(3);
    const leader = leaderOf(c);
    const cl = await client(leader);
    const confirm = 0xce01000012340003n;
    const answer = 0xce01000012340004n;
    await cl.control(Control.REGISTER_SRVID, { srvid: confirm });
    await cl.control(Control.REGISTER_SRVID, { srvid: answer });
    const disable = (timeout: number) => {
      const msg = Buffer.alloc(24);
      msg.writeUInt32LE(leader, 0);
      msg.writeBigUInt64LE(confirm, 8);
      msg.writeUInt32LE(timeout, 16);
      const confirmed = cl.nextMessage(confirm);
      cl.message(leader, Srvid.DISABLE_TAKEOVER_RUNS, msg);
      return confirmed;
    };
    await disable(600);
    const answers: number[] = [];
    const collected = cl.nextMessage(answer).then((m) => answers.push(m.data.readInt32LE(0)));
    const request = Buffer.alloc(16);
    request.writeUInt32LE(leader, 0);
    request.writeBigUInt64LE(answer, 8);
    cl.message(leader, Srvid.TAKEOVER_RUN, request);
    // Packets of one client are handled in order: once GET_PNN is answered, the request has been seen.
    await cl.control(Control.GET_PNN, {});
    c.daemons[leader]!.recoverd.tick();
    expect(answers, 'no answer while runs are disabled').toEqual([]);
    await disable(0);
    await collected;
    expect(answers).toEqual([leader]);
  });

  it('a dead node is marked disconnected, a new leader is elected, and it rejoins on restart', async () => {
    const c = await settledCluster(3);
    const leader = leaderOf(c);
    const others = [0, 1, 2].filter((p) => p !== leader);
    const pendingClient = await client(others[0]);
    await c.stopNode(leader);
    await c.until(() => others.every((p) => (c.daemons[p]!.state.node(leader)!.flags & NodeFlag.DISCONNECTED) !== 0),
      5000, 'disconnected');
    expect(c.daemons[others[0]]!.state.node(leader)!.flags).toBe(NodeFlag.DISCONNECTED | NodeFlag.UNHEALTHY);
    await c.until(() => c.settled(), 10_000, 'new leader');
    expect(others).toContain(leaderOf(c));
    const r = await pendingClient.control(Control.GET_PNN, { destnode: leader });
    expect(r.errorMessage.toString()).toBe('ctdb_control to disconnected node');
    await c.startNode(leader);
    await c.until(() => c.settled(), 10_000, 'rejoined');
    for (const d of c.daemons) expect(d!.state.vnnMap.map).toEqual([0, 1, 2]);
  });

  it('a forwarded control pending when the target dies fails with "node is disconnected"', async () => {
    const c = await settledCluster(2);
    // Node 1 will never answer: it is gone before the reply can come.
    const cl = await client(0);
    const p = cl.controlPacket(Control.GET_PNN, { destnode: 1 });
    const reply = cl.next((r) => r.operation === Operation.REPLY_CONTROL && r.reqid === p.reqid, 5000);
    await c.daemons[1]!.stop('test');
    c.daemons[1] = undefined;
    cl.send(p);
    const r = await reply as { status: number; errorMessage: Buffer };
    expect(r.status).toBe(-1);
    expect(['node is disconnected', 'ctdb_control to disconnected node']).toContain(r.errorMessage.toString());
  });
});
