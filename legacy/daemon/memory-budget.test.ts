import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../common/log.ts';
import { CTDB_MAGIC, CTDB_PROTOCOL, Node, NodeFlag, Operation } from '../protocol/constants.ts';
import { Control } from '../protocol/controls.ts';
import { PacketFramer } from '../protocol/framing.ts';
import { EAGER_PACKET_LIMIT, PartialPacket } from '../protocol/partial-packet.ts';
import { ClientStream } from './client-stream.ts';
import type { Daemon } from './daemon.ts';
import { MemoryBudget, type BudgetClock, type BudgetEntry } from './memory-budget.ts';
import { FakePeer, linkFakePeer } from './testing/fake-peer.ts';
import { captureLog } from './testing/log-capture.ts';
import { RawClient } from './testing/raw-client.ts';
import { TestCluster } from './testing/test-cluster.ts';

/**
 * The explicit memory budget for incomplete packets (issue 13): memory that
 * follows the bytes received (not the length announced) and is given back
 * when a connection goes; a per-connection time limit; a daemon-wide total
 * whose largest holder is disconnected, never a small well-behaved client.
 */

const KiB = 1024;

/** A clock the test moves; the sweep runs when the test calls budget.sweep(). */
function manualClock(): BudgetClock & { t: number } {
  const c = { t: 1_000_000, now: () => c.t, every: () => ({ stop: () => undefined }) };
  return c;
}

/** A REQ_CONTROL header announcing `length` bytes, and `sent` bytes of it in all. */
function announced(length: number, sent = 64, reqid = 1): Buffer {
  const b = Buffer.alloc(sent, 0x5a);
  b.writeUInt32LE(length, 0);
  b.writeUInt32LE(CTDB_MAGIC, 4);
  b.writeUInt32LE(CTDB_PROTOCOL, 8);
  b.writeUInt32LE(Operation.REQ_CONTROL, 16);
  b.writeUInt32LE(Node.CURRENT, 20);
  b.writeUInt32LE(reqid, 28);
  b.writeUInt32LE(Control.GET_PNN, 32);
  b.writeUInt32LE(length - 60, 56);
  return b;
}

describe('PartialPacket and the stream readers: memory follows the bytes received', () => {
  it('a large packet grows with its bytes, is whole when complete, and release() gives the memory back', () => {
    const p = new PartialPacket(60 * 1024 * KiB);
    expect(p.heldBytes).toBe(0);
    p.fill(Buffer.alloc(100 * KiB, 1), 0, 100 * KiB);
    expect(p.heldBytes).toBe(100 * KiB);
    expect(p.received().length).toBe(100 * KiB);
    p.release();
    expect(p.heldBytes).toBe(0);
    const whole = new PartialPacket(EAGER_PACKET_LIMIT + 8);
    const src = Buffer.alloc(EAGER_PACKET_LIMIT + 8);
    src.writeUInt32LE(0xdeadbeef, EAGER_PACKET_LIMIT);
    expect(whole.fill(src, 0, 1000)).toBe(1000);
    expect(whole.fill(src, 1000, src.length)).toBe(src.length - 1000);
    expect(whole.complete).toBe(true);
    expect(whole.take().equals(src)).toBe(true);
  });

  it('client stream: a 60 MiB announcement holds only what came; release() drops it', () => {
    const s = new ClientStream(64 * 1024 * KiB);
    const events: string[] = [];
    s.push(announced(60 * 1024 * KiB, 300 * KiB), () => { throw new Error('no packet yet'); }, (e) => events.push(e.kind));
    expect(s.heldBytes).toBe(300 * KiB);
    expect(s.midPacket).toBe(true);
    s.release();
    expect(s.heldBytes).toBe(0);
    expect(s.midPacket).toBe(false);
    expect(events).toEqual([]);
  });

  it('client stream: a packet above the limit is skipped unbuffered but counts as mid-packet until its end', () => {
    const s = new ClientStream(1024);
    const out: number[] = [];
    s.push(announced(5000, 100), (p) => out.push(p.length), () => undefined);
    expect(s.midPacket).toBe(true);
    expect(s.heldBytes).toBe(0);
    const before = s.packetsOut;
    s.push(Buffer.alloc(4900), (p) => out.push(p.length), () => undefined);
    expect(s.midPacket).toBe(false);
    expect(s.packetsOut).toBe(before + 1);
  });

  it('framer: the same for node links; a large packet split in pieces still arrives whole', () => {
    const f = new PacketFramer({ strict: true });
    const big = announced(3 * 1024 * KiB, 3 * 1024 * KiB);
    const got: Buffer[] = [];
    f.push(big.subarray(0, 200 * KiB), (p) => got.push(p));
    expect(f.heldBytes).toBe(200 * KiB);
    expect(f.pendingBytes).toBe(200 * KiB);
    for (let off = 200 * KiB; off < big.length; off += 64 * KiB) f.push(big.subarray(off, off + 64 * KiB), (p) => got.push(p));
    expect(got).toHaveLength(1);
    expect(got[0].equals(big)).toBe(true);
    expect(f.heldBytes).toBe(0);
    f.push(big.subarray(0, 100 * KiB), () => undefined);
    f.release();
    expect(f.heldBytes).toBe(0);
    expect(f.midPacket).toBe(false);
  });

  it('framer strict: a bad magic in a large packet fails as soon as 12 bytes are in, not at its end', () => {
    const f = new PacketFramer({ strict: true });
    const bad = announced(8 * 1024 * KiB, 64);
    bad.writeUInt32LE(0x12345678, 4);
    f.push(bad.subarray(0, 8), () => undefined);
    expect(() => f.push(bad.subarray(8, 64), () => undefined)).toThrow(/ctdb_magic/);
  });
});

describe('MemoryBudget', () => {
  const entries = (b: MemoryBudget, n: number, evicted: string[]): BudgetEntry[] =>
    Array.from({ length: n }, (_, i) => b.register({ clientId: i }, () => evicted.push(`c${i}`)));

  it('above the total it disconnects the largest holder, the newest on a tie, never a small one', () => {
    const log = captureLog('budget');
    const b = new MemoryBudget({ maxHeldTotal: 1000 * KiB, smallHolderBytes: 64 * KiB }, log.logger, manualClock());
    const evicted: string[] = [];
    const [small, a, c, d] = entries(b, 4, evicted);
    b.update(small, 60 * KiB, true, 0);
    b.update(a, 400 * KiB, true, 0);
    b.update(c, 400 * KiB, true, 0);
    expect(evicted).toEqual([]);
    b.update(d, 200 * KiB, true, 0); // 1060 KiB: c and a tie, c is newer
    expect(evicted).toEqual(['c2']);
    expect(b.heldTotal).toBe(660 * KiB);
    b.update(a, 990 * KiB, true, 0); // a alone is above the total
    expect(evicted).toEqual(['c2', 'c1']);
    expect(log.lines.map((l) => l.msg)).toEqual([
      'memory budget for incomplete packets exceeded: disconnecting the largest holder',
      'memory budget for incomplete packets exceeded: disconnecting the largest holder',
    ]);
    expect(log.lines[0]).toMatchObject({ clientId: 2, held: 400 * KiB, heldTotal: 1060 * KiB, maxHeldTotal: 1000 * KiB });
    // Small holders only: nobody is blamed, whatever the total.
    const tiny = new MemoryBudget({ maxHeldTotal: 100 * KiB }, silentLogger(), manualClock());
    const many = entries(tiny, 3, evicted);
    for (const e of many) tiny.update(e, 50 * KiB, true, 0);
    expect(evicted).toEqual(['c2', 'c1']);
    b.unregister(small);
    b.unregister(small);
    expect(b.heldTotal).toBe(200 * KiB);
  });

  it('closes a connection whose packet stays incomplete past the limit; progress restarts the clock', () => {
    const log = captureLog('budget');
    const clock = manualClock();
    const b = new MemoryBudget({ partialPacketTimeoutMs: 10_000 }, log.logger, clock);
    const evicted: string[] = [];
    const [stalled, busy, idle] = entries(b, 3, evicted);
    b.update(stalled, 100, true, 0);
    b.update(busy, 100, true, 0);
    b.update(idle, 0, false, 5);
    clock.t += 6000;
    b.update(busy, 300, true, 7); // finished packets since: a new one is under way
    clock.t += 4001;
    b.sweep();
    expect(evicted).toEqual(['c0']);
    expect(log.lines[0]).toMatchObject({ clientId: 0, incompleteForMs: 10_001, limitMs: 10_000,
      msg: 'packet incomplete for longer than the time limit: closing the connection' });
    clock.t += 6000;
    b.sweep();
    expect(evicted).toEqual(['c0', 'c1']);
  });
});

let cluster: TestCluster | undefined;
let peer: FakePeer | undefined;
const sockets: Socket[] = [];
const clients: RawClient[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const c of clients.splice(0)) await c.close();
  await peer?.close();
  peer = undefined;
  await cluster?.destroy();
  cluster = undefined;
});

function open(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path, () => resolve(s));
    s.on('error', reject);
    sockets.push(s);
  });
}

const closed = (s: Socket) => new Promise<void>((r) => (s.destroyed ? r() : s.once('close', () => r())));

describe('the daemon\'s budget on its client socket', () => {
  it('holds what attackers sent, not what they announced, disconnects the largest above the total, and frees on close', async () => {
    const log = captureLog('daemon');
    cluster = await TestCluster.create({ nodes: 1, logger: log.logger, memory: { maxHeldTotal: 1024 * KiB } });
    const d = await cluster.startNode(0);
    const path = cluster.socketPath(0);
    // A well-behaved client in the middle of a small packet.
    const good = await RawClient.open(path);
    clients.push(good);
    const goodPacket = announced(200, 200, 77);
    good.write(goodPacket.subarray(0, 100));
    const a = await open(path);
    a.write(announced(60 * 1024 * KiB, 600 * KiB));
    await cluster.until(() => d.budget.heldTotal >= 600 * KiB, 2000, 'first attacker buffered');
    expect(d.budget.heldTotal).toBeLessThan(700 * KiB);
    const b = await open(path);
    b.write(announced(60 * 1024 * KiB, 500 * KiB));
    await closed(a);
    const line = log.lines.find((l) => l.msg === 'memory budget for incomplete packets exceeded: disconnecting the largest holder');
    expect(line).toMatchObject({ maxHeldTotal: 1024 * KiB });
    expect(line!.held).toBeGreaterThan(500 * KiB);
    expect(b.destroyed).toBe(false);
    // The small client finishes its packet and is answered.
    const reply = good.next((p) => p.operation === Operation.REPLY_CONTROL && p.reqid === 77);
    good.write(goodPacket.subarray(100));
    expect((await reply as { status: number }).status).toBe(0);
    b.destroy();
    await cluster.until(() => d.budget.heldTotal < 1 * KiB, 2000, 'memory given back on close');
  });

  it('closes a client whose packet stays incomplete past the time limit, with a log line', async () => {
    const log = captureLog('daemon');
    const clock = manualClock();
    cluster = await TestCluster.create({ nodes: 1, logger: log.logger, memory: { partialPacketTimeoutMs: 5000 }, budgetClock: clock });
    const d = await cluster.startNode(0);
    const slow = await open(cluster.socketPath(0));
    slow.write(announced(1000, 100));
    const busy = await RawClient.open(cluster.socketPath(0));
    clients.push(busy);
    await cluster.until(() => d.budget.heldTotal > 0, 2000, 'partial packet buffered');
    clock.t += 5001;
    d.budget.sweep();
    await closed(slow);
    expect((await busy.control(Control.GET_PNN)).status).toBe(0);
    expect(log.lines.find((l) => l.msg === 'packet incomplete for longer than the time limit: closing the connection'))
      .toMatchObject({ limitMs: 5000, incompleteForMs: 5001 });
    expect(d.budget.heldTotal).toBe(0);
  });
});

describe('the daemon\'s budget on node links', () => {
  async function linked(memory: ConstructorParameters<typeof MemoryBudget>[0], clock?: BudgetClock) {
    const log = captureLog('daemon');
    cluster = await TestCluster.create({ nodes: 2, logger: log.logger, memory, budgetClock: clock });
    const { d, peer: p } = await linkFakePeer(cluster);
    peer = p;
    p.keepalives(0, 50);
    return { d, p, log };
  }

  it('a node packet incomplete past the time limit fails the link, logged with the peer', async () => {
    const clock = manualClock();
    const { d, p, log } = await linked({ partialPacketTimeoutMs: 5000 }, clock);
    p.stopKeepalives();
    const partial = announced(4096, 512);
    p.sendRaw(partial);
    await cluster!.until(() => d.budget.heldTotal > 0, 2000, 'partial node packet buffered');
    clock.t += 5001;
    d.budget.sweep();
    await cluster!.until(() => (d.state.node(1)!.flags & NodeFlag.DISCONNECTED) !== 0, 2000, 'link failed');
    expect(log.lines.find((l) => l.msg === 'packet incomplete for longer than the time limit: closing the connection'))
      .toMatchObject({ peer: 1 });
    expect(d.budget.heldTotal).toBe(0);
  });

  it('a node packet above the largest node packet fails the link at its header', async () => {
    const { d, p } = await linked({ maxNodePacket: 1024 * KiB });
    p.sendRaw(announced(2048 * KiB, 64));
    await cluster!.until(() => (d.state.node(1)!.flags & NodeFlag.DISCONNECTED) !== 0, 2000, 'link failed');
    expect(d.budget.heldTotal).toBe(0);
  });
});
