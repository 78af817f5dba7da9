// The transport over the legacy tunnel and over WebSocket vs the raw legacy
// path, same run, same real ctdbd cluster (2 nodes, test mode):
//
//  - round trip, node 0 -> node 1 -> node 0, sequential, 64-byte JSON request
//    echoed back (bench.echo: the reply carries the same JSON body), paths
//    measured in rounds with the order rotating:
//      raw      a raw REQ_MESSAGE round trip through the two ctdbds (LegacyClient
//               on node 0 -> SRVID on node 1, which sends the same JSON bytes back);
//      json     the raw echo plus only the JSON work any JSON payload needs
//               (stringify, parse, both sides): the floor JSON payloads set;
//      tunnel   transportds in this process on the tunnel uplink, components
//               attached in-process (transportd -> ctdbd -> ctdbd -> transportd);
//               target tunnel/raw <= 1.1;
//      procs    the production layout: a transportd process per node (the
//               `ctdb-bridge transportd` command, tunnel uplink), the echo
//               component its own process attached over node 1's unix socket,
//               this process the requesting client on node 0's unix socket;
//               target procs/raw <= 1.3;
//      ws       transportds in this process on the WebSocket uplink between the
//               nodes' addresses, components in-process; target ws/raw <= 0.7;
//      wsProcs  the production layout of procs on the WebSocket uplink (no ctdbd
//               on the way), for comparison;
//      unix     one unix-socket round trip between this process and a Node child
//               that echoes bytes: procs crosses a process boundary 4 times more
//               than raw (requester <-> transportd, transportd <-> component), so
//               raw + 2 x unix is what procs costs with no work done anywhere
//               (printed as the layout's floor).
//  - throughput: requests/s with 32 in flight for 64 B, 1 KiB and 64 KiB JSON
//    payloads over every layout above and the in-process uplink, in rounds with
//    the order rotating (median per cell). Target ws/tunnel >= 2 (64 B, 1 KiB),
//    >= 1.5 (64 KiB) in the same layout; shown in-process and with processes.
//
// The transportd processes run the compiled dist/, so the run first brings it
// up to date with the sources, as the tests do. The in-process tunnel pair uses
// a tunnel id of its own, so both tunnel layouts stay up side by side.
//
//   node scripts/bin/run-ts.mjs scripts/bench/tunnel.ts [--rounds N] [--rtts N] [--duration MS] [--throughput-rounds N] [--window N] [--json]

import { spawn } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LegacyClient, type LegacyMessage } from '../../legacy/client/index.ts';
import { silentLogger } from '../../legacy/common/log.ts';
import { TunnelChannel, bridgeTunnelId } from '../../tunnel/index.ts';
import {
  BUILTIN_SERVICE, InProcessHub, Transportd, WebSocketUplink, connectTransport, createUplink, type TransportClient,
  type TransportStatus, type Uplink,
} from '../../transport/index.ts';
import { DEFAULT_WS_PORT } from '../../transport/uplinks/ws-config.ts';
import { waitFor } from '../../transport/testing/inproc-cluster.ts';
import { spawnTransportd, stopAllTransportds, type TransportdChild } from '../cli/start/transportd-children.ts';
import type { RealLocalCluster } from '../local-cluster/index.ts';
import buildDist from '../../vitest.global-setup.ts';
import { median, percentile, withRealCluster } from './real-cluster-bench.ts';
import { BENCH_SERVICE, bodyOfSize, printTable, pump, sizeLabel } from './transport-load.ts';
import { ECHO_TYPE, echoBenchRegistry, echoBodyOfSize, echoPayload, spawnEchoComponent, type EchoProcess } from './bench-echo.ts';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '6' },
    rtts: { type: 'string', default: '2000' },
    duration: { type: 'string', default: '1000' },
    'throughput-rounds': { type: 'string', default: '3' },
    window: { type: 'string', default: '32' },
    json: { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(args.rounds);
const RTTS = Number(args.rtts);
const DURATION_MS = Number(args.duration);
const THROUGHPUT_ROUNDS = Number(args['throughput-rounds']);
const WINDOW = Number(args.window);
const SIZES = [64, 1024, 64 * 1024];
const RTT_PAYLOAD = 64;
const LAYOUTS = ['tunnel', 'procs', 'ws', 'wsProcs', 'inproc'] as const;
type Layout = (typeof LAYOUTS)[number];
const KINDS = ['raw', 'json', 'tunnel', 'procs', 'ws', 'wsProcs', 'unix'] as const;
type Kind = (typeof KINDS)[number];
/** Ratio of a transport path to raw, and its target. */
const TARGETS: Partial<Record<Kind, number>> = { tunnel: 1.1, procs: 1.3, ws: 0.7 };
/** ws/tunnel throughput targets, by payload size. */
const THROUGHPUT_TARGETS: Record<number, number> = { 64: 2, 1024: 2, [64 * 1024]: 1.5 };

/** SRVIDs of the raw echo (bridge's own range, no Samba meaning). */
const PING_SRVID = 0xcb1d0000bec00001n;
const PONG_SRVID = 0xcb1d0000bec00002n;
/** SRVIDs of the raw echo with JSON handling. */
const JSON_PING_SRVID = 0xcb1d0000bec00003n;
const JSON_PONG_SRVID = 0xcb1d0000bec00004n;

const SECRET = 'benchmark cluster secret 0123456789';

interface Pair {
  requester: TransportClient;
  close(): Promise<void>;
}

/** The service on node 1: bench.blob (throughput) and bench.echo (round trips), as the echo component process. */
function serveBench(c: TransportClient): void {
  c.handle('bench.blob', (b: { data: string }) => b.data.length);
  c.handle(ECHO_TYPE, (b: { data: string }) => b);
}

/** Transportds in this process on nodes 0 and 1 over `uplinks`, the bench service on node 1, a requester on node 0. */
async function transportPair(uplinks: Uplink[], after: () => void = () => undefined, cleanup: () => Promise<void> = async () => undefined): Promise<Pair> {
  const daemons = uplinks.map((uplink) => new Transportd({ node: uplink.localNode, uplink, logger: silentLogger('transportd'), helloTimeoutMs: 3000 }));
  for (const d of daemons) await d.start();
  after();
  await waitFor(() => daemons.every((d) => d.status().nodes.filter((n) => n.state === 'transport').length === 1), 10_000, 'discovery');
  const service = await daemons[1].connectClient({ service: BENCH_SERVICE, name: 'bench', registry: echoBenchRegistry() }, serveBench);
  const requester = await daemons[0].connectClient({ name: 'requester', registry: echoBenchRegistry(), defaultTimeoutMs: 10_000 });
  return {
    requester,
    close: async () => {
      await requester.close();
      await service.close();
      for (const d of daemons) await d.stop();
      await cleanup();
    },
  };
}

/** In-process transportds on the tunnel uplink, on a tunnel id of their own (the transportd processes hold the default one). */
async function tunnelPair(cluster: RealLocalCluster): Promise<Pair> {
  const clients = await Promise.all([0, 1].map((n) => LegacyClient.connect({
    socketPath: cluster.nodes[n].socketPath, logger: silentLogger('legacy-client'), trackLeader: false,
  })));
  const tunnelId = bridgeTunnelId(TunnelChannel.TEST_BASE + 1);
  const uplinks = clients.map((client) => createUplink('tunnel', { node: client.pnn, logger: silentLogger('uplink'), tunnel: { client, tunnelId } }));
  return transportPair(uplinks, undefined, async () => {
    for (const c of clients) await c.close();
  });
}

async function wsPair(cluster: RealLocalCluster): Promise<Pair> {
  const ws = [0, 1].map((n) => new WebSocketUplink({
    node: n, listen: { host: cluster.nodes[n].address, port: 0 }, peers: [], secret: SECRET, logger: silentLogger('ws'),
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

/**
 * The production layout: `ctdb-bridge transportd` per node, the echo
 * component process on node 1's socket, this process the requester on node
 * 0's socket. Everything is stopped by PID. `tunnel`: the default tunnel id
 * through the nodes' ctdbds; `ws`: WebSocket links on each node's address,
 * port 4380 (the address is this cluster's own), a 0600 secret file.
 */
async function processPair(cluster: RealLocalCluster, uplink: 'tunnel' | 'ws'): Promise<Pair> {
  const children: TransportdChild[] = [];
  let echo: EchoProcess | undefined;
  let requester: TransportClient | undefined;
  const close = async (): Promise<void> => {
    await requester?.close();
    await echo?.stop();
    await stopAllTransportds(children);
  };
  let wsArgs = (_pnn: number): string[] => [];
  if (uplink === 'ws') {
    const secretFile = join(cluster.dir, 'ws-secret');
    await writeFile(secretFile, SECRET, { mode: 0o600 });
    await chmod(secretFile, 0o600);
    const peers = cluster.nodes.map((n) => `${n.pnn}=${n.address}:${DEFAULT_WS_PORT}`).join(',');
    // spawnTransportd names the tunnel uplink first; a later --uplink wins (commander keeps an option's last value).
    wsArgs = (pnn) => ['--uplink', 'ws', '--listen', `${cluster.nodes[pnn].address}:${DEFAULT_WS_PORT}`, '--peers', peers, '--secret-file', secretFile];
  }
  try {
    for (const pnn of [0, 1]) {
      children.push(await spawnTransportd({
        pnn, ctdbSocket: cluster.nodes[pnn].socketPath, socketPath: join(cluster.dir, `node.${pnn}`, 'run', `transportd-${uplink}.socket`),
        logFile: join(cluster.dir, `transportd-${uplink}.${pnn}.log`), extraArgs: wsArgs(pnn),
      }));
    }
    echo = await spawnEchoComponent({ socketPath: children[1].socketPath, service: BENCH_SERVICE });
    requester = await connectTransport({ socketPath: children[0].socketPath, name: 'requester', registry: echoBenchRegistry(), defaultTimeoutMs: 10_000 });
    const r = requester;
    const sees = async (node: number, other: number): Promise<boolean> => {
      const s = await r.request<TransportStatus>({ node, service: BUILTIN_SERVICE }, 'transport.status', {}).catch(() => undefined);
      return s?.uplink === uplink && s.nodes.some((n) => n.node === other && n.state === 'transport');
    };
    const deadline = Date.now() + 15_000;
    while (!((await sees(0, 1)) && (await sees(1, 0)))) {
      if (Date.now() > deadline) throw new Error(`transportd processes (${uplink}) did not see each other`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return { requester, close };
  } catch (err) {
    await close();
    throw err;
  }
}

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
    const request = JSON.parse(m.data.toString()) as { type: string; body: unknown };
    b.sendMessage(a.pnn, pong, Buffer.from(JSON.stringify({ type: request.type, body: request.body })));
  });
  await a.registerSrvid(pong, (m: LegacyMessage) => wake?.(json ? (JSON.parse(m.data.toString()) as { body: unknown }).body : m.data));
  return {
    roundTrip: (payload) => new Promise((resolve) => {
      wake = resolve;
      a.sendMessage(b.pnn, ping, json ? Buffer.from(JSON.stringify({ type: ECHO_TYPE, body: payload })) : payload as Buffer);
    }),
    close: async () => {
      await a.close();
      await b.close();
    },
  };
}

/** A Node child echoing bytes on a unix socket, and this process's connection to it (stopped by PID). */
async function unixEcho(dir: string): Promise<RawEcho> {
  const path = join(dir, 'unix-echo.socket');
  const script = `require('net').createServer((s) => s.on('data', (d) => s.write(d))).listen(${JSON.stringify(path)}, () => console.log('ready'))`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const stop = (): void => void (child.exitCode === null && child.kill('SIGKILL'));
  process.once('exit', stop);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`unix echo child exited (${code})`)));
  });
  const socket = connect(path);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return {
    roundTrip: (payload) => new Promise((resolve) => {
      socket.once('data', resolve);
      socket.write(payload as Buffer);
    }),
    close: async () => {
      socket.destroy();
      stop();
      process.off('exit', stop);
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

// The transportd processes run dist/: up to date with the sources first (incremental; a few seconds).
// tsc emits despite type errors, so one in a module under construction elsewhere is reported, not fatal.
try {
  buildDist();
} catch (err) {
  process.stderr.write(`warning: ${(err as Error).message.split('\n').slice(0, 4).join('\n')}\n(continuing with what tsc emitted)\n`);
}

await withRealCluster(2, async (cluster) => {
  const began = performance.now();
  const pairs: Partial<Record<Layout, Pair>> = {};
  const raw = await rawEcho(cluster, false);
  const rawJson = await rawEcho(cluster, true);
  const unix = await unixEcho(cluster.dir);
  try {
    pairs.tunnel = await tunnelPair(cluster);
    pairs.procs = await processPair(cluster, 'tunnel');
    pairs.ws = await wsPair(cluster);
    pairs.wsProcs = await processPair(cluster, 'ws');
    pairs.inproc = await inprocPair();

    // ---- round trip, rotating the order each round ----
    const body = echoBodyOfSize(RTT_PAYLOAD);
    const payload = echoPayload(body);
    if (payload.length !== RTT_PAYLOAD) throw new Error(`echo payload is ${payload.length} bytes, not ${RTT_PAYLOAD}`);
    const echo = (pair: Pair) => () => pair.requester.request({ node: 1, service: BENCH_SERVICE }, ECHO_TYPE, body);
    const paths: Record<Kind, () => Promise<unknown>> = {
      raw: () => raw.roundTrip(payload),
      json: () => rawJson.roundTrip(body),
      tunnel: echo(pairs.tunnel),
      procs: echo(pairs.procs),
      ws: echo(pairs.ws),
      wsProcs: echo(pairs.wsProcs),
      unix: () => unix.roundTrip(payload),
    };
    const rtt = Object.fromEntries(KINDS.map((k) => [k, [] as number[]])) as Record<Kind, number[]>;
    const roundRatios = Object.fromEntries(KINDS.map((k) => [k, [] as number[]])) as Record<Kind, number[]>;
    for (const kind of KINDS) await timeEach(RTTS, paths[kind]); // warm-up
    for (let r = 0; r < ROUNDS; r++) {
      const got: Partial<Record<Kind, number[]>> = {};
      for (let i = 0; i < KINDS.length; i++) {
        const kind = KINDS[(r + i) % KINDS.length];
        got[kind] = await timeEach(RTTS, paths[kind]);
        rtt[kind].push(...got[kind]);
      }
      for (const kind of KINDS) roundRatios[kind].push(median(got[kind]!) / median(got.raw!));
    }
    // The transport's own work, hot, without any daemon: the same round trip over the in-process uplink.
    const hotRtt = await timeEach(RTTS * 2, echo(pairs.inproc));

    // ---- throughput: every layout and size per round, the order rotating; median per cell ----
    const cells = LAYOUTS.flatMap((layout) => SIZES.map((size) => ({ layout, size })));
    const samples = new Map(cells.map((c) => [`${c.layout}/${c.size}`, [] as number[]]));
    for (const { layout, size } of cells) await pump(pairs[layout]!.requester, 1, bodyOfSize(size), 200, WINDOW); // warm-up
    for (let r = 0; r < THROUGHPUT_ROUNDS; r++) {
      for (let i = 0; i < cells.length; i++) {
        const { layout, size } = cells[(r * SIZES.length + i) % cells.length];
        samples.get(`${layout}/${size}`)!.push(await pump(pairs[layout]!.requester, 1, bodyOfSize(size), DURATION_MS, WINDOW));
      }
    }
    const perSec = (layout: Layout, size: number): number => median(samples.get(`${layout}/${size}`)!);

    const rawMedian = median(rtt.raw);
    const toRaw = (k: Kind): number => median(rtt[k]) / rawMedian;
    const result = {
      rounds: ROUNDS, rttsPerRound: RTTS, rttPayloadBytes: RTT_PAYLOAD, throughputRounds: THROUGHPUT_ROUNDS, durationMs: DURATION_MS, window: WINDOW,
      rttUs: Object.fromEntries(KINDS.map((k) => [k, {
        median: median(rtt[k]), p99: percentile(rtt[k], 99), toRaw: toRaw(k), perRound: roundRatios[k],
        ...(TARGETS[k] !== undefined && { target: TARGETS[k], met: toRaw(k) <= TARGETS[k]! }),
      }])) as Record<Kind, { median: number; p99: number; toRaw: number; perRound: number[]; target?: number; met?: boolean }>,
      tunnelOverJsonFloor: median(rtt.tunnel) / median(rtt.json),
      procsFloorToRaw: (rawMedian + 2 * median(rtt.unix)) / rawMedian,
      inprocRttUs: median(hotRtt.slice(RTTS)),
      throughput: SIZES.map((size) => ({
        payloadBytes: size,
        ...Object.fromEntries(LAYOUTS.map((l) => [`${l}MsgsPerSec`, Math.round(perSec(l, size))])),
        wsToTunnel: perSec('ws', size) / perSec('tunnel', size),
        wsProcsToProcs: perSec('wsProcs', size) / perSec('procs', size),
        target: THROUGHPUT_TARGETS[size],
      })),
    };
    if (args.json) {
      process.stdout.write(JSON.stringify(result, null, 2) + '\n');
      return;
    }
    const f = (us: number) => `${us.toFixed(1)} us`;
    const verdict = (value: number, target: number, atMost: boolean) =>
      `${atMost ? '<=' : '>='} ${target} ${(atMost ? value <= target : value >= target) ? 'met' : 'NOT met'}`;
    process.stdout.write(`round trip, ${RTT_PAYLOAD} B JSON echoed, node 0 -> node 1 -> node 0 through two real ctdbd 4.17, ` +
      `${ROUNDS} rounds x ${RTTS} per path, order rotating\n`);
    const label: Record<Kind, string> = {
      raw: 'raw REQ_MESSAGE echo', json: 'raw echo + JSON work only', tunnel: 'tunnel, in-process',
      procs: 'tunnel, processes', ws: 'WebSocket, in-process', wsProcs: 'WebSocket, processes',
      unix: 'unix socket, 2 processes',
    };
    printTable([
      ['path', 'median', 'p99', '/raw', 'per round', 'target'],
      ...KINDS.map((k) => {
        const x = result.rttUs[k];
        return [label[k], f(x.median), f(x.p99), x.toRaw.toFixed(3), x.perRound.map((r) => r.toFixed(2)).join(' '),
          x.target !== undefined ? verdict(x.toRaw, x.target, true) : ''];
      }),
    ]);
    process.stdout.write(`tunnel/(raw + JSON work) = ${result.tunnelOverJsonFloor.toFixed(3)} (what routing, validation, headers and the tunnel add); ` +
      `the same round trip over the in-process uplink (no daemon, hot): ${f(result.inprocRttUs)}\n` +
      `floor of the processes layout (raw + 2 unix-socket round trips, no work done): ${result.procsFloorToRaw.toFixed(3)} x raw\n\n`);
    process.stdout.write(`request/reply throughput, ${WINDOW} in flight, median of ${THROUGHPUT_ROUNDS} rotating rounds of ${DURATION_MS} ms per cell (msg/s)\n`);
    printTable([
      ['payload', 'tunnel', 'ws', 'ws/tunnel', 'target', 'tunnel procs', 'ws procs', 'procs ws/tunnel', 'inproc'],
      ...result.throughput.map((row) => {
        const n = (l: Layout) => String(Math.round(perSec(l, row.payloadBytes)));
        return [sizeLabel(row.payloadBytes), n('tunnel'), n('ws'), row.wsToTunnel.toFixed(2), verdict(row.wsToTunnel, row.target, false),
          n('procs'), n('wsProcs'), `${row.wsProcsToProcs.toFixed(2)} (${verdict(row.wsProcsToProcs, row.target, false)})`, n('inproc')];
      }),
    ]);
    process.stdout.write(`total ${((performance.now() - began) / 1000).toFixed(1)} s\n`);
  } finally {
    for (const pair of Object.values(pairs)) await pair.close();
    await raw.close();
    await rawJson.close();
    await unix.close();
  }
});
