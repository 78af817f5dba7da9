import { createServer } from 'node:net';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Operation } from '../protocol/constants.ts';
import { decodePacket, encodePacket, type Packet } from '../protocol/packets.ts';
import { Srvid } from '../protocol/srvid.ts';
import { ClientStream } from './client-stream.ts';
import {
  buildKeepalive, buildMessage, buildReplyCall, buildReplyControl, buildReqControl, buildTunnel, copyPacket, daemonLength,
  reusePacket, roundUp8, sizeLie,
} from './fast-packets.ts';
import { PacketBoundsError } from './errors.ts';
import { KeepaliveMonitor } from './keepalive.ts';
import { SrvidRegistry, TunnelRegistry, type InternalListener, type PacketSink } from './messaging.ts';
import { parseSsUnix, peerPidsByInode, socketInode } from './peer-cred.ts';
import { PendingControls, type PendingControl } from './pending-controls.ts';

/** Small pure parts of the daemon: stream splitting, fast packet paths, registries, keepalive counting, peer pids. */

function pkt(p: Packet, padding: 'daemon' | 'client' | 'none' = 'client'): Buffer {
  return encodePacket(p, { padding });
}

const control = (reqid: number, data = Buffer.alloc(0)): Packet => ({
  operation: Operation.REQ_CONTROL, generation: 0, destnode: 0xf0000001, srcnode: 0, reqid, opcode: 35, srvid: 0n,
  clientId: 0, flags: 0, data,
});

describe('client stream splitting', () => {
  it('yields the same packets whatever the chunking (padded and unpadded mixed)', () => {
    const packets = [pkt(control(1)), pkt(control(2, Buffer.from('abc')), 'none'), pkt(control(3, Buffer.alloc(100, 7)), 'daemon')];
    const stream = Buffer.concat(packets);
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: stream.length }), { maxLength: 8 }), (cuts) => {
      const points = [...new Set(cuts)].sort((a, b) => a - b);
      const s = new ClientStream(1 << 20);
      const out: Buffer[] = [];
      let prev = 0;
      for (const p of [...points, stream.length]) {
        s.push(Buffer.from(stream.subarray(prev, p)), (b) => out.push(Buffer.from(b)), () => { throw new Error('event'); });
        prev = p;
      }
      expect(out.map((b) => b.toString('hex'))).toEqual(packets.map((b) => b.toString('hex')));
      expect(s.pendingBytes).toBe(0);
    }));
  });

  it('length 0 is fatal, a short length is dropped, an oversized one skipped in pieces', () => {
    const events: string[] = [];
    const out: number[] = [];
    const s = new ClientStream(1000);
    const short = Buffer.alloc(12);
    short.writeUInt32LE(12);
    const huge = Buffer.alloc(8);
    huge.writeUInt32LE(5000);
    const onEvent = (e: { kind: string }) => events.push(e.kind);
    s.push(Buffer.concat([short, huge]), (b) => out.push(b.length), onEvent);
    for (let i = 0; i < 4; i++) s.push(Buffer.alloc(1000), (b) => out.push(b.length), onEvent);
    s.push(Buffer.concat([Buffer.alloc(992), pkt(control(9))]), (b) => out.push(b.length), onEvent);
    expect(events).toEqual(['dropped', 'dropped']);
    expect(out).toEqual([64]);
    expect(s.push(Buffer.alloc(8), () => undefined, onEvent)).toBe(false);
    expect(events.at(-1)).toBe('fatal');
  });
});

describe('fast packet paths build what the reference codec builds', () => {
  it('REPLY_CONTROL, REQ_CONTROL, REQ_MESSAGE, REQ_TUNNEL, REQ_KEEPALIVE, REPLY_CALL', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 20 }), fc.integer({ min: -5, max: 5 }),
      (d, e, status) => {
        const data = Buffer.from(d);
        const err = Buffer.from(e);
        const gen = 0x1234;
        expect(buildReplyControl(gen, 3, 1, 77, status, data, err)).toEqual(pkt({
          operation: Operation.REPLY_CONTROL, generation: gen, destnode: 3, srcnode: 1, reqid: 77, status, data, errorMessage: err,
        }, 'daemon'));
        expect(buildReqControl(gen, 2, 0, 5, 91, 0xabn, 9, 1, data)).toEqual(pkt({
          operation: Operation.REQ_CONTROL, generation: gen, destnode: 2, srcnode: 0, reqid: 5, opcode: 91, srvid: 0xabn,
          clientId: 9, flags: 1, data,
        }, 'daemon'));
        expect(buildMessage(gen, 1, 0, Srvid.LEADER, data)).toEqual(pkt({
          operation: Operation.REQ_MESSAGE, generation: gen, destnode: 1, srcnode: 0, reqid: 0, srvid: Srvid.LEADER, data,
        }, 'daemon'));
        expect(buildTunnel(gen, 1, 0, 0xffn, 0x10, data)).toEqual(pkt({
          operation: Operation.REQ_TUNNEL, generation: gen, destnode: 1, srcnode: 0, reqid: 0, tunnelId: 0xffn, flags: 0x10, data,
        }, 'daemon'));
        expect(buildReplyCall(gen, 0, 1, 8, status, data)).toEqual(pkt({
          operation: Operation.REPLY_CALL, generation: gen, destnode: 0, srcnode: 1, reqid: 8, status, data,
        }, 'daemon'));
      }));
    expect(buildKeepalive(7, 1, 0, 0x40011, 33)).toEqual(pkt({
      operation: Operation.REQ_KEEPALIVE, generation: 7, destnode: 1, srcnode: 0, reqid: 0, version: 0x40011, uptime: 33,
    }, 'daemon'));
  });

  it('copy and in-place reuse re-route a packet with the daemon length and zero padding', () => {
    const unpadded = pkt({ operation: Operation.REQ_MESSAGE, generation: 1, destnode: 0xf0000001, srcnode: 0, reqid: 9, srvid: 5n, data: Buffer.from('abcde') }, 'none');
    const viaCopy = reusePacket(unpadded, 49, 48, 42, 0, 3, 0);
    expect(viaCopy).not.toBe(unpadded);
    const d = decodePacket(viaCopy);
    expect(d).toMatchObject({ generation: 42, destnode: 0, srcnode: 3, reqid: 0, length: 56 });
    const padded = pkt({ operation: Operation.REQ_MESSAGE, generation: 1, destnode: 2, srcnode: 0, reqid: 9, srvid: 5n, data: Buffer.from('abcde') }, 'client');
    padded[55] = 0xee; // garbage padding from a client
    const same = reusePacket(padded, 49, 48, 42, 0, 3, 0);
    expect(same).toBe(padded);
    expect(same[55]).toBe(0);
    expect(copyPacket(padded, 49, 48, 1, 1, 1, 1).length).toBe(56);
  });

  it('copy and reuse refuse a length beyond the source packet (typed error), whatever its size', () => {
    const p = pkt({ operation: Operation.REQ_MESSAGE, generation: 1, destnode: 0, srcnode: 0, reqid: 0, srvid: 5n, data: Buffer.from('abc') }, 'daemon');
    for (const exact of [p.length + 1, 4000, 256 * 1024 * 1024, 44 + 0xfffffff0, 31]) {
      expect(() => copyPacket(p, exact, 48, 1, 1, 1, 1)).toThrow(PacketBoundsError);
      expect(() => reusePacket(p, exact, 48, 1, 1, 1, 1)).toThrow(PacketBoundsError);
    }
    expect(reusePacket(p, p.length, 48, 1, 1, 1, 1)).toBe(p);
  });

  it('padded lengths do not wrap at 2^31 or 2^32', () => {
    expect(roundUp8(44 + 0xfffffff0)).toBe(0x100000020);
    expect(roundUp8(0x80000001)).toBe(0x80000008);
    expect(daemonLength(44 + 0xfffffff0, 48)).toBe(0x100000020);
    expect([0, 1, 7, 8, 9, 48, 49].map(roundUp8)).toEqual([0, 8, 8, 8, 16, 48, 56]);
  });
});

describe('declared sizes against the bytes present (sizeLie)', () => {
  const honest: Packet[] = [
    control(1, Buffer.from('abc')),
    { operation: Operation.REQ_MESSAGE, generation: 0, destnode: 0, srcnode: 0, reqid: 0, srvid: 1n, data: Buffer.alloc(9) },
    { operation: Operation.REQ_TUNNEL, generation: 0, destnode: 0, srcnode: 0, reqid: 0, tunnelId: 1n, flags: 0, data: Buffer.alloc(3) },
    { operation: Operation.REPLY_CONTROL, generation: 0, destnode: 0, srcnode: 0, reqid: 0, status: 0, data: Buffer.alloc(5), errorMessage: Buffer.from('err') },
    { operation: Operation.REQ_CALL, generation: 0, destnode: 0, srcnode: 0, reqid: 0, flags: 0, dbId: 1, callId: 0, hopcount: 0, key: Buffer.alloc(4), callData: Buffer.alloc(7) },
  ];

  it('passes honest packets, padded or not, and flags every one shortened by a byte', () => {
    for (const p of honest) {
      for (const padding of ['none', 'client', 'daemon'] as const) expect(sizeLie(pkt(p, padding))).toBeUndefined();
      const exact = pkt(p, 'none');
      const cut = exact.subarray(0, exact.length - 1);
      expect(sizeLie(cut), `operation ${p.operation}`).toMatchObject({ operation: p.operation, length: exact.length - 1, end: exact.length });
    }
  });

  it('names the field, sums without u32 wrap, and reports a missing fixed part as length', () => {
    const r = pkt(honest[3], 'none');
    r.writeUInt32LE(8, 36);
    r.writeUInt32LE(0xfffffff8, 40); // 44 + 8 + 0xfffffff8 wraps to 44 in u32
    expect(sizeLie(r)).toEqual({ operation: Operation.REPLY_CONTROL, field: 'errorlen', declared: { datalen: 8, errorlen: 0xfffffff8 }, end: 0x10000002c, length: r.length });
    r.writeUInt32LE(0xfffffff0, 36);
    expect(sizeLie(r)!.field).toBe('datalen');
    const short = pkt(honest[0], 'none').subarray(0, 58);
    expect(sizeLie(short)).toEqual({ operation: Operation.REQ_CONTROL, field: 'length', declared: {}, end: 60, length: 58 });
    const keepalive = pkt({ operation: Operation.REQ_KEEPALIVE, generation: 0, destnode: 0, srcnode: 0, reqid: 0 }, 'none');
    expect(sizeLie(keepalive)).toBeUndefined();
  });
});

describe('SRVID and tunnel registries', () => {
  const sink = (id: number): PacketSink => ({ clientId: id, sendPacket: () => undefined });

  it('is a multiset with SRVID_ALL and per-listener cleanup', () => {
    const r = new SrvidRegistry();
    const a = sink(1);
    const b = sink(2);
    const i: InternalListener = { internal: true, name: 'x', handle: () => undefined };
    r.register(5n, a);
    r.register(5n, a);
    r.register(5n, b);
    r.register(Srvid.ALL, i);
    const seen: unknown[] = [];
    expect(r.forEachListener(5n, (l) => seen.push(l))).toBe(4);
    expect(seen.filter((l) => l === a)).toHaveLength(2);
    expect(r.forEachListener(6n, () => undefined)).toBe(1);
    expect(r.deregister(5n, b)).toBe(true);
    expect(r.deregister(5n, b)).toBe(false);
    r.removeListener(a);
    expect(r.isRegisteredBy(5n, a)).toBe(false);
    r.removeListener(i);
    expect(r.hasListeners(5n)).toBe(false);
    expect(r.size).toBe(0);
  });

  it('binds a tunnel id to one client only', () => {
    const t = new TunnelRegistry();
    const a = sink(1);
    const b = sink(2);
    expect(t.register(7n, a)).toBe(true);
    expect(t.register(7n, a)).toBe(false);
    expect(t.register(7n, b)).toBe(false);
    expect(t.deregister(7n, b)).toBe(false);
    t.register(8n, a);
    t.removeClient(a);
    expect(t.holder(7n)).toBeUndefined();
    expect(t.size).toBe(0);
  });
});

describe('keepalive monitor', () => {
  it('declares a node dead after `limit` silent intervals, traffic resets the count', () => {
    const dead: number[] = [];
    const sent: number[] = [];
    const m = new KeepaliveMonitor(3, {
      connectedPeers: () => [1, 2],
      sendKeepalive: (p) => sent.push(p),
      declareDead: (p) => dead.push(p),
    }, () => 1000, () => 3);
    m.tick();
    m.received(2);
    m.tick();
    m.received(2);
    expect(dead).toEqual([]);
    m.tick();
    expect(dead).toEqual([1]);
    expect(sent.filter((p) => p === 2)).toHaveLength(3);
    m.received(99); // out of range: ignored
  });
});

describe('peer pid lookup', () => {
  it('parses ss -xpnH rows', () => {
    const rows = parseSsUnix([
      'u_str ESTAB 0      0      /run/ctdb/ctdbd.socket 14438 * 14437 users:(("ctdbd",pid=6405,fd=11))',
      'u_str ESTAB 0      0                                        * 14437 * 14438 users:(("smbd",pid=77,fd=3),("smbd",pid=78,fd=3))',
      'u_str ESTAB 0      0      * 1204  * 1203',
      'garbage',
    ].join('\n'));
    expect(rows).toEqual([
      { inode: 14438, peerInode: 14437, pids: [6405] },
      { inode: 14437, peerInode: 14438, pids: [77, 78] },
      { inode: 1204, peerInode: 1203, pids: [] },
    ]);
  });

  it('finds the pid of a real child process connected to our unix socket', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'peer-cred-'));
    const path = join(dir, 's');
    const cleanup: Array<() => void> = [];
    const accepted = new Promise<import('node:net').Socket>((resolve) => {
      const server = createServer((s) => resolve(s));
      server.listen(path);
      cleanup.push(() => server.close());
    });
    const child = spawn(process.execPath, ['-e', `require('net').connect(${JSON.stringify(path)});setInterval(()=>{},1e6)`], { stdio: 'ignore' });
    try {
      const sock = await accepted;
      const inode = await socketInode(sock);
      expect(inode).toBeGreaterThan(0);
      const pids = await peerPidsByInode([inode!]);
      expect(pids.get(inode!)).toBe(child.pid);
      sock.destroy();
    } finally {
      child.kill('SIGKILL');
      for (const c of cleanup) c();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('pending controls', () => {
  const waiting = (destnode: number, deadline = 0): PendingControl => ({ destnode, deadline });

  it('takes each control once and never hands out its placeholder', () => {
    const p = new PendingControls();
    expect(p.size).toBe(0);
    expect(p.has(0)).toBe(false);
    expect(p.take(0)).toBeUndefined();
    const a = waiting(1);
    p.add(7, a);
    p.add(8, waiting(2));
    expect(p.has(7)).toBe(true);
    expect(p.size).toBe(2);
    expect(p.take(7)).toBe(a);
    expect(p.take(7)).toBeUndefined();
    expect(p.has(7)).toBe(false);
    expect(p.takeWhere(() => true).map((w) => w.destnode)).toEqual([2]);
    expect(p.size).toBe(0);
    expect(p.take(0)).toBeUndefined();
  });

  it('takes by predicate (node dead, deadline passed) and leaves the rest', () => {
    const p = new PendingControls();
    p.add(1, waiting(1, 100));
    p.add(2, waiting(2, 100));
    p.add(3, waiting(1, 900));
    expect(p.takeWhere((w) => w.destnode === 1).map((w) => w.deadline)).toEqual([100, 900]);
    expect(p.takeWhere((w) => w.deadline <= 500).map((w) => w.destnode)).toEqual([2]);
    expect(p.size).toBe(0);
  });
});
