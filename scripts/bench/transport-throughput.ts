// Transport throughput: request/reply messages per second between a client
// on node 0 and a service on node 1, both attached to their transportd over
// the unix socket, for JSON payloads of 64 B, 1 KiB and 64 KiB, over the
// in-process and WebSocket uplinks measured side by side in one run.
// The legacy-tunnel uplink needs a real cluster: scripts/bench/tunnel.ts
// measures all three uplinks side by side against one.
//
//   node scripts/bin/run-ts.mjs scripts/bench/transport-throughput.ts [--duration MS] [--window N] [--json]

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { silentLogger } from '../../legacy/common/log.ts';
import {
  InProcessHub, Transportd, WebSocketUplink, connectTransport, type TransportClient, type Uplink,
} from '../../transport/index.ts';
import { waitFor } from '../../transport/testing/inproc-cluster.ts';
import { BENCH_SERVICE, benchRegistry, bodyOfSize, pump as pumpTo } from './transport-load.ts';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '1500' },
    window: { type: 'string', default: '32' },
    json: { type: 'boolean', default: false },
  },
});
const DURATION_MS = Number(args.duration);
const WINDOW = Number(args.window);
const SIZES = [64, 1024, 64 * 1024];
const KINDS = ['inproc', 'ws'] as const;
type Kind = (typeof KINDS)[number];

const registry = benchRegistry();

interface Setup {
  sender: TransportClient;
  close(): Promise<void>;
}

async function setUp(kind: Kind, dir: string): Promise<Setup> {
  let uplinks: Uplink[];
  let afterStart = (): void => undefined;
  if (kind === 'inproc') {
    const hub = new InProcessHub([0, 1]);
    uplinks = [hub.createUplink(0), hub.createUplink(1)];
  } else {
    const secret = Buffer.from('benchmark cluster secret 0123456789');
    const ws = [0, 1].map((n) => new WebSocketUplink({
      node: n, listen: { host: `127.0.0.${n + 21}`, port: 0 }, peers: [], secret, logger: silentLogger('ws'),
    }));
    uplinks = ws;
    // Ports are known only once listening.
    afterStart = () => {
      const peers = ws.map((u, n) => ({ node: n, ...u.address }));
      for (const u of ws) u.setPeers(peers);
    };
  }
  const daemons = uplinks.map((uplink, n) => new Transportd({
    node: n, uplink, socketPath: join(dir, `${kind}-${n}.sock`), logger: silentLogger('transportd'), helloTimeoutMs: 2000,
  }));
  for (const d of daemons) await d.start();
  afterStart();
  await waitFor(() => daemons[0].status().nodes.some((x) => x.node === 1 && x.state === 'transport'), 5000, 'discovery');
  const sink = await connectTransport({ socketPath: daemons[1].socketPath, service: BENCH_SERVICE, name: 'sink', registry }, (c) =>
    c.handle('bench.blob', (b: { data: string }) => b.data.length));
  const sender = await connectTransport({ socketPath: daemons[0].socketPath, name: 'sender', registry, defaultTimeoutMs: 10_000 });
  return {
    sender,
    close: async () => {
      await sender.close();
      await sink.close();
      for (const d of daemons) await d.stop();
    },
  };
}

/** Keeps WINDOW requests in flight for `ms`; returns completed requests per second. */
function pump(sender: TransportClient, body: unknown, ms: number): Promise<number> {
  return pumpTo(sender, 1, body, ms, WINDOW);
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'transport-bench-'));
  const results: Record<Kind, Record<number, number>> = { inproc: {}, ws: {} };
  const began = performance.now();
  try {
    for (const kind of KINDS) {
      const s = await setUp(kind, dir);
      try {
        for (const size of SIZES) {
          const body = bodyOfSize(size);
          await pump(s.sender, body, 200); // warm-up
          results[kind][size] = await pump(s.sender, body, DURATION_MS);
        }
      } finally {
        await s.close();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const rows = SIZES.map((size) => ({
    payloadBytes: size,
    inprocMsgsPerSec: Math.round(results.inproc[size]),
    wsMsgsPerSec: Math.round(results.ws[size]),
    wsToInproc: Number((results.ws[size] / results.inproc[size]).toFixed(2)),
  }));
  if (args.json) {
    process.stdout.write(JSON.stringify({ window: WINDOW, durationMs: DURATION_MS, rows }, null, 2) + '\n');
    return;
  }
  const label = (n: number): string => (n >= 1024 ? `${n / 1024} KiB` : `${n} B`);
  const table = [['payload', 'inproc msg/s', 'ws msg/s', 'ws/inproc', 'ws MiB/s']];
  for (const r of rows) {
    table.push([label(r.payloadBytes), String(r.inprocMsgsPerSec), String(r.wsMsgsPerSec), r.wsToInproc.toFixed(2),
      ((r.wsMsgsPerSec * r.payloadBytes) / 2 ** 20).toFixed(1)]);
  }
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  process.stdout.write(`transport request/reply throughput, unix-socket clients on both ends, ${WINDOW} in flight, ${DURATION_MS} ms per cell\n`);
  for (const row of table) process.stdout.write(row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ') + '\n');
  process.stdout.write(`(tunnel uplink: scripts/bench/tunnel.ts, needs a real cluster)  total ${((performance.now() - began) / 1000).toFixed(1)} s\n`);
}

await main();
