// ctdbd's own public IP failover time (issue 10 baselines): in a netns
// cluster of real ctdbd (one network namespace per node, outside test mode,
// 10.interface), kill -9 a node and time until every public address it
// hosted answers from a survivor, as a client on the bridge sees it (TCP
// connect to the responder each node runs) and as `ctdb ip all` reports it.
// Two cases, each run --runs times (median): a non-leader, and the leader
// (recovery master, holder of the cluster lock). The node is restarted and
// the addresses rebalanced between runs. Needs root.
//
//   node scripts/bin/run-ts.mjs scripts/bench/failover-netns.ts [--runs 3] [--nodes 3] [--json]

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../../legacy/common/log.ts';
import { NetnsRealLocalCluster } from '../local-cluster/netns/index.ts';
import { median } from './real-cluster-bench.ts';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    nodes: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
});

const runs = Number(args.runs);
const nodeCount = Number(args.nodes);
const FAILOVER_LIMIT_MS = 60_000;
const POLL_MS = 50;

type Case = 'non-leader' | 'leader';

interface Sample {
  case: Case;
  victim: number;
  addresses: number;
  /** kill -9 until the client reaches a survivor on every address the victim hosted. */
  clientMs: number;
  /** kill -9 until `ctdb ip all` on a survivor shows every one of them on a survivor. */
  ctdbMs: number;
}

function progress(text: string): void {
  if (!args.json) process.stderr.write(`${text}\n`);
}

/** Waits until every node hosts some address and the client's view equals ctdb's (a settled cluster). */
async function settle(cluster: NetnsRealLocalCluster): Promise<Map<string, number>> {
  const deadline = Date.now() + FAILOVER_LIMIT_MS;
  for (;;) {
    const ctdbView = await cluster.ctdbIpAll().catch(() => new Map<string, number>());
    const answers = await cluster.netns.answersAll();
    const hosting = new Set(ctdbView.values());
    const agree = [...answers].every(([ip, pnn]) => pnn !== undefined && ctdbView.get(ip) === pnn);
    if (agree && cluster.nodes.every((n) => hosting.has(n.pnn))) return ctdbView;
    if (Date.now() > deadline) throw new Error(`cluster did not settle: ctdb ${JSON.stringify([...ctdbView])}, client ${JSON.stringify([...answers])}`);
    await sleep(200);
  }
}

async function measure(cluster: NetnsRealLocalCluster, which: Case): Promise<Sample> {
  const before = await settle(cluster);
  const leader = await cluster.leader();
  const victim = which === 'leader' ? leader : cluster.nodes.map((n) => n.pnn).find((p) => p !== leader)!;
  const moved = [...before].filter(([, pnn]) => pnn === victim).map(([ip]) => ip);
  const survivor = cluster.nodes.map((n) => n.pnn).find((p) => p !== victim)!;
  const started = Date.now();
  await cluster.killNode(victim);
  let clientMs: number | undefined;
  let ctdbMs: number | undefined;
  while (clientMs === undefined || ctdbMs === undefined) {
    if (Date.now() - started > FAILOVER_LIMIT_MS) throw new Error(`${which} ${victim}: addresses not taken over in ${FAILOVER_LIMIT_MS} ms`);
    const [answers, ctdbView] = await Promise.all([
      clientMs === undefined ? Promise.all(moved.map((ip) => cluster.whoAnswers(ip))) : Promise.resolve([]),
      ctdbMs === undefined ? cluster.ctdbIpAll(survivor).catch(() => null) : Promise.resolve(null),
    ]);
    const now = Date.now() - started;
    if (clientMs === undefined && answers.every((pnn) => pnn !== undefined && pnn !== victim)) clientMs = now;
    if (ctdbMs === undefined && ctdbView && moved.every((ip) => (ctdbView.get(ip) ?? -1) >= 0 && ctdbView.get(ip) !== victim)) ctdbMs = now;
    await sleep(POLL_MS);
  }
  progress(`  ${which} ${victim} (${moved.length} addresses): client ${clientMs} ms, ctdb ip ${ctdbMs} ms`);
  await cluster.startNode(victim);
  return { case: which, victim, addresses: moved.length, clientMs, ctdbMs };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ctdb-bridge-bench-netns-'));
  const cluster = new NetnsRealLocalCluster({ dir, nodes: nodeCount, ownerPid: process.pid, logger: silentLogger('bench') });
  const onSignal = () => { cluster.killAllNow(); process.exit(130); };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const samples: Sample[] = [];
  try {
    const upStarted = Date.now();
    await cluster.up();
    progress(`${nodeCount} nodes up in ${Date.now() - upStarted} ms`);
    for (let i = 0; i < runs; i++) {
      for (const which of ['non-leader', 'leader'] as const) samples.push(await measure(cluster, which));
    }
  } finally {
    await cluster.down();
    await rm(dir, { recursive: true, force: true });
  }
  const summary = (['non-leader', 'leader'] as const).map((c) => {
    const mine = samples.filter((s) => s.case === c);
    return { case: c, runs: mine.length, clientMedianMs: median(mine.map((s) => s.clientMs)), ctdbMedianMs: median(mine.map((s) => s.ctdbMs)) };
  });
  if (args.json) {
    process.stdout.write(JSON.stringify({ nodes: nodeCount, samples, summary }, null, 2) + '\n');
    return;
  }
  process.stdout.write(`ctdbd failover after kill -9 (${nodeCount} nodes, median of ${runs}):\n`);
  for (const s of summary) {
    process.stdout.write(`  ${s.case.padEnd(10)}  client sees survivors: ${s.clientMedianMs} ms   ctdb ip all: ${s.ctdbMedianMs} ms\n`);
  }
}

main().catch((err) => {
  process.stderr.write(`failover-netns: ${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
});
