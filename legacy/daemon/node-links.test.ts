import { afterEach, describe, expect, it } from 'vitest';
import { NodeFlag, Operation } from '../protocol/constants.ts';
import { Control } from '../protocol/controls.ts';
import type { ReqControl, ReqKeepalive } from '../protocol/packets.ts';
import type { Daemon } from './daemon.ts';
import { FakePeer, linkFakePeer } from './testing/fake-peer.ts';
import { RawClient } from './testing/raw-client.ts';
import { TestCluster } from './testing/test-cluster.ts';

/**
 * The node-to-node face against a scripted peer that plays node 1 over raw
 * TCP (as the reference experiments did against real ctdbd): connection
 * rules, keepalives, strict framing, dead-node detection.
 */

let cluster: TestCluster | undefined;
let peer: FakePeer | undefined;
const clients: RawClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await peer?.close();
  peer = undefined;
  await cluster?.destroy();
  cluster = undefined;
});

/** Node 0 embedded, node 1 scripted, linked in both directions. */
async function linked(): Promise<{ d: Daemon; peer: FakePeer }> {
  cluster = await TestCluster.create({ nodes: 2 });
  const linkedPair = await linkFakePeer(cluster);
  peer = linkedPair.peer;
  return linkedPair;
}

describe('node links', () => {
  it('connects out bound to its own address and sends 40-byte keepalives with 4.17\'s version', async () => {
    const { d, peer: p } = await linked();
    expect(p.inbound!.remoteAddress).toBe(cluster!.addresses[0]);
    const ka = await p.until<ReqKeepalive>((x) => x.operation === Operation.REQ_KEEPALIVE);
    expect(ka.length).toBe(40);
    expect(ka.version).toBe(0x00040011);
    expect(ka.destnode).toBe(1);
    expect(ka.srcnode).toBe(0);
    expect(ka.reqid).toBe(0);
    expect(d.state.node(1)!.flags & NodeFlag.DISCONNECTED).toBe(0);
  });

  it('forwards a client control with its client_id and maps the peer\'s reply back', async () => {
    const { d, peer: p } = await linked();
    p.keepalives(0, 50);
    const c = await RawClient.open(cluster!.socketPath(0));
    clients.push(c);
    const pending = c.control(Control.GET_PNN, { destnode: 1 });
    const req = await p.until<ReqControl>((x) => x.operation === Operation.REQ_CONTROL && x.opcode === Control.GET_PNN);
    expect(req.srcnode).toBe(0);
    expect(req.destnode).toBe(1);
    expect(req.clientId).not.toBe(0);
    expect(req.length! % 8).toBe(0);
    p.send({
      operation: Operation.REPLY_CONTROL, generation: d.generation, destnode: 0, srcnode: 1, reqid: req.reqid,
      status: 1, data: Buffer.alloc(0), errorMessage: Buffer.alloc(0),
    });
    const r = await pending;
    expect(r.status).toBe(1);
    expect(r.srcnode).toBe(0);
  });

  it('declares a silent peer dead after KeepaliveLimit intervals and fails its pending controls', async () => {
    const { d } = await linked();
    const c = await RawClient.open(cluster!.socketPath(0));
    clients.push(c);
    const started = Date.now();
    const r = await c.control(Control.GET_PNN, { destnode: 1, timeoutMs: 5000 });
    expect(r.status).toBe(-1);
    expect(r.errorMessage.toString()).toBe('node is disconnected');
    // 3 intervals of 200 ms without traffic.
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(d.state.node(1)!.flags).toBe(NodeFlag.DISCONNECTED | NodeFlag.UNHEALTHY);
  });

  it('a packet whose length is not a multiple of 8 kills the link', async () => {
    const { d, peer: p } = await linked();
    const bad = Buffer.alloc(44);
    bad.writeUInt32LE(44, 0);
    bad.writeUInt32LE(0x43544442, 4);
    bad.writeUInt32LE(1, 8);
    bad.writeUInt32LE(Operation.REQ_MESSAGE, 16);
    p.out!.write(bad);
    await cluster!.until(() => !d.state.isConnected(1), 2000, 'link killed');
  });

  it('data on its outgoing connection means the peer failed', async () => {
    const { d, peer: p } = await linked();
    p.keepalives(0, 50);
    p.inbound!.write(Buffer.alloc(8));
    await cluster!.until(() => !d.state.isConnected(1), 2000, 'link killed');
  });

  it('closes connections from addresses not in the nodes list', async () => {
    const { peer: p } = await linked();
    const addr = cluster!.addresses[0].replace(/\.\d+$/, '.99');
    const s = await p.connect(cluster!.addresses[0], addr).catch(() => undefined);
    if (s) await new Promise<void>((r) => s.once('close', () => r()));
  });

  it('a header-only keepalive from a peer shuts the daemon down (old version)', async () => {
    const { d, peer: p } = await linked();
    p.send({ operation: Operation.REQ_KEEPALIVE, generation: 1, destnode: 0, srcnode: 1, reqid: 0 });
    await cluster!.until(() => !d.isRunning, 2000, 'daemon stopped');
  });

  it('another version with a longer uptime shuts the daemon down; a younger, older one is ignored', async () => {
    const { d, peer: p } = await linked();
    p.send({ operation: Operation.REQ_KEEPALIVE, generation: 1, destnode: 0, srcnode: 1, reqid: 0, version: 0x00040010, uptime: 0 });
    await new Promise((r) => setTimeout(r, 200));
    expect(d.isRunning).toBe(true);
    p.send({ operation: Operation.REQ_KEEPALIVE, generation: 1, destnode: 0, srcnode: 1, reqid: 0, version: 0x00040019, uptime: 99999 });
    await cluster!.until(() => !d.isRunning, 2000, 'daemon stopped');
  });

  it('answers a peer\'s control over its own outgoing link, never on the accepted one', async () => {
    const { peer: p } = await linked();
    p.keepalives(0, 50);
    p.send({
      operation: Operation.REQ_CONTROL, generation: 1, destnode: 0, srcnode: 1, reqid: 4242, opcode: Control.GET_RUNSTATE,
      srvid: 0n, clientId: 0, flags: 0, data: Buffer.alloc(0),
    });
    const r = await p.until((x) => x.operation === Operation.REPLY_CONTROL && x.reqid === 4242);
    expect(r.destnode).toBe(1);
    expect(r.srcnode).toBe(0);
    expect(r.length! % 8).toBe(0);
  });
});
