// Control RTT floor: what part of the embedded daemon's round trip is the
// daemon's own work, and what part any Node daemon pays. Same lean client,
// same run, rounds rotating between:
//  - real: Debian ctdbd 4.17 (test-mode 3-node cluster);
//  - embedded: our daemon (`ctdb-bridge node`, 3-node embedded cluster);
//  - floor: two bare Node processes (floor-node.ts) that answer GET_PNN
//    themselves or relay it over TCP to each other, nothing else.
// Metrics: sequential GET_PNN RTT to the local daemon and to node 1 via
// node 0 (medians of medians). embedded/floor is the daemon's own overhead;
// floor/real is what Node itself costs against ctdbd's C.
//
//   node scripts/bin/run-ts.mjs scripts/bench/daemon-floor.ts [--rounds N] [--rtts N] [--json]

import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Node } from '../../legacy/protocol/constants.ts';
import { EmbeddedLocalCluster, RealLocalCluster, type LocalCluster } from '../local-cluster/index.ts';
import { LeanClient, controlRtt } from './lean-client.ts';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    rtts: { type: 'string', default: '5000' },
    json: { type: 'boolean', default: false },
  },
});

const RUN_TS = fileURLToPath(new URL('../bin/run-ts.mjs', import.meta.url));
const FLOOR_NODE = fileURLToPath(new URL('./floor-node.ts', import.meta.url));

function startFloorNode(socket: string, pnn: number): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(RUN_TS, [FLOOR_NODE, '--socket', socket, '--pnn', String(pnn)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve) => child.once('message', (m: { port: number }) => resolve({ child, port: m.port })));
}

function connectFloor(child: ChildProcess, peerPort: number): Promise<void> {
  return new Promise((resolve) => {
    child.once('message', () => resolve());
    child.send({ peerPort });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

async function main(): Promise<void> {
  const rounds = Number(args.rounds);
  const nRtt = Number(args.rtts);
  const dirs = await Promise.all(['real', 'emb', 'floor'].map((k) => mkdtemp(join(tmpdir(), `ctdb-bridge-floor-${k}-`))));
  const real = new RealLocalCluster({ dir: dirs[0], nodes: 3, ownerPid: process.pid });
  const emb = new EmbeddedLocalCluster({ dir: dirs[1], nodes: 3, ownerPid: process.pid });
  const clusters: LocalCluster[] = [real, emb];
  const floors: ChildProcess[] = [];
  const killNow = () => {
    for (const c of clusters) for (const pid of c.pids()) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    for (const f of floors) f.kill('SIGKILL');
  };
  process.on('exit', killNow);
  process.on('SIGINT', () => { killNow(); process.exit(130); });
  const clients: LeanClient[] = [];
  try {
    await Promise.all([real.up(), emb.up()]);
    const f0 = await startFloorNode(join(dirs[2], 'floor0.socket'), 0);
    const f1 = await startFloorNode(join(dirs[2], 'floor1.socket'), 1);
    floors.push(f0.child, f1.child);
    await Promise.all([connectFloor(f0.child, f1.port), connectFloor(f1.child, f0.port)]);
    const sides = [
      { name: 'real', c: await LeanClient.open(real.nodes[0].socketPath) },
      { name: 'embedded', c: await LeanClient.open(emb.nodes[0].socketPath) },
      { name: 'floor', c: await LeanClient.open(join(dirs[2], 'floor0.socket')) },
    ];
    clients.push(...sides.map((s) => s.c));
    const results: Record<string, Record<string, number[]>> = { local: {}, remote: {} };
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < sides.length; i++) {
        const s = sides[(i + round) % sides.length];
        (results.local[s.name] ??= []).push(await controlRtt(s.c, Node.CURRENT, nRtt));
        (results.remote[s.name] ??= []).push(await controlRtt(s.c, 1, nRtt));
      }
    }
    const table = Object.entries(results).map(([metric, v]) => {
      const m = Object.fromEntries(Object.entries(v).map(([k, xs]) => [k, median(xs)]));
      return { metric: metric === 'local' ? 'control RTT local (us)' : 'control RTT node0->node1 (us)', ...m,
        embeddedVsReal: m.embedded / m.real, floorVsReal: m.floor / m.real, embeddedVsFloor: m.embedded / m.floor };
    });
    if (args.json) {
      process.stdout.write(JSON.stringify({ rounds, rtts: nRtt, table, raw: results }, null, 2) + '\n');
    } else {
      process.stdout.write(`control RTT floor (${rounds} rotating rounds, medians of per-round medians)\n`);
      for (const t of table) {
        const r = t as unknown as Record<string, number> & { metric: string };
        process.stdout.write(`${r.metric.padEnd(30)} real ${r.real.toFixed(1).padStart(6)}  embedded ${r.embedded.toFixed(1).padStart(6)}`
          + `  floor ${r.floor.toFixed(1).padStart(6)}  | embedded/real ${r.embeddedVsReal.toFixed(2)}`
          + `  floor/real ${r.floorVsReal.toFixed(2)}  embedded/floor ${r.embeddedVsFloor.toFixed(2)}\n`);
      }
    }
  } finally {
    for (const c of clients) c.close();
    for (const f of floors) f.kill();
    await Promise.allSettled([real.down(), emb.down()]);
    killNow();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  }
}

await main();
