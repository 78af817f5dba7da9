// Hostile input: every hostile-suite attack on the embedded daemon and real ctdbd 4.17, side by side in one run.
//
// Two 3-node clusters (embedded: one `ctdb-bridge node` process per node;
// real: Debian's ctdbd in test mode) are started together. Each attack goes
// to node 0 of one cluster, then of the other, while a well-behaved client
// on its own connection runs GET_PNN round trips; per attack a table gives
// its p50/p99/max, its errors, and the attacked daemon's RSS before, at its
// peak during, and after (once back within bound, or after 10 s). Then the
// transportd attacks against a transportd process per node on each cluster
// (tunnel uplink; the well-behaved client pings node 1), and the WebSocket
// relay (in-process transportds, daemon-independent). Attacks real ctdbd
// cannot survive (a fake node lying about reply lengths) run on the
// embedded side only. The attack code is the suite's
// (compat-tests/hostile/); the embedded nodes run the compiled dist/
// (`npm run build` first).
//
//   node scripts/bin/run-ts.mjs scripts/bench/hostile.ts [--only TEXT] [--skip-real] [--json]

import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EmbeddedLocalCluster, RealLocalCluster } from '../local-cluster/index.ts';
import { DEFAULT_WS_PORT } from '../../transport/uplinks/ws-config.ts';
import { DISCLOSURE_ATTACK_NAME, measureDisclosure } from '../../compat-tests/hostile/fake-node.ts';
import { formatTables, type Measurement } from '../../compat-tests/hostile/measure.ts';
import { startTransportds, stopAllTransportds, type TransportdChild } from '../../compat-tests/hostile/processes.ts';
import {
  BASIC_SCENARIOS, PARTIAL_BIG_PACKETS_SCENARIO, PROCESS_EXISTS_SCENARIO, measureScenario, type LegacyScenario,
} from '../../compat-tests/hostile/scenarios.ts';
import {
  DISCOVERY_FLOOD_SCENARIO, FORGED_CONTROL_SCENARIO, measureTransportScenario, type TransportScenario,
} from '../../compat-tests/hostile/transport-scenarios.ts';
import { wsRelayAttack } from '../../compat-tests/hostile/ws-relay-attack.ts';
import { killOnExit } from './real-cluster-bench.ts';

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    'skip-real': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});

type Row = Measurement<unknown> | { attack: string; daemon: string; skipped: string };

const wanted = (name: string) => !args.only || name.toLowerCase().includes(args.only.toLowerCase());

interface Side {
  label: string;
  cluster: EmbeddedLocalCluster | RealLocalCluster;
  transportds: TransportdChild[];
}

async function main(): Promise<void> {
  if (!existsSync(new URL('../../dist/scripts/cli/main.js', import.meta.url))) {
    throw new Error('the embedded nodes and transportds run the compiled dist/: run `npm run build` first');
  }
  const dirs = await Promise.all([mkdtemp(join(tmpdir(), 'ctdb-bridge-bench-emb-')), mkdtemp(join(tmpdir(), 'ctdb-bridge-bench-real-'))]);
  const emb = new EmbeddedLocalCluster({ dir: dirs[0], nodes: 3, ownerPid: process.pid });
  const real = args['skip-real'] ? undefined : new RealLocalCluster({ dir: dirs[1], nodes: 3, ownerPid: process.pid });
  const clusters = real ? [emb, real] : [emb];
  const release = killOnExit(clusters);
  const sides: Side[] = [];
  const rows: Row[] = [];
  const notes: string[] = [];
  const started = Date.now();
  try {
    await Promise.all(clusters.map((c) => c.up()));
    sides.push({ label: 'embedded', cluster: emb, transportds: [] });
    if (real) sides.push({ label: 'real ctdbd', cluster: real, transportds: [] });

    const legacy: LegacyScenario[] = [...BASIC_SCENARIOS, PROCESS_EXISTS_SCENARIO, PARTIAL_BIG_PACKETS_SCENARIO];
    for (const scenario of legacy.filter((s) => wanted(s.name))) {
      for (const side of sides) rows.push(await measureScenario({ daemon: side.label, nodes: side.cluster.nodes }, scenario));
    }
    if (wanted(DISCLOSURE_ATTACK_NAME)) {
      rows.push(await measureDisclosure(emb, 'embedded'));
      if (real) rows.push({ attack: DISCLOSURE_ATTACK_NAME, daemon: 'real ctdbd', skipped: 'ctdbd trusts a peer\'s reply lengths (reads past the packet)' });
    }

    const transport: TransportScenario[] = [DISCOVERY_FLOOD_SCENARIO, FORGED_CONTROL_SCENARIO].filter((s) => wanted(s.name));
    if (transport.length > 0) {
      for (const side of sides) side.transportds = await startTransportds(side.cluster.nodes);
      for (const scenario of transport) {
        for (const side of sides) {
          rows.push(await measureTransportScenario({ nodes: side.cluster.nodes, children: side.transportds }, scenario, `transportd on ${side.label}`));
        }
      }
    }

    if (wanted('websocket relay')) {
      const [a, b] = emb.nodes;
      const t0 = Date.now();
      const r = await wsRelayAttack({ a: a.address, b: b.address, relay: a.address.replace(/\.\d+$/, '.200'), port: DEFAULT_WS_PORT });
      notes.push(`websocket relay (in-process transportds): events at node 1 ${JSON.stringify(r.eventsAtB)} (sent: [1,2]), ` +
        `at node 0 ${JSON.stringify(r.eventsAtA)} (sent: []), node 0 saw node 1 as ${r.aSawB.join(' / ')}, ` +
        `${r.injected} injected + ${r.replayed} replayed frames, ${r.links} link(s), ping after: ${r.pingAfter}, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
  } finally {
    for (const side of sides) await stopAllTransportds(side.transportds);
    await Promise.allSettled(clusters.map((c) => c.down()));
    release();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  }
  if (args.json) {
    const plain = rows.map((r) => ('skipped' in r ? r : { ...r, result: undefined }));
    process.stdout.write(`${JSON.stringify({ rows: plain, notes, seconds: (Date.now() - started) / 1000 }, null, 2)}\n`);
    return;
  }
  process.stdout.write(`hostile input: well-behaved client during each attack, attacked daemon's RSS (node 0 of 3; ${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
  process.stdout.write(`${formatTables(rows)}\n`);
  for (const n of notes) process.stdout.write(`\n${n}\n`);
}

// Progress lines (one per attack) go to stderr: stdout is the report.
console.info = (...parts: unknown[]) => void process.stderr.write(`${parts.join(' ')}\n`);
await main();
