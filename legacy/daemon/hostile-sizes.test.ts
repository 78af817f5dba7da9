import { afterEach, describe, expect, it } from 'vitest';
import { CTDB_MAGIC, CTDB_PROTOCOL, Node, NodeFlag, Operation } from '../protocol/constants.ts';
import { Control } from '../protocol/controls.ts';
import type { ReqControl } from '../protocol/packets.ts';
import type { Daemon } from './daemon.ts';
import { FakePeer, linkFakePeer } from './testing/fake-peer.ts';
import { captureLog } from './testing/log-capture.ts';
import { RawClient } from './testing/raw-client.ts';
import { TestCluster } from './testing/test-cluster.ts';

/**
 * Declared sizes that lie (issue 13): a node, or anything posing as one on
 * the node port, answers a forwarded control with a REPLY_CONTROL whose
 * datalen / errorlen exceed its packet. The waiting client must get an error
 * reply of its own size, never bytes the peer did not send (freed heap), and
 * the link to the liar is failed as for a bad length. Clients that lie are
 * dropped (a control is answered with an error).
 */

let cluster: TestCluster | undefined;
let peer: FakePeer | undefined;
const clients: RawClient[] = [];
let log: ReturnType<typeof captureLog>;
/** Requests the fake peer has answered already. */
const answered = new Set<number>();

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await peer?.close();
  peer = undefined;
  await cluster?.destroy();
  cluster = undefined;
});

/** Node 0 embedded, node 1 scripted (keepalives every 50 ms), linked in both directions. */
async function linked(): Promise<{ d: Daemon; peer: FakePeer }> {
  log = captureLog('daemon');
  answered.clear();
  cluster = await TestCluster.create({ nodes: 2, logger: log.logger });
  const { d, peer: p } = await linkFakePeer(cluster);
  peer = p;
  p.keepalives(0, 50);
  return { d, peer: p };
}

/** After the daemon failed the link: the fake peer connects again. */
async function relink(d: Daemon, p: FakePeer): Promise<void> {
  await cluster!.until(() => !d.state.isConnected(1) && p.inbound !== undefined && !p.inbound.destroyed, 3000, 'daemon reconnected out');
  p.out?.destroy();
  await p.connect(cluster!.addresses[0]);
  await cluster!.until(() => d.state.isConnected(1), 3000, 'node 1 connected again');
}

async function client(): Promise<RawClient> {
  const c = await RawClient.open(cluster!.socketPath(0));
  clients.push(c);
  return c;
}

/** A REPLY_CONTROL of `body.length` real bytes whose datalen/errorlen say what the test wants. */
function lyingReply(generation: number, reqid: number, datalen: number, errorlen: number, body = Buffer.alloc(0)): Buffer {
  const length = Math.max(48, (44 + body.length + 7) & ~7);
  const b = Buffer.alloc(length);
  b.writeUInt32LE(length, 0);
  b.writeUInt32LE(CTDB_MAGIC, 4);
  b.writeUInt32LE(CTDB_PROTOCOL, 8);
  b.writeUInt32LE(generation, 12);
  b.writeUInt32LE(Operation.REPLY_CONTROL, 16);
  b.writeUInt32LE(0, 20);
  b.writeUInt32LE(1, 24);
  b.writeUInt32LE(reqid, 28);
  b.writeInt32LE(0, 32);
  b.writeUInt32LE(datalen >>> 0, 36);
  b.writeUInt32LE(errorlen >>> 0, 40);
  body.copy(b, 44);
  return b;
}

/** The victim's control to node 1, answered by the fake peer with `reply(reqid)`. */
async function forwardedControl(p: FakePeer, victim: RawClient, reply: (reqid: number) => Buffer) {
  const pending = victim.control(Control.GET_PNN, { destnode: 1, timeoutMs: 4000 });
  const req = await p.until<ReqControl>((x) => x.operation === Operation.REQ_CONTROL && x.opcode === Control.GET_PNN
    && !answered.has(x.reqid));
  answered.add(req.reqid);
  p.sendRaw(reply(req.reqid));
  return pending;
}

describe('a node REPLY_CONTROL whose declared sizes exceed its packet', () => {
  const lies: Array<[string, number, number, string]> = [
    ['datalen beyond the packet', 4000, 0, 'datalen'],
    ['datalen 256 MiB', 256 * 1024 * 1024, 0, 'datalen'],
    ['datalen 0xFFFFFFF0 (wraps the padded length in u32)', 0xfffffff0, 0, 'datalen'],
    ['errorlen whose sum with datalen overflows u32', 8, 0xfffffff8, 'errorlen'],
  ];
  for (const [what, datalen, errorlen, field] of lies) {
    it(`${what}: the client gets status -1 with a text, the link to the liar is failed and logged`, async () => {
      const { d, peer: p } = await linked();
      const victim = await client();
      const r = await forwardedControl(p, victim, (reqid) => lyingReply(d.generation, reqid, datalen, errorlen, Buffer.alloc(8, 0x41)));
      expect(r.status).toBe(-1);
      expect(r.data.length).toBe(0);
      expect(r.errorMessage.toString()).toMatch(/node 1 .*inconsistent lengths/);
      expect(r.length).toBeLessThan(256);
      await cluster!.until(() => (d.state.node(1)!.flags & NodeFlag.DISCONNECTED) !== 0, 2000, 'link failed');
      const line = log.lines.find((l) => l.msg === 'node packet with inconsistent lengths: failing the link');
      expect(line).toMatchObject({ peer: 1, field, datalen, errorlen, length: 56, end: 44 + datalen + errorlen });
      // The daemon is fine and answers its clients.
      expect((await victim.control(Control.GET_PNN)).status).toBe(0);
    });
  }

  it('another client\'s payload bytes never reach the victim through a lying reply', async () => {
    const { d, peer: p } = await linked();
    const listener = await client();
    const sender = await client();
    const victim = await client();
    const raw: Buffer[] = [];
    victim.socket.on('data', (chunk: Buffer) => raw.push(Buffer.from(chunk)));
    const srvid = 0xae0000000000beefn;
    expect((await listener.control(Control.REGISTER_SRVID, { srvid })).status).toBe(0);
    const marker = Buffer.from('SECRETMARKER'.repeat(5000));
    for (const size of [1000, 3000, 4000, 16_000, 60_000, 200_000]) {
      // Heap churn: payloads of about the lie's size pass through the daemon and are freed.
      for (let i = 0; i < 20; i++) sender.message(Node.CURRENT, srvid, marker.subarray(0, size + i * 8));
      for (let i = 0; i < 20; i++) await listener.nextMessage(srvid);
      if (!d.state.isConnected(1)) await relink(d, p);
      const r = await forwardedControl(p, victim, (reqid) => lyingReply(d.generation, reqid, size, 0));
      expect(r.status).toBe(-1);
    }
    expect(Buffer.concat(raw).includes('SECRETMARKER')).toBe(false);
  });

  it('an honest reply with data and error text is still passed through exactly', async () => {
    const { d, peer: p } = await linked();
    const victim = await client();
    const data = Buffer.from('0123456789');
    const err = Buffer.from('some error');
    const r = await forwardedControl(p, victim, (reqid) => {
      const b = lyingReply(d.generation, reqid, data.length, err.length, Buffer.concat([data, err]));
      b.writeInt32LE(7, 32);
      return b;
    });
    expect(r.status).toBe(7);
    expect(r.data).toEqual(data);
    expect(r.errorMessage).toEqual(err);
    expect(d.state.isConnected(1)).toBe(true);
  });
});

/** A packet of `length` zeroed bytes with a valid header for `op`; the test writes the body fields. */
function rawPacket(op: number, length: number, destnode: number, reqid = 0): Buffer {
  const b = Buffer.alloc(length);
  b.writeUInt32LE(length, 0);
  b.writeUInt32LE(CTDB_MAGIC, 4);
  b.writeUInt32LE(CTDB_PROTOCOL, 8);
  b.writeUInt32LE(op, 16);
  b.writeUInt32LE(destnode, 20);
  b.writeUInt32LE(reqid, 28);
  return b;
}

describe('other node packets whose declared sizes exceed them', () => {
  it('a lying REQ_MESSAGE fails the link, and the honest packet behind it in the same chunk is dropped with it', async () => {
    const { d, peer: p } = await linked();
    const listener = await client();
    const srvid = 0xae0000000000f00dn;
    expect((await listener.control(Control.REGISTER_SRVID, { srvid })).status).toBe(0);
    const lie = rawPacket(Operation.REQ_MESSAGE, 48, 0);
    lie.writeBigUInt64LE(srvid, 32);
    lie.writeUInt32LE(1 << 20, 40);
    const honest = rawPacket(Operation.REQ_MESSAGE, 48, 0);
    honest.writeBigUInt64LE(srvid, 32);
    honest.writeUInt32LE(4, 40);
    p.sendRaw(Buffer.concat([lie, honest]));
    await cluster!.until(() => !d.state.isConnected(1), 2000, 'link failed');
    expect(await listener.nothing((x) => x.operation === Operation.REQ_MESSAGE, 300)).toBe(true);
    expect(log.lines.find((l) => l.msg === 'node packet with inconsistent lengths: failing the link'))
      .toMatchObject({ peer: 1, operation: Operation.REQ_MESSAGE, field: 'datalen', datalen: 1 << 20, length: 48 });
  });

  it('a REQ_TUNNEL, a REQ_CONTROL and a REQ_CALL that lie each fail the link; nothing is answered', async () => {
    const { d, peer: p } = await linked();
    const tunnel = rawPacket(Operation.REQ_TUNNEL, 56, 0);
    tunnel.writeUInt32LE(9, 44);
    const control = rawPacket(Operation.REQ_CONTROL, 64, 0, 777);
    control.writeUInt32LE(Control.GET_PNN, 32);
    control.writeUInt32LE(0xffffff00, 56);
    const call = rawPacket(Operation.REQ_CALL, 64, 0, 778);
    call.writeUInt32LE(4, 48);
    call.writeUInt32LE(5, 52);
    for (const [bad, field] of [[tunnel, 'datalen'], [control, 'datalen'], [call, 'calldatalen']] as const) {
      if (!d.state.isConnected(1)) await relink(d, p);
      const before = log.lines.length;
      p.sendRaw(bad);
      await cluster!.until(() => !d.state.isConnected(1), 2000, 'link failed');
      expect(log.lines.slice(before).find((l) => l.msg === 'node packet with inconsistent lengths: failing the link'))
        .toMatchObject({ peer: 1, field });
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(p.received.some((x) => x.reqid === 777 || x.reqid === 778)).toBe(false);
  });
});

describe('client packets whose declared sizes exceed them', () => {
  it('a control gets status -1 with a text (none with NOREPLY); the connection stays', async () => {
    log = captureLog('daemon');
    cluster = await TestCluster.create({ nodes: 1, logger: log.logger });
    await cluster.startNode(0);
    const c = await client();
    const bad = rawPacket(Operation.REQ_CONTROL, 64, Node.CURRENT, 4321);
    bad.writeUInt32LE(Control.GET_PNN, 32);
    bad.writeUInt32LE(0xfffffff0, 56);
    c.write(bad);
    const r = await c.next((x) => x.operation === Operation.REPLY_CONTROL && x.reqid === 4321) as { status: number; errorMessage: Buffer; length: number };
    expect(r.status).toBe(-1);
    expect(r.errorMessage.toString()).toBe('ctdb_control with inconsistent lengths');
    expect(r.length).toBe(88);
    const quiet = Buffer.from(bad);
    quiet.writeUInt32LE(4322, 28);
    quiet.writeUInt32LE(1, 52); // NOREPLY
    c.write(quiet);
    expect(await c.nothing((x) => x.reqid === 4322, 200)).toBe(true);
    expect((await c.control(Control.GET_PNN)).status).toBe(0);
    expect(log.lines.filter((l) => l.msg === 'client packet with inconsistent lengths: dropped')).toHaveLength(2);
    expect(log.lines[0]).toMatchObject({ field: 'datalen', datalen: 0xfffffff0, length: 64, end: 60 + 0xfffffff0 });
  });

  it('a message, a tunnel packet and a call are dropped with a log line, nothing reaches a listener', async () => {
    log = captureLog('daemon');
    cluster = await TestCluster.create({ nodes: 1, logger: log.logger });
    await cluster.startNode(0);
    const listener = await client();
    const srvid = 0xae0000000000abcdn;
    const tunnelId = 0xffffffff0000abcdn;
    expect((await listener.control(Control.REGISTER_SRVID, { srvid })).status).toBe(0);
    expect((await listener.control(Control.TUNNEL_REGISTER, { srvid: tunnelId })).status).toBe(0);
    const c = await client();
    const msg = rawPacket(Operation.REQ_MESSAGE, 48, Node.CURRENT);
    msg.writeBigUInt64LE(srvid, 32);
    msg.writeUInt32LE(5000, 40);
    const tun = rawPacket(Operation.REQ_TUNNEL, 56, 0);
    tun.writeBigUInt64LE(tunnelId, 32);
    tun.writeUInt32LE(5000, 44);
    const call = rawPacket(Operation.REQ_CALL, 64, Node.CURRENT, 99);
    call.writeUInt32LE(0xfffffff8, 48);
    call.writeUInt32LE(0x10, 52);
    c.write(Buffer.concat([msg, tun, call]));
    expect(await listener.nothing(() => true, 300)).toBe(true);
    expect(await c.nothing((x) => x.reqid === 99, 10)).toBe(true);
    expect(log.lines.filter((l) => l.msg === 'client packet with inconsistent lengths: dropped').map((l) => l.field))
      .toEqual(['datalen', 'datalen', 'keylen']);
  });
});
