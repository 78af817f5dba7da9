import { pathToFileURL } from 'node:url';
import { Node, Operation } from '../../legacy/protocol/constants.ts';
import { decodeControlReply, encodeControlReply } from '../../legacy/protocol/control-payloads.ts';
import { Control } from '../../legacy/protocol/controls.ts';
import { PacketFramer } from '../../legacy/protocol/framing.ts';
import { decodeMessagePayload, encodeMessagePayload } from '../../legacy/protocol/message-payloads.ts';
import { decodePacket, encodePacket, headerDef, packetBodyDef, type Packet } from '../../legacy/protocol/packets.ts';
import { Srvid } from '../../legacy/protocol/srvid.ts';
import type { NodeMap, RecBuffer } from '../../legacy/protocol/types/index.ts';

/**
 * Codec throughput: decode and encode rates for typical packets, measured
 * in-process (no I/O). Run: node scripts/bin/run-ts.mjs scripts/bench/codec.ts [--ms N]
 * Prints a table and a JSON line; `runCodecBenchmarks()` returns the numbers
 * for benchmarks that put them side by side with a real ctdbd's message rate.
 */

export interface CodecBenchResult {
  case: string;
  /** Bytes of one encoded item (packet or payload). */
  bytes: number;
  decodeOpsPerSec: number;
  /** null when the case only measures decoding. */
  encodeOpsPerSec: number | null;
  decodeMBPerSec: number;
  encodeMBPerSec: number | null;
}

export interface CodecBenchOptions {
  /** Measuring time per direction and case (default 800 ms). */
  msPerMeasurement?: number;
}

interface BenchCase {
  name: string;
  bytes: number;
  decode(): unknown;
  encode?(): unknown;
}

const hdr = { generation: 0x7343b374, destnode: 0, srcnode: 1, reqid: 2147483450 };

function cases(): BenchCase[] {
  const control: Packet = { operation: Operation.REQ_CONTROL, ...hdr, destnode: Node.CURRENT, opcode: Control.GET_PNN,
    srvid: 0n, clientId: 0, flags: 0, data: Buffer.alloc(0) };
  const controlBytes = encodePacket(control, { padding: 'client' });
  const controlBody = packetBodyDef(Operation.REQ_CONTROL)!;

  const nodeMap: NodeMap = { nodes: [0, 1, 2].map((pnn) => ({ pnn, flags: 0,
    addr: { family: 'inet' as const, address: `127.0.100.${pnn + 1}`, port: 4379 } })) };
  const nodeMapReply = (): Packet => ({ operation: Operation.REPLY_CONTROL, ...hdr, status: 0,
    data: encodeControlReply(Control.GET_NODEMAP, nodeMap), errorMessage: Buffer.alloc(0) });
  const nodeMapBytes = encodePacket(nodeMapReply());

  const message = (size: number): BenchCase => {
    const p: Packet = { operation: Operation.REQ_MESSAGE, ...hdr, srvid: Srvid.SAMBA_NOTIFY_PROXY, data: Buffer.alloc(size, 0x5a) };
    const b = encodePacket(p);
    return { name: `REQ_MESSAGE ${size >= 1024 ? `${size / 1024} KiB` : `${size} B`} payload`, bytes: b.length,
      decode: () => decodePacket(b), encode: () => encodePacket(p) };
  };

  const records: RecBuffer = { dbId: 0x37eb41c7, records: Array.from({ length: 1000 }, (_, i) => ({
    reqid: 0, key: Buffer.from(`key-${i.toString().padStart(8, '0')}`), data: Buffer.alloc(24 + 32, i & 0xff) })) };
  const recSrvid = Srvid.RECOVERY + 1n;
  const recPayload = encodeMessagePayload(recSrvid, records);
  const recPacket: Packet = { operation: Operation.REQ_MESSAGE, ...hdr, srvid: recSrvid, data: recPayload };
  const recBytes = encodePacket(recPacket);

  // A stream of 64 B-payload messages pushed through the framer in 64 KiB chunks.
  const small = encodePacket({ operation: Operation.REQ_MESSAGE, ...hdr, srvid: Srvid.SAMBA_NOTIFY_PROXY, data: Buffer.alloc(64) });
  const streamPackets = 1024;
  const stream = Buffer.concat(Array(streamPackets).fill(small));

  return [
    { name: 'REQ_CONTROL GET_PNN (empty)', bytes: controlBytes.length,
      decode: () => decodePacket(controlBytes), encode: () => encodePacket(control, { padding: 'client' }) },
    // The same packet through the binary-parser reference decoders (header + body), for comparison.
    { name: 'REQ_CONTROL GET_PNN, binary-parser reference decoder', bytes: controlBytes.length,
      decode: () => [headerDef.decodeReference(controlBytes), controlBody.decodeReference(controlBytes.subarray(32))] },
    { name: 'REPLY_CONTROL GET_NODEMAP, 3 nodes (packet + payload)', bytes: nodeMapBytes.length,
      decode: () => decodeControlReply(Control.GET_NODEMAP, (decodePacket(nodeMapBytes) as { data: Buffer }).data),
      encode: () => encodePacket(nodeMapReply()) },
    message(64),
    message(1024),
    message(64 * 1024),
    { name: 'rec_buffer of 1000 records (message + payload)', bytes: recBytes.length,
      decode: () => decodeMessagePayload(recSrvid, (decodePacket(recBytes) as { data: Buffer }).data),
      encode: () => encodePacket({ ...recPacket, data: encodeMessagePayload(recSrvid, records) } as Packet) },
    { name: `framer + decode, ${streamPackets} x 64 B messages per op`, bytes: stream.length,
      decode: () => {
        const framer = new PacketFramer();
        let n = 0;
        for (let off = 0; off < stream.length; off += 65536) {
          framer.push(stream.subarray(off, off + 65536), (p) => { decodePacket(p); n++; });
        }
        return n;
      },
      encode: () => Buffer.concat(Array.from({ length: streamPackets }, () => encodePacket(
        { operation: Operation.REQ_MESSAGE, ...hdr, srvid: Srvid.SAMBA_NOTIFY_PROXY, data: Buffer.alloc(64) }))) },
  ];
}

let sink: unknown;

/** Operations per second of `fn` over about `ms` milliseconds (after a short warm-up). */
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

export async function runCodecBenchmarks(opts: CodecBenchOptions = {}): Promise<CodecBenchResult[]> {
  const ms = opts.msPerMeasurement ?? 800;
  const out: CodecBenchResult[] = [];
  for (const c of cases()) {
    const decodeOpsPerSec = measure(c.decode, ms);
    await new Promise((r) => setImmediate(r));
    const encodeOpsPerSec = c.encode ? measure(c.encode, ms) : null;
    await new Promise((r) => setImmediate(r));
    out.push({
      case: c.name, bytes: c.bytes,
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

export function formatCodecTable(results: CodecBenchResult[]): string {
  const head = ['case', 'bytes', 'decode ops/s', 'encode ops/s', 'decode MB/s', 'encode MB/s'];
  const rows = results.map((r) => [r.case, String(r.bytes), r.decodeOpsPerSec.toLocaleString('en-US'),
    r.encodeOpsPerSec?.toLocaleString('en-US') ?? '-', String(r.decodeMBPerSec), String(r.encodeMBPerSec ?? '-')]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--ms');
  const ms = i > 0 ? Number(process.argv[i + 1]) : undefined;
  const t0 = performance.now();
  const results = await runCodecBenchmarks({ msPerMeasurement: ms });
  process.stdout.write(`${formatCodecTable(results)}\n`);
  process.stdout.write(`${JSON.stringify({ benchmark: 'codec', node: process.version, seconds: round1((performance.now() - t0) / 1000), results })}\n`);
}
