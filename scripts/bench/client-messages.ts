// Legacy messages (REQ_MESSAGE) client -> client through real ctdbd 4.17:
// both clients on one node, and sender on node 0 / receiver on node 1.
// Payloads 64 B, 1 KiB, 64 KiB.
//
//  - throughput: the sender keeps a window of unacknowledged messages in
//    flight; the receiver acknowledges (cumulative count, 4-byte message back)
//    every 16th message. messages/s = acknowledged messages / elapsed time.
//  - latency: ping-pong, the receiver echoes each payload back to the sender;
//    round-trip median and p99, one-way estimated as RTT/2.
//
// `messageThroughput` and friends are exported for benchmarks that compare
// against this rate in the same run (scripts/bench/codec.ts).
//
//   node scripts/bin/run-ts.mjs scripts/bench/client-messages.ts [--duration MS] [--pings N] [--json]

import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { LegacyClient, type LegacyMessage } from '../../legacy/client/index.ts';
import { silentLogger } from '../../legacy/common/log.ts';
import type { RealLocalCluster } from '../local-cluster/index.ts';
import { withRealCluster, median, percentile, fmtUs } from './real-cluster-bench.ts';

export const MESSAGE_SIZES = [64, 1024, 64 * 1024];
const ACK_EVERY = 16;
const FLAG_ACK_NOW = 1;

let srvidSeq = 0n;
const nextSrvid = () => 0xae00000000000000n | (BigInt(process.pid & 0xffff) << 32n) | ++srvidSeq;

interface Result {
  path: string;
  size: number;
  window: number;
  messagesPerSecond: number;
  mebibytesPerSecond: number;
  rttMedianUs: number;
  rttP99Us: number;
  oneWayUs: number;
}

/** Messages kept in flight for a payload size: up to 4 MiB, between 16 and 512 messages. */
export function messageWindow(size: number): number {
  return Math.max(16, Math.min(512, Math.floor((4 * 1024 * 1024) / size)));
}

/** A LegacyClient on node `pnn` of a benchmark cluster (no reconnect, no leader tracking). */
export function openBenchClient(cluster: RealLocalCluster, pnn: number): Promise<LegacyClient> {
  return LegacyClient.connect({
    socketPath: cluster.nodes[pnn].socketPath, logger: silentLogger(), reconnect: false, trackLeader: false,
  });
}

/**
 * Messages per second from `sender` to `receiver` for `durationMs`, with
 * `window` unacknowledged messages in flight.
 */
export function messageThroughput(sender: LegacyClient, receiver: LegacyClient, size: number, window: number,
  durationMs: number): Promise<number> {
  return acknowledgedMessages(sender, receiver, size, window, { durationMs });
}

/** The same for exactly `count` messages (memory benches: a known amount of traffic). */
export function messageCountThroughput(sender: LegacyClient, receiver: LegacyClient, size: number, window: number,
  count: number): Promise<number> {
  return acknowledgedMessages(sender, receiver, size, window, { count });
}

/**
 * The shared loop: `window` messages in flight, every ACK_EVERY-th and the
 * last one asking for a cumulative acknowledgement; stops after a duration or
 * a count. A lost message would stall the window: it fails after 10 s
 * without progress instead of hanging.
 */
async function acknowledgedMessages(sender: LegacyClient, receiver: LegacyClient, size: number, window: number,
  stop: { durationMs: number } | { count: number }): Promise<number> {
  const data = nextSrvid();
  const ack = nextSrvid();
  let received = 0;
  let acked = 0;
  let wake: (() => void) | undefined;
  const ackBuf = Buffer.alloc(4);
  const rx = await receiver.registerSrvid(data, (m: LegacyMessage) => {
    received++;
    if (m.data[0] === FLAG_ACK_NOW) {
      ackBuf.writeUInt32LE(received);
      receiver.sendMessage(sender.pnn, ack, ackBuf);
    }
  });
  const tx = await sender.registerSrvid(ack, (m: LegacyMessage) => {
    acked = m.data.readUInt32LE(0);
    wake?.();
  });
  const plain = Buffer.alloc(size, 0x5a);
  plain[0] = 0;
  const flagged = Buffer.from(plain);
  flagged[0] = FLAG_ACK_NOW;
  const deadline = 'durationMs' in stop ? Date.now() + stop.durationMs : Infinity;
  const limit = 'count' in stop ? stop.count : Infinity;
  let sent = 0;
  let lastAcked = -1;
  let stalled = false;
  const watchdog = setInterval(() => {
    stalled = acked === lastAcked;
    lastAcked = acked;
    if (stalled) wake?.();
  }, 10_000);
  const waitForAck = async () => {
    await new Promise<void>((r) => { wake = r; });
    if (stalled) throw new Error(`no progress for 10 s: ${acked} of ${sent} messages acknowledged (${received} received)`);
  };
  const started = process.hrtime.bigint();
  try {
    while (Date.now() < deadline && sent < limit) {
      while (sent < limit && sent - acked < window) {
        sent++;
        sender.sendMessage(receiver.pnn, data, sent % ACK_EVERY === 0 || sent === limit ? flagged : plain);
      }
      await waitForAck();
    }
    if (sent < limit) {
      // Timed run: make the last message ask for an ack.
      sent++;
      sender.sendMessage(receiver.pnn, data, flagged);
    }
    while (acked < sent) await waitForAck();
  } finally {
    clearInterval(watchdog);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await rx.close();
  await tx.close();
  return sent / seconds;
}

/** Round-trip times (seconds) of `pings` sequential ping-pongs of `size` bytes. */
export async function messageLatency(sender: LegacyClient, receiver: LegacyClient, size: number, pings: number): Promise<number[]> {
  const ping = nextSrvid();
  const pong = nextSrvid();
  const rx = await receiver.registerSrvid(ping, (m) => receiver.sendMessage(sender.pnn, pong, m.data));
  let wake: (() => void) | undefined;
  const tx = await sender.registerSrvid(pong, () => wake?.());
  const payload = Buffer.alloc(size, 0x33);
  const rtts: number[] = [];
  for (let i = 0; i < pings + 20; i++) {
    const t = process.hrtime.bigint();
    const back = new Promise<void>((r) => { wake = r; });
    sender.sendMessage(receiver.pnn, ping, payload);
    await back;
    if (i >= 20) rtts.push(Number(process.hrtime.bigint() - t) / 1e9); // first 20 warm up
  }
  await rx.close();
  await tx.close();
  return rtts;
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      duration: { type: 'string', default: '1500' },
      pings: { type: 'string', default: '300' },
      json: { type: 'boolean', default: false },
    },
  });
  const DURATION_MS = Number(args.duration);
  const PINGS = Number(args.pings);
  const results: Result[] = [];
  await withRealCluster(2, async (cluster) => {
    const paths: Array<[string, number, number]> = [['same node (0 -> 0)', 0, 0], ['across nodes (0 -> 1)', 0, 1]];
    for (const [path, from, to] of paths) {
      const sender = await openBenchClient(cluster, from);
      const receiver = await openBenchClient(cluster, to);
      try {
        for (const size of MESSAGE_SIZES) {
          const window = messageWindow(size);
          const mps = await messageThroughput(sender, receiver, size, window, DURATION_MS);
          const rtts = await messageLatency(sender, receiver, size, PINGS);
          results.push({
            path, size, window, messagesPerSecond: mps, mebibytesPerSecond: (mps * size) / (1024 * 1024),
            rttMedianUs: median(rtts) * 1e6, rttP99Us: percentile(rtts, 99) * 1e6, oneWayUs: (median(rtts) / 2) * 1e6,
          });
        }
      } finally {
        await sender.close();
        await receiver.close();
      }
    }
  });

  if (args.json) {
    process.stdout.write(`${JSON.stringify({ durationMs: DURATION_MS, pings: PINGS, results }, null, 2)}\n`);
  } else {
    process.stdout.write(`legacy messages client -> client via real ctdbd 4.17 (throughput ${DURATION_MS} ms, ${PINGS} ping-pongs per row)\n`);
    process.stdout.write(`${'path'.padEnd(24)}${'payload'.padStart(9)}${'msgs/s'.padStart(11)}${'MiB/s'.padStart(9)}` +
      `${'RTT med'.padStart(12)}${'RTT p99'.padStart(12)}${'one-way'.padStart(12)}\n`);
    for (const r of results) {
      const size = r.size >= 1024 ? `${r.size / 1024} KiB` : `${r.size} B`;
      process.stdout.write(`${r.path.padEnd(24)}${size.padStart(9)}${Math.round(r.messagesPerSecond).toString().padStart(11)}` +
        `${r.mebibytesPerSecond.toFixed(1).padStart(9)}${fmtUs(r.rttMedianUs / 1e6).padStart(12)}` +
        `${fmtUs(r.rttP99Us / 1e6).padStart(12)}${fmtUs(r.oneWayUs / 1e6).padStart(12)}\n`);
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
