import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { Operation } from '../../legacy/protocol/constants.ts';
import { controlPayloadCodecs, decodeControlReply, decodeControlRequest, modelledControls } from '../../legacy/protocol/control-payloads.ts';
import { Dissector } from '../../legacy/protocol/dissect.ts';
import { CtdbDecodeError, CtdbProtocolError } from '../../legacy/protocol/errors.ts';
import { PacketFramer } from '../../legacy/protocol/framing.ts';
import { decodeMessagePayload, type MessageKind } from '../../legacy/protocol/message-payloads.ts';
import { decodePacket, encodePacket, type Packet } from '../../legacy/protocol/packets.ts';
import { arbitraryFor, packetArbitrary } from '../../legacy/protocol/testing/arbitraries.ts';
import { prng } from '../../legacy/common/testing/prng.ts';

/**
 * Fuzz run over the legacy codec: mutated (bit flips, byte writes,
 * truncation, extension, length-field edits, splices) and random packets,
 * seeded from the capture fixtures and from random valid packets (including
 * controls carrying valid payloads), go through both framer modes,
 * decodePacket and the control / message payload decoders. Anything thrown
 * that is not a CtdbProtocolError is a failure. Reports rejections by error
 * type and RSS before/after.
 *
 * Run: node scripts/bin/run-ts.mjs scripts/bench/fuzz.ts [--count N] [--seed S] [--json]
 */

export interface FuzzOptions {
  count?: number;
  seed?: number;
  /** Where to write failing inputs (hex), default: none. */
  failureFile?: string;
}

export interface FuzzResult {
  inputs: number;
  seed: number;
  seeds: { fixturePackets: number; generatedPackets: number };
  framedPackets: number;
  decodedPackets: number;
  payloadsDecoded: number;
  /** Thrown values that were not CtdbProtocolError: must be 0. */
  uncaught: number;
  failures: Array<{ input: string; error: string }>;
  rejections: Record<string, number>;
  topRejectedStructures: Record<string, number>;
  rssBeforeMB: number;
  rssAfterMB: number;
  rssPeakMB: number;
  heapUsedAfterMB: number;
  seconds: number;
}


function fixturePackets(): Buffer[] {
  const root = fileURLToPath(new URL('../../legacy/protocol/fixtures/', import.meta.url));
  const out: Buffer[] = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.bin')) {
        try {
          new PacketFramer().push(readFileSync(path), (p) => out.push(Buffer.from(p)));
        } catch { /* a broken fixture is skipped; the fixture test reports it */ }
      }
    }
  };
  walk(root);
  return out;
}

function generatedPackets(seed: number, n: number): Buffer[] {
  const plain = fc.sample(packetArbitrary, { numRuns: n, seed }).map((p) => encodePacket(p, { padding: 'client' }));
  // Controls and replies with *valid* payloads, so mutations reach the payload decoders' deep fields.
  const opcodes = modelledControls();
  const withPayload: Buffer[] = [];
  opcodes.forEach((opcode, i) => {
    const { request, reply } = controlPayloadCodecs(opcode)!;
    const reqs = fc.sample(arbitraryFor(request), { numRuns: 3, seed: seed + i });
    const reps = fc.sample(arbitraryFor(reply), { numRuns: 3, seed: seed + 1000 + i });
    for (const v of reqs) {
      withPayload.push(encodePacket({ operation: Operation.REQ_CONTROL, generation: 1, destnode: 0, srcnode: 1, reqid: opcode,
        opcode, srvid: 0n, clientId: 0, flags: 0, data: request.encode(v) }));
    }
    for (const v of reps) {
      withPayload.push(encodePacket({ operation: Operation.REPLY_CONTROL, generation: 1, destnode: 0, srcnode: 1, reqid: opcode,
        status: 0, data: reply.encode(v), errorMessage: Buffer.alloc(0) }));
    }
  });
  return [...plain, ...withPayload];
}

const BOUNDARY_U32 = [0, 1, 3, 4, 7, 8, 16, 31, 32, 33, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

/** One mutation of `base` (possibly using `other` for splices). */
function mutate(rand: () => number, base: Buffer, other: Buffer): Buffer {
  const pick = (n: number) => Math.floor(rand() * n);
  const b = Buffer.from(base);
  switch (pick(9)) {
    case 0: { // bit flips
      const n = 1 + pick(4);
      for (let i = 0; i < n && b.length > 0; i++) b[pick(b.length)] ^= 1 << pick(8);
      return b;
    }
    case 1: { // random byte writes
      const n = 1 + pick(6);
      for (let i = 0; i < n && b.length > 0; i++) b[pick(b.length)] = pick(256);
      return b;
    }
    case 2: // truncation (header length left as is)
      return b.subarray(0, pick(b.length + 1));
    case 3: { // truncation with the header length fixed up, so framing passes and the body decoders see short data
      const t = Buffer.from(b.subarray(0, Math.min(b.length, 32 + pick(Math.max(1, b.length - 31)))));
      if (t.length >= 4) t.writeUInt32LE(t.length, 0);
      return t;
    }
    case 4: { // extension with random bytes, header length fixed up
      const extra = Buffer.alloc(1 + pick(64));
      for (let i = 0; i < extra.length; i++) extra[i] = pick(256);
      const e = Buffer.concat([b, extra]);
      if (e.length >= 4 && rand() < 0.7) e.writeUInt32LE(e.length, 0);
      return e;
    }
    case 5: { // length field edits: a u32 at an aligned offset in header or body (counts, lengths)
      if (b.length < 4) return b;
      const at = rand() < 0.2 ? 0 : 4 * pick(Math.floor(b.length / 4));
      const old = b.readUInt32LE(at);
      const choices = [...BOUNDARY_U32, old + 1, old - 1, old + 4, old * 2, b.length - at, pick(0x10000)];
      b.writeUInt32LE(choices[pick(choices.length)] >>> 0, at);
      return b;
    }
    case 6: { // splice two packets
      const cut = pick(b.length + 1);
      const cut2 = pick(other.length + 1);
      const s = Buffer.concat([b.subarray(0, cut), other.subarray(cut2)]);
      if (s.length >= 4 && rand() < 0.5) s.writeUInt32LE(s.length, 0);
      return s;
    }
    case 7: { // random packet with a valid-looking header
      const r = Buffer.alloc(32 + pick(96));
      for (let i = 0; i < r.length; i++) r[i] = pick(256);
      r.writeUInt32LE(r.length, 0);
      r.writeUInt32LE(0x43544442, 4);
      r.writeUInt32LE(1, 8);
      r.writeUInt32LE(pick(12), 16);
      return r;
    }
    default: { // pure noise
      const r = Buffer.alloc(pick(160));
      for (let i = 0; i < r.length; i++) r[i] = pick(256);
      return r;
    }
  }
}

const MESSAGE_KINDS: MessageKind[] = ['election', 'pnn', 'ip', 'nodeFlagChange', 'publicIp', 'recBuffer', 'recData',
  'srvidMessage', 'disableMessage', 'result', 'empty'];

export async function runFuzz(opts: FuzzOptions = {}): Promise<FuzzResult> {
  const count = opts.count ?? 1_000_000;
  const seed = opts.seed ?? 20261122;
  const rand = prng(seed);
  const pick = (n: number) => Math.floor(rand() * n);
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  const t0 = performance.now();

  const fixtures = fixturePackets();
  const generated = generatedPackets(seed, 2000);
  const corpus = [...fixtures, ...generated];
  const opcodes = modelledControls();
  const res: FuzzResult = {
    inputs: 0, seed, seeds: { fixturePackets: fixtures.length, generatedPackets: generated.length },
    framedPackets: 0, decodedPackets: 0, payloadsDecoded: 0, uncaught: 0, failures: [], rejections: {},
    topRejectedStructures: {}, rssBeforeMB: 0, rssAfterMB: 0, rssPeakMB: 0, heapUsedAfterMB: 0, seconds: 0,
  };
  const structures = new Map<string, number>();

  const guard = (input: Buffer, fn: () => void) => {
    try {
      fn();
    } catch (err) {
      if (err instanceof CtdbProtocolError) {
        res.rejections[err.name] = (res.rejections[err.name] ?? 0) + 1;
        if (err instanceof CtdbDecodeError) {
          const key = err.structure.replace(/ \(.*\)$/, '');
          structures.set(key, (structures.get(key) ?? 0) + 1);
        }
        return;
      }
      res.uncaught++;
      if (res.failures.length < 20) {
        res.failures.push({ input: input.toString('hex'), error: err instanceof Error ? `${err.name}: ${err.message}\n${err.stack}` : String(err) });
      }
    }
  };

  const decodeAll = (input: Buffer, packet: Buffer) => {
    guard(input, () => {
      const p: Packet = decodePacket(packet);
      res.decodedPackets++;
      if (p.operation === Operation.REQ_CONTROL) {
        guard(input, () => { decodeControlRequest(p.opcode, p.data); res.payloadsDecoded++; });
        guard(input, () => { decodeControlReply(p.opcode, p.data); res.payloadsDecoded++; });
      } else if (p.operation === Operation.REPLY_CONTROL) {
        // The opcode is not in the packet: try the one the template was made for (reqid) and a random one.
        guard(input, () => { decodeControlReply(p.reqid, p.data); res.payloadsDecoded++; });
        guard(input, () => { decodeControlReply(opcodes[pick(opcodes.length)], p.data); res.payloadsDecoded++; });
      } else if (p.operation === Operation.REQ_MESSAGE) {
        guard(input, () => { decodeMessagePayload(p.srvid, p.data); res.payloadsDecoded++; });
        guard(input, () => { decodeMessagePayload(p.srvid, p.data, MESSAGE_KINDS[pick(MESSAGE_KINDS.length)]); res.payloadsDecoded++; });
      }
    });
  };

  for (let i = 0; i < count; i++) {
    const base = corpus[pick(corpus.length)];
    const input = rand() < 0.03 ? Buffer.from(base) : mutate(rand, base, corpus[pick(corpus.length)]);
    res.inputs++;
    // Both framer modes, fed in up to three chunks.
    for (const strict of [false, true]) {
      guard(input, () => {
        const framer = new PacketFramer({ strict, maxPacketSize: 1 << 20 });
        const cut1 = pick(input.length + 1);
        const cut2 = cut1 + pick(input.length - cut1 + 1);
        for (const chunk of [input.subarray(0, cut1), input.subarray(cut1, cut2), input.subarray(cut2)]) {
          framer.push(chunk, (packet) => { res.framedPackets++; decodeAll(input, packet); });
        }
      });
    }
    // decodePacket on the raw bytes too (length mismatches, short buffers).
    guard(input, () => { decodePacket(input); });
    // Now and then the whole dissector with round trip (exercises the encoders on decoded values).
    if (i % 97 === 0) {
      guard(input, () => { new Dissector({ roundtrip: true }).dissectStream(input); });
    }
    if ((i & 0xffff) === 0) {
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      await new Promise((r) => setImmediate(r));
    }
  }

  global.gc?.();
  const mem = process.memoryUsage();
  res.rssBeforeMB = mb(rssBefore);
  res.rssAfterMB = mb(mem.rss);
  res.rssPeakMB = mb(Math.max(rssPeak, mem.rss));
  res.heapUsedAfterMB = mb(mem.heapUsed);
  res.seconds = Math.round((performance.now() - t0) / 100) / 10;
  res.topRejectedStructures = Object.fromEntries([...structures.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12));
  if (opts.failureFile && res.failures.length > 0) writeFileSync(opts.failureFile, JSON.stringify(res.failures, null, 2));
  return res;
}

function mb(bytes: number): number {
  return Math.round(bytes / 1024 / 1024 * 10) / 10;
}

export function fuzzSummaryLine(r: FuzzResult): string {
  const rej = Object.entries(r.rejections).map(([k, v]) => `${k} ${v}`).join(', ');
  return `fuzz: ${r.inputs} inputs (seed ${r.seed}), ${r.uncaught} uncaught exceptions, ${r.framedPackets} packets framed, `
    + `${r.decodedPackets} decoded, ${r.payloadsDecoded} payloads decoded; rejections: ${rej}; `
    + `rss ${r.rssBeforeMB} MB before, ${r.rssAfterMB} MB after (peak ${r.rssPeakMB} MB); ${r.seconds} s`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const result = await runFuzz({
    count: arg('--count') !== undefined ? Number(arg('--count')) : undefined,
    seed: arg('--seed') !== undefined ? Number(arg('--seed')) : undefined,
    failureFile: arg('--failures') ?? (process.argv.includes('--json') ? undefined : 'fuzz-failures.json'),
  });
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    process.stdout.write(`seeds: ${result.seeds.fixturePackets} fixture packets, ${result.seeds.generatedPackets} generated packets\n`);
    process.stdout.write(`rejected structures (top): ${JSON.stringify(result.topRejectedStructures)}\n`);
    for (const f of result.failures.slice(0, 3)) process.stdout.write(`FAILURE input=${f.input}\n${f.error}\n`);
  }
  process.stdout.write(`${fuzzSummaryLine(result)}\n`);
  if (result.uncaught > 0) process.exitCode = 1;
}
