import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ControlFlag } from '../../legacy/protocol/constants.ts';
import { Control } from '../../legacy/protocol/controls.ts';
import { LegacyClient } from '../../legacy/client/client.ts';
import { silentLogger } from '../../legacy/common/log.ts';
import { controlPacket, LegacyWire } from './legacy-wire.ts';
import { MARKER_NEEDLE } from './marker.ts';
import { prng } from '../../legacy/common/testing/prng.ts';

/**
 * Attacks on a legacy daemon's unix socket (ours or the real ctdbd), each a
 * plain async function of the socket path that returns what it observed.
 * Everything is seeded, so a run is repeatable; every socket an attack
 * opens is closed before it returns.
 */

/** What an attack observed, for the assertions and the bench's notes. */
export type AttackDetail = Record<string, number | boolean | string>;


function randomBytes(rand: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

/** A raw socket that ignores errors; `closedByPeer` tells whether the daemon hung up first. */
export interface RawSocket {
  socket: Socket;
  closedByPeer(): boolean;
  /** Our side hangs up. */
  hangUp(): void;
  closed: Promise<void>;
}

/** Connects, retrying while the listen backlog is full (EAGAIN), as a patient client would. */
export async function openRaw(path: string, attempts = 50): Promise<RawSocket> {
  for (let i = 1; ; i++) {
    try {
      return await openRawOnce(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || i >= attempts) throw err;
      await sleep(20);
    }
  }
}

function openRawOnce(path: string): Promise<RawSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let ours = false;
    let byPeer = false;
    const closed = new Promise<void>((r) => socket.once('close', () => {
      byPeer = !ours;
      r();
    }));
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      socket.on('error', () => undefined);
      socket.on('data', () => undefined);
      resolve({
        socket, closed, closedByPeer: () => byPeer,
        hangUp: () => {
          ours = true;
          socket.destroy();
        },
      });
    });
    socket.once('error', reject);
  });
}

/** Opens `n` connections, `batch` at a time (a listen backlog is finite). */
export async function openMany(path: string, n: number, batch = 50): Promise<RawSocket[]> {
  const out: RawSocket[] = [];
  try {
    for (let i = 0; i < n; i += batch) {
      out.push(...await Promise.all(Array.from({ length: Math.min(batch, n - i) }, () => openRaw(path))));
    }
  } catch (err) {
    await closeAll(out);
    throw err;
  }
  return out;
}

export async function closeAll(sockets: RawSocket[]): Promise<void> {
  for (const s of sockets) s.hangUp();
  await Promise.all(sockets.map((s) => s.closed));
}

function writeAll(s: Socket, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (s.destroyed) return resolve();
    if (s.write(bytes)) return resolve();
    const done = () => {
      s.off('drain', done);
      s.off('close', done);
      resolve();
    };
    s.on('drain', done);
    s.on('close', done);
  });
}

/** Waits up to `ms` for the daemon to close each socket; returns how many it closed. */
async function closedByDaemonWithin(sockets: RawSocket[], ms: number): Promise<number> {
  await Promise.race([Promise.all(sockets.map((s) => s.closed)), sleep(ms)]);
  return sockets.filter((s) => s.closedByPeer()).length;
}

/** Marker occurrences in what these connections received (see marker.ts). */
function sumHits(wires: LegacyWire[]): number {
  return wires.reduce((n, w) => n + w.needleHits, 0);
}

// ---------------------------------------------------------------- basics

/** Connections writing random bytes (random length fields included), then hanging up. */
export async function randomBytesAttack(path: string, opts: { connections?: number; bytes?: number; seed?: number } = {}): Promise<AttackDetail> {
  const rand = prng(opts.seed ?? 1);
  const sockets = await openMany(path, opts.connections ?? 16);
  const bytes = opts.bytes ?? 32 * 1024;
  await Promise.all(sockets.map(async (s) => {
    for (let sent = 0; sent < bytes; sent += 4096) await writeAll(s.socket, randomBytes(rand, Math.min(4096, bytes - sent)));
  }));
  const closedByDaemon = await closedByDaemonWithin(sockets, 300);
  await closeAll(sockets);
  return { connections: sockets.length, bytesEach: bytes, closedByDaemon };
}

/** Packets with a wrong magic or version on one connection, then a valid control on the same one. */
export async function badMagicAttack(path: string, opts: { packets?: number } = {}): Promise<AttackDetail> {
  const wire = await LegacyWire.open(path, { needle: MARKER_NEEDLE });
  try {
    const n = opts.packets ?? 500;
    const bad: number[] = [];
    for (let i = 0; i < n; i++) {
      const reqid = wire.allocReqid();
      const p = controlPacket(Control.GET_PNN, { reqid });
      if (i % 2 === 0) p.writeUInt32LE(0xdeadbeef, 4);
      else p.writeUInt32LE(2 + (i % 7), 8);
      bad.push(reqid);
      wire.write(p);
    }
    const valid = await wire.control(Control.GET_PNN, { timeoutMs: 5000 }).then(() => true, () => false);
    const answeredBad = wire.unsolicited.filter((p) => bad.includes(p.reqid)).length;
    return { packets: n, answeredBad, validAnsweredAfter: valid, connectionKept: !wire.closed, markerHits: wire.needleHits };
  } finally {
    await wire.close();
  }
}

/** Headers announcing huge lengths (up to 4 GiB - 1) followed by a little data, then hanging up. */
export async function hugeLengthAttack(path: string): Promise<AttackDetail> {
  const lengths = [0xffffffff, 0xfffffff8, 0x80000000, 0x40000000, 64 * 1024 * 1024 + 8, 0x10000000];
  const sockets = await openMany(path, lengths.length);
  await Promise.all(sockets.map(async (s, i) => {
    const p = controlPacket(Control.GET_PNN, { reqid: 1 });
    p.writeUInt32LE(lengths[i], 0);
    await writeAll(s.socket, Buffer.concat([p, Buffer.alloc(1024, 0x41)]));
  }));
  const closedByDaemon = await closedByDaemonWithin(sockets, 300);
  await closeAll(sockets);
  return { connections: sockets.length, closedByDaemon };
}

/** A packet of length 0 on each of several connections: ctdbd drops such a client. */
export async function zeroLengthAttack(path: string, opts: { connections?: number } = {}): Promise<AttackDetail> {
  const sockets = await openMany(path, opts.connections ?? 10);
  for (const s of sockets) s.socket.write(Buffer.alloc(32));
  const closedByDaemon = await closedByDaemonWithin(sockets, 2000);
  await closeAll(sockets);
  return { connections: sockets.length, closedByDaemon };
}

/** Valid controls cut short (1..length-1 bytes), the connection closed mid-packet. */
export async function truncationAttack(path: string, opts: { connections?: number; seed?: number } = {}): Promise<AttackDetail> {
  const rand = prng(opts.seed ?? 2);
  const sockets = await openMany(path, opts.connections ?? 50);
  for (const s of sockets) {
    const p = controlPacket(Control.GET_PNN, { reqid: 7, data: randomBytes(rand, Math.floor(rand() * 200)) });
    s.socket.write(p.subarray(0, 1 + Math.floor(rand() * (p.length - 1))));
  }
  await sleep(100);
  await closeAll(sockets);
  return { connections: sockets.length };
}

/**
 * Slowloris: connections that each dribble one valid control, a byte every
 * `byteEveryMs`. Each must still be answered once complete.
 */
export async function slowlorisAttack(path: string, opts: { connections?: number; byteEveryMs?: number } = {}): Promise<AttackDetail> {
  const wires = await Promise.all(Array.from({ length: opts.connections ?? 100 }, () => LegacyWire.open(path, { needle: MARKER_NEEDLE })));
  try {
    const every = opts.byteEveryMs ?? 40;
    const replies = wires.map((w) => {
      const reqid = w.allocReqid();
      const packet = controlPacket(Control.GET_PNN, { reqid });
      // Registered as a control waiter without sending: the bytes go out one by one below.
      const waiting = w.control(Control.GET_PNN, { reqid, timeoutMs: packet.length * every + 10_000 }).then(() => true, () => false);
      return { w, packet, waiting };
    });
    const length = replies[0].packet.length;
    for (let i = 0; i < length; i++) {
      for (const r of replies) r.w.write(r.packet.subarray(i, i + 1));
      await sleep(every);
    }
    const answered = (await Promise.all(replies.map((r) => r.waiting))).filter(Boolean).length;
    return { connections: wires.length, answered, seconds: Math.round(length * every / 100) / 10, markerHits: sumHits(wires) };
  } finally {
    await Promise.all(wires.map((w) => w.close()));
  }
}

/** Many connections that say nothing, held for a while. */
export async function idleConnectionsAttack(path: string, opts: { connections?: number; holdMs?: number } = {}): Promise<AttackDetail> {
  const sockets = await openMany(path, opts.connections ?? 1000);
  await sleep(opts.holdMs ?? 2000);
  const closedByDaemon = sockets.filter((s) => s.closedByPeer()).length;
  await closeAll(sockets);
  return { connections: sockets.length, closedByDaemon };
}

/**
 * Controls that only read state (and unknown, removed and obsolete opcodes),
 * so a random run cannot legitimately stop, ban or reconfigure the node.
 */
export const SAFE_RANDOM_OPCODES: readonly number[] = [
  0, 1, 3, 4, 5, 7, 9, 15, 25, 30, 35, 49, 50, 53, 55, 69, 80, 90, 91, 99, 110, 120, 122, 123, 124, 127, 132, 138, 140,
  149, 151, 156,
  2, 10, 12, 31, 37, 92, 93, 94, 95, 96, 106, 112, 117, 163, 200, 1000, 0xffff, 0xffffffff,
];

/** Random read-only and unknown controls with random payloads, some NOREPLY, pipelined on a few connections. */
export async function randomControlsAttack(path: string, opts: { controls?: number; connections?: number; seed?: number } = {}): Promise<AttackDetail> {
  const rand = prng(opts.seed ?? 3);
  const wires = await Promise.all(Array.from({ length: opts.connections ?? 4 }, () => LegacyWire.open(path, { needle: MARKER_NEEDLE })));
  try {
    const n = opts.controls ?? 2000;
    const waits: Array<Promise<boolean>> = [];
    for (let i = 0; i < n; i++) {
      const w = wires[i % wires.length];
      const opcode = SAFE_RANDOM_OPCODES[Math.floor(rand() * SAFE_RANDOM_OPCODES.length)];
      const size = rand() < 0.9 ? Math.floor(rand() * 64) : Math.floor(rand() * 4096);
      const noreply = rand() < 0.2;
      const o = { data: randomBytes(rand, size), srvid: BigInt(Math.floor(rand() * 2 ** 32)), flags: noreply ? ControlFlag.NOREPLY : 0 };
      if (noreply) w.sendControl(opcode, o);
      else waits.push(w.control(opcode, { ...o, timeoutMs: 10_000 }).then(() => true, () => false));
      if (i % 200 === 199) await sleep(1);
    }
    const answered = (await Promise.all(waits)).filter(Boolean).length;
    return { controls: n, expectingReply: waits.length, answered, markerHits: sumHits(wires) };
  } finally {
    await Promise.all(wires.map((w) => w.close()));
  }
}

// ---------------------------------------------------------------- the reported failures

/** A pid no process has (above the kernel's largest pid_max). */
export const NO_SUCH_PID = 0x3fffffff;

/**
 * PROCESS_EXISTS flood while many idle connections are open: every answer
 * must be right (this process is a connected client: 0; pid 1 and a pid
 * nobody has: -1), and the node must stay alive in its peers' view.
 */
export async function processExistsFlood(path: string, opts: {
  idle?: number; requests?: number; connections?: number;
  /** An answer later than this counts as none: the node is locked up. */
  timeoutMs?: number;
} = {}): Promise<AttackDetail> {
  const idle = await openMany(path, opts.idle ?? 2000);
  const wires = await Promise.all(Array.from({ length: opts.connections ?? 8 }, () => LegacyWire.open(path, { needle: MARKER_NEEDLE })));
  const started = performance.now();
  try {
    const n = opts.requests ?? 2000;
    const cases: Array<[pid: number, expect: number]> = [[process.pid, 0], [1, -1], [NO_SUCH_PID, -1]];
    const results = await Promise.all(Array.from({ length: n }, (_, i) => {
      const [pid, expected] = cases[i % cases.length];
      const data = Buffer.alloc(4);
      data.writeInt32LE(pid, 0);
      return wires[i % wires.length].control(Control.PROCESS_EXISTS, { data, timeoutMs: opts.timeoutMs ?? 20_000 })
        .then((r) => (r.status === expected ? 'right' : 'wrong'), () => 'unanswered');
    }));
    const count = (what: string) => results.filter((r) => r === what).length;
    return {
      idle: idle.length, requests: n, right: count('right'), wrong: count('wrong'), unanswered: count('unanswered'),
      seconds: Math.round((performance.now() - started) / 100) / 10, markerHits: sumHits(wires),
    };
  } finally {
    await Promise.all(wires.map((w) => w.close()));
    await closeAll(idle);
  }
}

/**
 * Connections that each announce a big packet (default 60 MiB, under the
 * embedded daemon's 64 MiB limit), send part of it, and hang up.
 */
export async function partialBigPacketsAttack(path: string, opts: { connections?: number; announceBytes?: number; sendBytes?: number } = {}): Promise<AttackDetail> {
  const announce = opts.announceBytes ?? 60 * 1024 * 1024;
  const send = opts.sendBytes ?? 40 * 1024 * 1024;
  const sockets = await openMany(path, opts.connections ?? 8);
  const chunk = Buffer.alloc(1024 * 1024, 0x5a);
  await Promise.all(sockets.map(async (s) => {
    const head = controlPacket(Control.ECHO_DATA, { reqid: 1, data: Buffer.alloc(8) });
    head.writeUInt32LE(announce, 0);
    head.writeUInt32LE(announce - 60, 56);
    await writeAll(s.socket, head);
    for (let sent = head.length; sent < send; sent += chunk.length) await writeAll(s.socket, chunk);
  }));
  const closedByDaemon = sockets.filter((s) => s.closedByPeer()).length;
  await closeAll(sockets);
  return { connections: sockets.length, announcedMiB: announce / 1048576, sentMiB: send / 1048576, closedByDaemon };
}

// ---------------------------------------------------------------- the peers' view

/** Polls a peer's node map and remembers every non-OK flag it showed for one node. */
export interface PeerFlagsWatch {
  /** Distinct non-zero flag values seen for the watched node (empty: always OK). */
  badFlags(): number[];
  polls(): number;
  stop(): Promise<void>;
}

export async function watchPeerFlags(peerSocketPath: string, watchedPnn: number, everyMs = 200): Promise<PeerFlagsWatch> {
  const client = await LegacyClient.connect({
    socketPath: peerSocketPath, reconnect: false, trackLeader: false, defaultTimeoutMs: 3000, connectTimeoutMs: 3000,
    logger: silentLogger('hostile-peer-watch'),
  });
  const bad = new Set<number>();
  let polls = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const nm = await client.getNodeMap();
        const flags = nm.nodes.find((n) => n.pnn === watchedPnn)?.flags ?? -1;
        if (flags !== 0) bad.add(flags);
        polls++;
      } catch {
        bad.add(-2); // the peer itself did not answer
      }
      await sleep(everyMs);
    }
  })();
  return {
    badFlags: () => [...bad],
    polls: () => polls,
    stop: async () => {
      running = false;
      await loop;
      await client.close();
    },
  };
}

