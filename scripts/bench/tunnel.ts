// The transport over the legacy tunnel vs the raw legacy path, same run, same
// real ctdbd cluster (2 nodes, test mode):
//
//  - round trip: a transport request from a component on node 0 to a service
//    on node 1 over the tunnel uplink (transportd -> ctdbd -> ctdbd ->
//    transportd and back), vs a raw REQ_MESSAGE round trip through the same
//    two ctdbds (LegacyClient on node 0 -> SRVID on node 1, echoed back to an
//    SRVID on node 0). Same 64-byte payload, sequential, batch order rotating.
//    Target: tunnel/raw <= 1.1. A third path, the raw echo plus only the JSON
//    work any JSON payload needs (stringify, parse, both sides), shows the
//    floor JSON payloads set, and what the transport adds above it.
//  - throughput: requests/s with 32 in flight for 64 B, 1 KiB and 64 KiB JSON
//    payloads over the tunnel, WebSocket (between the same node addresses) and
//    in-process uplinks.
//
// Components attach to their transportd in-process, so both round trips
// cross the same two ctdbds and nothing else but the transport's own work.
//
//   node scripts/bin/run-ts.mjs scripts/bench/tunnel.ts [--rounds N] [--rtts N] [--duration MS] [--window N] [--json]

import { parseArgs } from 'node:util';
import { LegacyClient, type LegacyMessage } from '../../legacy/client/index.ts';
import { silentLogger } from '../../legacy/common/log.ts';
import {
  InProcessHub, Transportd, WebSocketUplink, createUplink, type TransportClient, type Uplink,
} from '../../transport/index.ts';
import { waitFor } from '../../transport/testing/inproc-cluster.ts';
import type { RealLocalCluster } from '../local-cluster/index.ts';
import { median, percentile, withRealCluster } from './real-cluster-bench.ts';
import { BENCH_SERVICE, benchRegistry, bodyOfSize, printTable, pump, sizeLabel } from './transport-load.ts';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '6' },
    rtts: { type: 'string', default: '2000' },
    duration: { type: 'string', default: '1500' },
    window: { type: 'string', default: '32' },
    json: { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(args.rounds);
const RTTS = Number(args.rtts);
const DURATION_MS = Number(args.duration);
const WINDOW = Number(args.window);
const SIZES = [64, 1024, 64 * 1024];
const UPLINKS = ['tunnel', 'ws', 'inproc'] as const;
type UplinkName = (typeof UPLINKS)[number];

/** SRVIDs of the raw echo (bridge's own range, no Samba meaning). */
const PING_SRVID = 0xcb1d0000bec00001n;
const PONG_SRVID = 0xcb1d0000bec00002n;

interface Pair {
  requester: TransportClient;
  close(): Promise<void>;
}

/** Transportds on nodes 0 and 1 over `uplinks`, a sink service on node 1, a requester on node 0. */
async function transportPair(uplinks: Uplink[], after: () => void = () => undefined, cleanup: () => Promise<void> = async () => undefined): Promise<Pair> {
  const daemons = uplinks.map((uplink) => new Transportd({ node: uplink.localNode, uplink, logger: silentLogger('transportd'), helloTimeoutMs: 3000 }));
  for (const d of daemons) await d.start();
  after();
  await waitFor(() => daemons.every((d) => d.status().nodes.filter((n) => n.state === 'transport').length === 1), 10_000, 'discovery');
  const sink = await daemons[1].connectClient({ service: BENCH_SERVICE, name: 'sink', registry: benchRegistry() }, (c) =>
    c.handle('bench.blob', (b: { data: string }) => b.data.length));
  const requester = await daemons[0].connectClient({ name: 'requester', registry: benchRegistry(), defaultTimeoutMs: 10_000 });
  return {
    requester,
    close: async () => {
      await requester.close();
      await sink.close();
      for (const d of daemons) await d.stop();
      await cleanup();
    },
  };
}

async function tunnelPair(cluster: RealLocalCluster): Promise<Pair> {
  const clients = await Promise.all([0, 1].map((n) => LegacyClient.connect({
    socketPath: cluster.nodes[n].socketPath, logger: silentLogger('legacy-client'), trackLeader: false,
  })));
  const uplinks = clients.map((client) => createUplink('tunnel', { node: client.pnn, logger: silentLogger('uplink'), tunnel: { client } }));
  return transportPair(uplinks, undefined, async () => {
    for (const c of clients) await c.close();
  });
}

async function wsPair(cluster: RealLocalCluster): Promise<Pair> {
  const secret = Buffer.from('benchmark cluster secret 0123456789');
  const ws = [0, 1].map((n) => new WebSocketUplink({
    node: n, listen: { host: cluster.nodes[n].address, port: 0 }, peers: [], secret, logger: silentLogger('ws'),
  }));
  // Ports are known only once listening.
  return transportPair(ws, () => {
    const peers = ws.map((u, n) => ({ node: n, ...u.address }));
    for (const u of ws) u.setPeers(peers);
  });
}

async function inprocPair(): Promise<Pair> {
  const hub = new InProcessHub([0, 1]);
  return transportPair([hub.createUplink(0), hub.createUplink(1)]);
}

/** SRVIDs of the raw echo with JSON handling (below). */
const JSON_PING_SRVID = 0xcb1d0000bec00003n;
const JSON_PONG_SRVID = 0xcb1d0000bec00004n;

interface RawEcho {
  roundTrip(payload: unknown): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * Raw legacy round trip: message to node 1, echoed back to node 0, through
 * the same ctdbds. `json`: each side also does the JSON work any JSON
 * payload needs and nothing else (stringify + Buffer on send, toString +
 * parse on receipt): the floor under the transport, which must do the same.
 */
async function rawEcho(cluster: RealLocalCluster, json: boolean): Promise<RawEcho> {
  const [a, b] = await Promise.all([0, 1].map((n) => LegacyClient.connect({
    socketPath: cluster.nodes[n].socketPath, logger: silentLogger('legacy-client'), trackLeader: false,
  })));
  const [ping, pong] = json ? [JSON_PING_SRVID, JSON_PONG_SRVID] : [PING_SRVID, PONG_SRVID];
  let wake: ((value: unknown) => void) | undefined;
  await b.registerSrvid(ping, (m: LegacyMessage) => {
    if (!json) return b.sendMessage(a.pnn, pong, m.data);
    const request = JSON.parse(m.data.toString()) as { type: string; body: { data: string } };
    b.sendMessage(a.pnn, pong, Buffer.from(JSON.stringify({ type: request.type, body: request.body.data.length })));
  });
  await a.registerSrvid(pong, (m: LegacyMessage) => wake?.(json ? (JSON.parse(m.data.toString()) as { body: unknown }).body : m.data));
  return {
    roundTrip: (payload) => new Promise((resolve) => {
      wake = resolve;
      a.sendMessage(b.pnn, ping, json ? Buffer.from(JSON.stringify({ type: 'bench.blob', body: payload })) : payload as Buffer);
    }),
    close: async () => {
      await a.close();
      await b.close();
    },
  };
}

async function timeEach(n: number, once: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await once();
    out.push(Number(process.hrtime.bigint() - t) / 1e3);
  }
  return out;
}

await withRealCluster(2, async (cluster) => {
  const began = performance.now();
  // ---- round trip, rotating the order each round ----
  const raw = await rawEcho(cluster, false);
  const rawJson = await rawEcho(cluster, true);
  const tunnel = await tunnelPair(cluster);
  const payload = Buffer.from(JSON.stringify({ type: 'bench.blob', body: bodyOfSize(64) }));
  const body = bodyOfSize(64);
  const paths = {
    raw: () => raw.roundTrip(payload),
    json: () => rawJson.roundTrip(body),
    tunnel: () => tunnel.requester.request({ node: 1, service: BENCH_SERVICE }, 'bench.blob', body),
  };
  const kinds = ['raw', 'json', 'tunnel'] as const;
  const rtt: Record<(typeof kinds)[number], number[]> = { raw: [], json: [], tunnel: [] };
  const roundRatios: number[] = [];
  for (const kind of kinds) await timeEach(RTTS, paths[kind]); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    const got: Partial<Record<(typeof kinds)[number], number[]>> = {};
    for (let i = 0; i < kinds.length; i++) {
      const kind = kinds[(r + i) % kinds.length];
      got[kind] = await timeEach(RTTS, paths[kind]);
      rtt[kind].push(...got[kind]);
    }
    roundRatios.push(median(got.tunnel!) / median(got.raw!));
  }
  await raw.close();
  await rawJson.close();
  // The transport's own work, hot, without any daemon: the same round trip over the in-process uplink.
  const hot = await inprocPair();
  const hotRtt = await timeEach(RTTS * 2, () => hot.requester.request({ node: 1, service: BENCH_SERVICE }, 'bench.blob', body));
  await hot.close();

  // ---- throughput over three uplinks ----
  const throughput: Record<UplinkName, Record<number, number>> = { tunnel: {}, ws: {}, inproc: {} };
  for (const name of UPLINKS) {
    const pair = name === 'tunnel' ? tunnel : name === 'ws' ? await wsPair(cluster) : await inprocPair();
    try {
      for (const size of SIZES) {
        const b = bodyOfSize(size);
        await pump(pair.requester, 1, b, 200, WINDOW);
        throughput[name][size] = await pump(pair.requester, 1, b, DURATION_MS, WINDOW);
      }
    } finally {
      await pair.close();
    }
  }

  const result = {
    rounds: ROUNDS, rttsPerRound: RTTS,
    rttUs: Object.fromEntries(kinds.map((k) => [k, { median: median(rtt[k]), p99: percentile(rtt[k], 99) }])),
    ratio: median(rtt.tunnel) / median(rtt.raw),
    jsonFloorRatio: median(rtt.json) / median(rtt.raw),
    overJsonFloor: median(rtt.tunnel) / median(rtt.json),
    inprocRttUs: median(hotRtt.slice(RTTS)),
    roundRatios,
    throughput: SIZES.map((size) => ({
      payloadBytes: size,
      ...Object.fromEntries(UPLINKS.map((u) => [`${u}MsgsPerSec`, Math.round(throughput[u][size])])),
    })),
  };
  if (args.json) {
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return;
  }
  const f = (us: number) => `${us.toFixed(1)} us`;
  process.stdout.write(`round trip, 64 B payload, node 0 -> node 1 -> node 0 through two real ctdbd 4.17, ` +
    `${ROUNDS} rounds x ${RTTS} per path, order rotating\n`);
  const label = { raw: 'raw REQ_MESSAGE echo', json: 'raw echo + JSON work only', tunnel: 'transport over tunnel' };
  printTable([
    ['path', 'median', 'p99'],
    ...kinds.map((k) => [label[k], f(result.rttUs[k].median), f(result.rttUs[k].p99)]),
  ]);
  process.stdout.write(`tunnel/raw = ${result.ratio.toFixed(3)} (target <= 1.1); per round: ${roundRatios.map((r) => r.toFixed(2)).join(' ')}\n`);
  process.stdout.write(`JSON floor: (raw + JSON work)/raw = ${result.jsonFloorRatio.toFixed(3)}; ` +
    `tunnel/(raw + JSON work) = ${result.overJsonFloor.toFixed(3)} (what routing, validation, headers and the tunnel add)\n`);
  process.stdout.write(`for context: the same transport round trip over the in-process uplink (no daemon, hot): ${f(result.inprocRttUs)}\n\n`);
  process.stdout.write(`request/reply throughput, ${WINDOW} in flight, ${DURATION_MS} ms per cell (msg/s)\n`);
  printTable([
    ['payload', 'tunnel', 'ws', 'inproc', 'tunnel/ws', 'tunnel MiB/s'],
    ...SIZES.map((size) => [
      sizeLabel(size), ...UPLINKS.map((u) => String(Math.round(throughput[u][size]))),
      (throughput.tunnel[size] / throughput.ws[size]).toFixed(2),
      ((throughput.tunnel[size] * size) / 2 ** 20).toFixed(1),
    ]),
  ]);
  process.stdout.write(`total ${((performance.now() - began) / 1000).toFixed(1)} s\n`);
});
