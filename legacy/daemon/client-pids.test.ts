import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Logger } from '../common/log.ts';
import { ClientPids, type ClientPidsOptions } from './client-pids.ts';
import { PeerPidLookupError } from './errors.ts';
import { parseSsUnix, peerOwners, ssArgs, type SsRequest } from './peer-cred.ts';

/**
 * The pid -> clients index behind PROCESS_EXISTS / CHECK_PID_SRVID, with an
 * injected `ss`: a fake host whose socket table the test controls, so the
 * number of lookups, their overlap and their timing are exact.
 */

interface FakeClient { name: string; inode: number }

class FakeHost {
  /** Our inode -> the client's end (its inode and owning pids). */
  readonly peers = new Map<number, { inode: number; pids: number[] }>();
  calls: SsRequest[] = [];
  running = 0;
  maxRunning = 0;
  /** When set, each run waits for release() (or fails with `failWith`). */
  gate: { release: () => void } | undefined;
  hold = false;
  failWith: Error | undefined;
  hang = false;
  private nextInode = 1000;

  connect(pid: number | number[], name = `c${this.nextInode}`): FakeClient {
    const ours = this.nextInode++;
    this.peers.set(ours, { inode: 50_000 + ours, pids: Array.isArray(pid) ? pid : [pid] });
    return { name, inode: ours };
  }

  listing(): string {
    const rows = ['0 0 /run/ctdb/other.socket 7 * 8 users:(("x",pid=1,fd=3))', 'u_str ESTAB 0 0 * 9 * 10'];
    for (const [ours, p] of this.peers) {
      rows.push(`0      0        * ${p.inode} * ${ours} users:(${p.pids.map((pid) => `("smbd",pid=${pid},fd=5)`).join(',')})`);
    }
    return rows.join('\n') + '\n';
  }

  readonly ss = async (req?: SsRequest): Promise<string> => {
    this.calls.push(req ?? {});
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      if (this.hang) {
        await new Promise<void>((_, reject) => req?.signal?.addEventListener('abort', () => reject(new Error('killed')), { once: true }));
      }
      if (this.hold) await new Promise<void>((resolve) => { this.gate = { release: resolve }; });
      if (this.failWith) throw this.failWith;
      return this.listing();
    } finally {
      this.running--;
    }
  };
}

function recordingLogger(): { logger: Logger; lines: Array<{ level: string; msg: string }> } {
  const lines: Array<{ level: string; msg: string }> = [];
  const at = (level: string) => (a: unknown, b?: unknown) => {
    lines.push({ level, msg: typeof a === 'string' ? a : String(b) });
  };
  const logger = { warn: at('warn'), info: at('info'), debug: at('debug'), error: at('error') } as unknown as Logger;
  return { logger, lines };
}

function setup(host: FakeHost, extra: Partial<ClientPidsOptions<FakeClient>> = {}) {
  const log = recordingLogger();
  let inodeReads = 0;
  const pids = new ClientPids<FakeClient>({
    logger: log.logger, ss: host.ss, socketPath: '/run/ctdb/ctdbd.socket',
    inodeOf: async (c) => { inodeReads++; return c.inode; },
    ...extra,
  });
  return { pids, log, inodeReads: () => inodeReads };
}

const tick = () => new Promise<void>((r) => setImmediate(r));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('client pids', () => {
  it('coalesces: N concurrent requests and M new connections cost one lookup', async () => {
    const host = new FakeHost();
    const { pids } = setup(host);
    const clients = Array.from({ length: 40 }, (_, i) => host.connect(100 + i));
    for (const c of clients) pids.add(c);
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => pids.find(100 + (i % 50))));
    expect(host.calls.length).toBe(1);
    answers.forEach((set, i) => {
      const pid = 100 + (i % 50);
      expect([...set].map((c) => c.name)).toEqual(pid < 140 ? [clients[pid - 100]!.name] : []);
    });
    // The listing is narrowed to other ends than ours.
    expect(host.calls[0]!.excludeLocalPath).toBe('/run/ctdb/ctdbd.socket');
  });

  it('connections accepted during a lookup are resolved by the next single run; requests share it', async () => {
    const host = new FakeHost();
    host.hold = true;
    const { pids } = setup(host);
    const first = host.connect(200);
    pids.add(first);
    const early = pids.find(200);
    await tick();
    expect(host.calls.length).toBe(1);
    // 30 more connect while the first lookup runs; 100 requests arrive for them.
    const later = Array.from({ length: 30 }, (_, i) => host.connect(300 + i));
    for (const c of later) pids.add(c);
    const waiting = Array.from({ length: 100 }, (_, i) => pids.find(300 + (i % 30)));
    await tick();
    expect(host.calls.length).toBe(1);
    host.gate!.release();
    expect([...(await early)]).toEqual([first]);
    await tick();
    expect(host.calls.length).toBe(2);
    host.gate!.release();
    const sets = await Promise.all(waiting);
    sets.forEach((set, i) => expect([...set]).toEqual([later[i % 30]]));
    expect(host.calls.length).toBe(2);
    expect(host.maxRunning).toBe(1);
  });

  it('answers from the index in O(1) once resolved: synchronously, no lookup, no per-client work', async () => {
    const host = new FakeHost();
    const { pids, inodeReads } = setup(host);
    const clients = Array.from({ length: 3000 }, (_, i) => host.connect(10_000 + i));
    for (const c of clients) pids.add(c);
    await pids.settled();
    expect(host.calls.length).toBe(1);
    expect(pids.unresolved).toBe(0);
    const reads = inodeReads();
    for (let i = 0; i < 10_000; i++) {
      const pid = 10_000 + (i % 3000);
      const r = pids.find(pid);
      expect(r).not.toBeInstanceOf(Promise);
      expect((r as ReadonlySet<FakeClient>).has(clients[pid - 10_000]!)).toBe(true);
    }
    // A pid nobody has: also immediate, since nothing is unresolved.
    expect(pids.find(1)).toEqual(new Set());
    expect(host.calls.length).toBe(1);
    expect(inodeReads()).toBe(reads);
  });

  it('a known pid is answered at once even while other connections are still being looked up', async () => {
    const host = new FakeHost();
    host.hold = true;
    const { pids } = setup(host);
    const a = host.connect(400);
    pids.add(a);
    const p = pids.settled()!;
    await tick();
    host.gate!.release();
    await p;
    const b = host.connect(401);
    pids.add(b);
    await tick();
    expect(host.calls.length).toBe(2);
    expect(pids.find(400)).toEqual(new Set([a]));
    const pending = pids.find(401);
    expect(pending).toBeInstanceOf(Promise);
    host.gate!.release();
    expect(await pending).toEqual(new Set([b]));
  });

  it('is correct across connect and disconnect, also during a lookup', async () => {
    const host = new FakeHost();
    host.hold = true;
    const { pids } = setup(host);
    const a1 = host.connect(500);
    const a2 = host.connect(500);
    const b = host.connect(501);
    const gone = host.connect(502);
    for (const c of [a1, a2, b, gone]) pids.add(c);
    await tick();
    pids.remove(gone); // disconnects while its lookup runs
    host.gate!.release();
    await pids.settled();
    expect([...pids.clientsOf(500)]).toEqual([a1, a2]);
    expect(pids.clientsOf(502).size).toBe(0);
    pids.remove(a1);
    expect([...pids.clientsOf(500)]).toEqual([a2]);
    pids.remove(a2);
    pids.remove(a2);
    expect(pids.find(500)).toEqual(new Set());
    expect([...pids.clientsOf(501)]).toEqual([b]);
    expect(pids.pidsOfClient(a1)).toBeUndefined();
    expect(host.calls.length).toBe(1);
  });

  it('a descriptor shared by several processes names each of them', async () => {
    const host = new FakeHost();
    const { pids } = setup(host);
    const c = host.connect([600, 601]);
    pids.add(c);
    await pids.settled();
    expect(pids.find(600)).toEqual(new Set([c]));
    expect(pids.find(601)).toEqual(new Set([c]));
    expect(pids.pidsOfClient(c)).toEqual([600, 601]);
  });

  it('a client whose process cannot be found resolves to no pid without another lookup', async () => {
    const host = new FakeHost();
    const { pids } = setup(host);
    const c = host.connect(700);
    host.peers.delete(c.inode);
    pids.add(c);
    expect(await pids.find(700)).toEqual(new Set());
    expect(pids.pidsOfClient(c)).toEqual([]);
    expect(pids.find(700)).toEqual(new Set());
    expect(host.calls.length).toBe(1);
  });

  it('a failing lookup tool is logged once, does not hold requests, and is retried later', async () => {
    const host = new FakeHost();
    host.failWith = Object.assign(new Error('spawn ss ENOENT'), { code: 'ENOENT' });
    const { pids, log } = setup(host, { retryDelayMs: 40 });
    const a = host.connect(800);
    pids.add(a);
    expect(await pids.find(800)).toEqual(new Set());
    // Further connections and requests while failing: answered at once, no spawn storm.
    for (let i = 0; i < 20; i++) pids.add(host.connect(900 + i));
    for (let i = 0; i < 50; i++) expect(pids.find(900 + (i % 20))).toEqual(new Set());
    await sleep(100);
    expect(host.calls.length).toBeGreaterThanOrEqual(2);
    expect(host.calls.length).toBeLessThanOrEqual(4);
    expect(log.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    host.failWith = undefined;
    await sleep(60);
    expect(pids.find(800)).toEqual(new Set([a]));
    expect(pids.unresolved).toBe(0);
    expect(log.lines.filter((l) => l.level === 'info').map((l) => l.msg)).toEqual(['client pid lookup works again']);
    expect(host.maxRunning).toBe(1);
  });

  it('a hung lookup is aborted after the timeout and the waiting requests are released', async () => {
    const host = new FakeHost();
    host.hang = true;
    const { pids, log } = setup(host, { timeoutMs: 30, retryDelayMs: 10_000 });
    pids.add(host.connect(1000));
    const started = Date.now();
    expect(await pids.find(1000)).toEqual(new Set());
    expect(Date.now() - started).toBeLessThan(1000);
    expect(host.calls[0]!.signal?.aborted).toBe(true);
    expect(host.calls[0]!.signal?.reason).toBeInstanceOf(PeerPidLookupError);
    expect(log.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    pids.stop();
  });

  it('stop releases waiting requests and starts nothing more', async () => {
    const host = new FakeHost();
    host.hold = true;
    const { pids } = setup(host);
    pids.add(host.connect(1100));
    await tick();
    pids.add(host.connect(1101));
    const w = pids.find(1101);
    pids.stop();
    await w;
    host.gate!.release();
    await sleep(5);
    pids.add(host.connect(1102));
    await sleep(5);
    expect(host.calls.length).toBe(1);
  });
});

describe('ss listing', () => {
  it('reads rows from the right, with or without Netid/State, several owners, rows without users', () => {
    const text = [
      '0      0        * 14437 * 14438 users:(("smbd",pid=77,fd=3),("smbd",pid=78,fd=3))',
      'u_str ESTAB 0 0 * 2001 * 2002 users:(("ctdb",pid=90,fd=4))',
      '0 0 * 3001 * 3002',
      '0 0 /run/ctdb/ctdbd.socket 14438 * 14437 users:(("ctdbd",pid=6405,fd=11))',
      'garbage',
      '',
    ].join('\n');
    const owners = peerOwners(text, new Set([14438, 2002, 3002, 14437, 99]));
    expect(owners).toEqual(new Map([[14438, [77, 78]], [2002, [90]], [14437, [6405]]]));
  });

  it('the fast scanner agrees with the reference parser on any listing', () => {
    const row = fc.record({
      netid: fc.boolean(),
      local: fc.constantFrom('*', '/run/ctdb/ctdbd.socket', '@abstract'),
      inode: fc.integer({ min: 1, max: 60 }),
      peer: fc.integer({ min: 1, max: 60 }),
      pids: fc.array(fc.integer({ min: 1, max: 99999 }), { maxLength: 3 }),
      spaces: fc.integer({ min: 1, max: 6 }),
    });
    fc.assert(fc.property(fc.array(row, { maxLength: 40 }), fc.uniqueArray(fc.integer({ min: 1, max: 60 })), (rows, ours) => {
      const text = rows.map((r) => {
        const gap = ' '.repeat(r.spaces);
        const users = r.pids.length ? ` users:(${r.pids.map((p, i) => `("p${i}",pid=${p},fd=${i + 3})`).join(',')})` : '';
        return `${r.netid ? 'u_str ESTAB' + gap : ''}0${gap}0${gap}${r.local} ${r.inode}${gap}* ${r.peer}${users}`;
      }).join('\n');
      const wanted = new Set(ours);
      const expected = new Map<number, number[]>();
      for (const r of parseSsUnix(text)) {
        if (wanted.has(r.peerInode) && r.pids.length) expected.set(r.peerInode, [...(expected.get(r.peerInode) ?? []), ...r.pids]);
      }
      expect(peerOwners(text, wanted)).toEqual(expected);
    }));
  });

  it('narrows to connected unix stream sockets other than ours; a glob-like path is not used as a filter', () => {
    expect(ssArgs({ excludeLocalPath: '/run/ctdb/ctdbd.socket' }))
      .toEqual(['-Hnp', '-A', 'unix_stream', 'state', 'established', '!', 'src', 'unix:/run/ctdb/ctdbd.socket']);
    expect(ssArgs({ excludeLocalPath: '/tmp/a*b/s' })).toEqual(['-Hnp', '-A', 'unix_stream', 'state', 'established']);
    expect(ssArgs()).toEqual(['-Hnp', '-A', 'unix_stream', 'state', 'established']);
  });
});
