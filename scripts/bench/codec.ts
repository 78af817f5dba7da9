import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { Node, Operation } from '../../legacy/protocol/constants.ts';
import { decodeControlReply, encodeControlReply } from '../../legacy/protocol/control-payloads.ts';
import { Control } from '../../legacy/protocol/controls.ts';
import { PacketFramer } from '../../legacy/protocol/framing.ts';
import { decodeMessagePayload, encodeMessagePayload } from '../../legacy/protocol/message-payloads.ts';
import { decodePacket, encodePacket, headerDef, packetBodyDef, type Packet } from '../../legacy/protocol/packets.ts';
import { Srvid } from '../../legacy/protocol/srvid.ts';
import type { NodeMap, RecBuffer } from '../../legacy/protocol/types/index.ts';
import type { LegacyClient } from '../../legacy/client/index.ts';
import { CtdbdNotInstalledError } from '../local-cluster/index.ts';
import { MESSAGE_SIZES, messageThroughput, messageWindow, openBenchClient } from './client-messages.ts';
import { median, withRealCluster } from './real-cluster-bench.ts';

/**
 * Codec speed vs real ctdbd: decode/encode rates of typical packets as ratios to a real ctdbd's message rate.
 * The codec is measured in-process (no I/O), side by side in one run with the message rate a real ctdbd 4.17
 * sustains on this machine.
 *
 * Each round first measures the real daemon (one test-mode node; one LegacyClient streams REQ_MESSAGEs of
 * 64 B / 1 KiB / 64 KiB with many in flight to another LegacyClient on the same node, as in
 * client-messages.ts), then the codec. Ratios are codec rate / ctdbd rate of the same round; the report gives
 * medians across rounds. Target: every ratio >= 20. Without ctdbd the codec rates are printed alone.
 *
 *   node scripts/bin/run-ts.mjs scripts/bench/codec.ts [--rounds N] [--ms N] [--duration MS] [--no-ctdbd] [--json]
 *
 * `runCodecBenchmarks()` (one round of codec cases) and `formatCodecTable()` are exported for other benchmarks.
 */

export const TARGET_RATIO = 20;

export interface CodecBenchResult {
  case: string;
  /** Bytes of one item (packet, payload, or one message of a stream). */
  bytes: number;
  /** Items per second; for streams, messages per second. */
  decodeOpsPerSec: number;
  /** null when the case only measures decoding. */
  encodeOpsPerSec: number | null;
  decodeMBPerSec: number;
  encodeMBPerSec: number | null;
  /** Payload size of the ctdbd message rate this case is compared with; null = informational only. */
  compareTo: number | null;
}

export interface CodecBenchOptions {
  /** Measuring time per direction and case (default 500 ms). */
  msPerMeasurement?: number;
}

interface BenchCase {
  name: string;
  bytes: number;
  /** Items handled by one call (messages of a stream); default 1. */
  items?: number;
  compareTo: number | null;
  decode(): unknown;
  encode?(): unknown;
}

const hdr = { generation: 0x7343b374, destnode: 0, srcnode: 1, reqid: 2147483450 };

function sizeLabel(size: number): string {
  return size >= 1024 ? `${size / 1024} KiB` : `${size} B`;
}

function messagePacket(size: number): Packet {
  return { operation: Operation.REQ_MESSAGE, ...hdr, srvid: Srvid.SAMBA_NOTIFY_PROXY, data: Buffer.alloc(size, 0x5a) };
}

/** The full receive path: a stream of ~1 MiB of messages read in 64 KiB chunks, framed and decoded (per message rates). */
function streamCase(size: number): BenchCase {
  const p = messagePacket(size);
  const one = encodePacket(p, { padding: 'client' });
  const count = Math.max(16, Math.floor((1 << 20) / one.length));
  const stream = Buffer.concat(Array(count).fill(one));
  const CHUNK = 65536;
  let seen = 0;
  const onPacket = (b: Buffer) => { decodePacket(b); seen++; };
  return {
    name: `full path: framer + decode, ${sizeLabel(size)} messages (64 KiB reads)`, bytes: one.length, items: count,
    compareTo: size,
    decode: () => {
      const framer = new PacketFramer();
      seen = 0;
      for (let off = 0; off < stream.length; off += CHUNK) framer.push(stream.subarray(off, off + CHUNK), onPacket);
      if (seen !== count) throw new Error(`framer delivered ${seen} of ${count} packets`);
      return seen;
    },
    // The send path is encodePacket per message, measured by the REQ_MESSAGE cases.
  };
}

function cases(): BenchCase[] {
  const control: Packet = { operation: Operation.REQ_CONTROL, ...hdr, destnode: Node.CURRENT, opcode: Control.GET_PNN,
    srvid: 0n, clientId: 0, flags: 0, data: Buffer.alloc(0) };
  const controlBytes = encodePacket(control, { padding: 'client' });
  const controlBody = packetBodyDef(Operation.REQ_CONTROL)!;

  const nodeMap: NodeMap = { nodes: [0, 1, 2].map((pnn) => ({ pnn, flags: 0,
    addr: { family: 'inet' as const, address: `127.0.100.${pnn + 1}`, port: 4379 } })) };
  // Built as a daemon would per request: payload encoded, packet object written out (no spread of shared fields).
  const noText = Buffer.alloc(0);
  const nodeMapReply = (): Packet => ({ operation: Operation.REPLY_CONTROL, generation: hdr.generation,
    destnode: hdr.destnode, srcnode: hdr.srcnode, reqid: hdr.reqid, status: 0,
    data: encodeControlReply(Control.GET_NODEMAP, nodeMap), errorMessage: noText });
  const nodeMapBytes = encodePacket(nodeMapReply());

  const message = (size: number): BenchCase => {
    const p = messagePacket(size);
    const b = encodePacket(p, { padding: 'client' });
    return { name: `REQ_MESSAGE ${sizeLabel(size)} payload`, bytes: b.length, compareTo: size,
      decode: () => decodePacket(b), encode: () => encodePacket(p, { padding: 'client' }) };
  };

  const records: RecBuffer = { dbId: 0x37eb41c7, records: Array.from({ length: 1000 }, (_, i) => ({
    reqid: 0, key: Buffer.from(`key-${i.toString().padStart(8, '0')}`), data: Buffer.alloc(24 + 32, i & 0xff) })) };
  const recSrvid = Srvid.RECOVERY + 1n;
  const recPacket: Packet = { operation: Operation.REQ_MESSAGE, ...hdr, srvid: recSrvid, data: encodeMessagePayload(recSrvid, records) };
  const recBytes = encodePacket(recPacket);

  return [
    { name: 'REQ_CONTROL GET_PNN (empty)', bytes: controlBytes.length, compareTo: 64,
      decode: () => decodePacket(controlBytes), encode: () => encodePacket(control, { padding: 'client' }) },
    // The same packet through the binary-parser reference decoders (header + body), for comparison.
    { name: 'REQ_CONTROL GET_PNN, binary-parser reference decoder', bytes: controlBytes.length, compareTo: null,
      decode: () => [headerDef.decodeReference(controlBytes), controlBody.decodeReference(controlBytes.subarray(32))] },
    { name: 'REPLY_CONTROL GET_NODEMAP, 3 nodes (packet + payload)', bytes: nodeMapBytes.length, compareTo: 64,
      decode: () => decodeControlReply(Control.GET_NODEMAP, (decodePacket(nodeMapBytes) as { data: Buffer }).data),
      encode: () => encodePacket(nodeMapReply()) },
    ...MESSAGE_SIZES.map(message),
    // One ~82 KiB message: compared with the 64 KiB message rate (the nearest size ctdbd was measured at).
    { name: 'rec_buffer of 1000 records (message + payload)', bytes: recBytes.length, compareTo: 65536,
      decode: () => decodeMessagePayload(recSrvid, (decodePacket(recBytes) as { data: Buffer }).data),
      encode: () => encodePacket({ ...recPacket, data: encodeMessagePayload(recSrvid, records) } as Packet) },
    ...MESSAGE_SIZES.map(streamCase),
  ];
}

let sink: unknown;

/** Calls per second of `fn` over about `ms` milliseconds (after a short warm-up). */
function measure(fn: () => unknown, ms: number): number {
  const warmEnd = performance.now() + Math.min(200, ms / 4);
  while (performance.now() < warmEnd) sink = fn();
  let ops = 0;
  let batch = 1;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < batch; i++) sink = fn();
    ops += batch;
    now = performance.now();
    if (now - start < ms / 20) batch *= 2;
  }
  return ops / ((now - start) / 1000);
}

/** One round of every codec case. */
export async function runCodecBenchmarks(opts: CodecBenchOptions = {}): Promise<CodecBenchResult[]> {
  const ms = opts.msPerMeasurement ?? 500;
  const out: CodecBenchResult[] = [];
  for (const c of cases()) {
    const items = c.items ?? 1;
    const decodeOpsPerSec = measure(c.decode, ms) * items;
    await new Promise((r) => setImmediate(r));
    const encodeOpsPerSec = c.encode ? measure(c.encode, ms) * items : null;
    await new Promise((r) => setImmediate(r));
    out.push({
      case: c.name, bytes: c.bytes, compareTo: c.compareTo,
      decodeOpsPerSec: Math.round(decodeOpsPerSec),
      encodeOpsPerSec: encodeOpsPerSec === null ? null : Math.round(encodeOpsPerSec),
      decodeMBPerSec: round1((decodeOpsPerSec * c.bytes) / 1e6),
      encodeMBPerSec: encodeOpsPerSec === null ? null : round1((encodeOpsPerSec * c.bytes) / 1e6),
    });
  }
  void sink;
  return out;
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

const num = (x: number) => Math.round(x).toLocaleString('en-US');

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function formatCodecTable(results: CodecBenchResult[]): string {
  return table(['case', 'bytes', 'decode ops/s', 'encode ops/s', 'decode MB/s', 'encode MB/s'],
    results.map((r) => [r.case, String(r.bytes), num(r.decodeOpsPerSec), r.encodeOpsPerSec === null ? '-' : num(r.encodeOpsPerSec),
      String(r.decodeMBPerSec), String(r.encodeMBPerSec ?? '-')]));
}

// ------------------------------------------------------------ vs real ctdbd

export interface CtdbdRates {
  /** Messages per second by payload size, one entry per round. */
  rounds: Array<Record<number, number>>;
}

export interface CodecRatioRow {
  case: string;
  bytes: number;
  compareTo: number | null;
  decodeOpsPerSec: number;
  encodeOpsPerSec: number | null;
  /** Median over rounds of (codec rate / ctdbd rate of the same round); null when not measured. */
  decodeRatio: number | null;
  encodeRatio: number | null;
  decodeRatioRounds: number[];
  encodeRatioRounds: number[];
}

/** Per case: median rates across rounds and the median of the per-round ratios to the ctdbd rate. */
export function codecRatios(codecRounds: CodecBenchResult[][], ctdbd: CtdbdRates | null): CodecRatioRow[] {
  return codecRounds[0].map((first, i) => {
    const perRound = codecRounds.map((r) => r[i]);
    const ratios = (pick: (r: CodecBenchResult) => number | null): number[] => {
      if (!ctdbd || first.compareTo === null) return [];
      return perRound.flatMap((r, k) => {
        const rate = pick(r);
        const base = ctdbd.rounds[k]?.[first.compareTo!];
        return rate === null || !base ? [] : [round1(rate / base)];
      });
    };
    const decodeRatioRounds = ratios((r) => r.decodeOpsPerSec);
    const encodeRatioRounds = ratios((r) => r.encodeOpsPerSec);
    return {
      case: first.case, bytes: first.bytes, compareTo: first.compareTo,
      decodeOpsPerSec: Math.round(median(perRound.map((r) => r.decodeOpsPerSec))),
      encodeOpsPerSec: first.encodeOpsPerSec === null ? null : Math.round(median(perRound.map((r) => r.encodeOpsPerSec!))),
      decodeRatio: decodeRatioRounds.length ? median(decodeRatioRounds) : null,
      encodeRatio: encodeRatioRounds.length ? median(encodeRatioRounds) : null,
      decodeRatioRounds, encodeRatioRounds,
    };
  });
}

function ratioCell(x: number | null): string {
  if (x === null) return '-';
  return `${x >= 100 ? Math.round(x) : x.toFixed(1)}x${x < TARGET_RATIO ? ' LOW' : ''}`;
}

export function formatRatioTable(rows: CodecRatioRow[], ctdbdMedian: Record<number, number> | null): string {
  return table(['case', 'bytes', 'decode/s', 'encode/s', 'vs ctdbd', 'ctdbd msgs/s', 'decode ratio', 'encode ratio'],
    rows.map((r) => [r.case, String(r.bytes), num(r.decodeOpsPerSec), r.encodeOpsPerSec === null ? '-' : num(r.encodeOpsPerSec),
      r.compareTo === null ? '-' : sizeLabel(r.compareTo),
      r.compareTo === null || !ctdbdMedian ? '-' : num(ctdbdMedian[r.compareTo]),
      ratioCell(r.decodeRatio), ratioCell(r.encodeRatio)]));
}

/** One round of the real daemon's message rate for every payload size (sender and receiver on one node). */
async function ctdbdRound(sender: LegacyClient, receiver: LegacyClient, durationMs: number): Promise<Record<number, number>> {
  const rates: Record<number, number> = {};
  for (const size of MESSAGE_SIZES) {
    rates[size] = Math.round(await messageThroughput(sender, receiver, size, messageWindow(size), durationMs));
  }
  return rates;
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      rounds: { type: 'string', default: '3' },
      ms: { type: 'string', default: '500' },
      duration: { type: 'string', default: '1500' },
      'no-ctdbd': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const rounds = Math.max(1, Number(args.rounds));
  const ms = Number(args.ms);
  const durationMs = Number(args.duration);
  const log = (s: string) => { if (!args.json) process.stderr.write(`${s}\n`); };
  const t0 = performance.now();
  const codecRounds: CodecBenchResult[][] = [];
  let ctdbd: CtdbdRates | null = null;
  let notMeasured: string | null = args['no-ctdbd'] ? 'disabled by --no-ctdbd' : null;

  const codecRound = async (k: number) => {
    log(`round ${k + 1}/${rounds}: codec (${ms} ms per measurement)`);
    codecRounds.push(await runCodecBenchmarks({ msPerMeasurement: ms }));
  };

  if (!notMeasured) {
    try {
      await withRealCluster(1, async (cluster) => {
        const sender = await openBenchClient(cluster, 0);
        const receiver = await openBenchClient(cluster, 0);
        try {
          ctdbd = { rounds: [] };
          for (let k = 0; k < rounds; k++) {
            log(`round ${k + 1}/${rounds}: real ctdbd message rate (${durationMs} ms per size)`);
            ctdbd.rounds.push(await ctdbdRound(sender, receiver, durationMs));
            await codecRound(k);
          }
        } finally {
          await sender.close();
          await receiver.close();
        }
      });
    } catch (err) {
      if (!(err instanceof CtdbdNotInstalledError)) throw err;
      notMeasured = `ctdbd not installed (${err.path})`;
      ctdbd = null;
      codecRounds.length = 0;
    }
  }
  if (!ctdbd) for (let k = 0; k < rounds; k++) await codecRound(k);

  const measured = ctdbd as CtdbdRates | null;
  const ctdbdMedian = measured
    ? Object.fromEntries(MESSAGE_SIZES.map((s) => [s, Math.round(median(measured.rounds.map((r) => r[s])))])) as Record<number, number>
    : null;
  const rows = codecRatios(codecRounds, measured);
  const ratios = rows.flatMap((r) => [r.decodeRatio, r.encodeRatio]).filter((x): x is number => x !== null);
  const minRatio = ratios.length ? Math.min(...ratios) : null;
  const seconds = round1((performance.now() - t0) / 1000);

  if (!args.json) {
    const out: string[] = [];
    if (ctdbdMedian) {
      out.push(`codec vs real ctdbd 4.17, ${rounds} alternating rounds, medians (ratio = codec rate / ctdbd message rate of the same round)`);
      out.push(`ctdbd messages/s, one node, LegacyClient -> LegacyClient, many in flight: ${MESSAGE_SIZES
        .map((s) => `${sizeLabel(s)} ${num(ctdbdMedian[s])}`).join(', ')}` +
        ` (per round: ${measured!.rounds.map((r) => MESSAGE_SIZES.map((s) => num(r[s])).join('/')).join('; ')})`);
    } else {
      out.push(`codec rates, ${rounds} rounds, medians; ratio to ctdbd not measured: ${notMeasured}`);
    }
    out.push(formatRatioTable(rows, ctdbdMedian));
    if (minRatio !== null) {
      out.push(`lowest ratio ${minRatio}x; target >= ${TARGET_RATIO}x: ${minRatio >= TARGET_RATIO ? 'met' : 'NOT met (see LOW)'}`);
    }
    process.stdout.write(`${out.join('\n')}\n`);
  }
  process.stdout.write(`${JSON.stringify({
    benchmark: 'codec', node: process.version, seconds, rounds, msPerMeasurement: ms, targetRatio: TARGET_RATIO,
    ctdbd: measured ? { measured: true, durationMs, messagesPerSecond: ctdbdMedian, rounds: measured.rounds }
      : { measured: false, reason: notMeasured },
    minRatio, targetMet: minRatio === null ? null : minRatio >= TARGET_RATIO,
    results: rows,
  })}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
