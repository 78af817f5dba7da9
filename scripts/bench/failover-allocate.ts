// Public IP allocation speed: our allocate() (LCP2, 64 nodes x 1024 addresses) and, side by side in the same
// run, Debian's ctdb_takeover_helper against our takeover run on the same scripted ctdbd.
//
// 1. allocate() alone, LCP2, 64 healthy nodes that all know 1024 IPv4 addresses, from three states: all
//    unassigned (a cluster's first takeover run), all hosted and balanced (the steady state: nothing moves),
//    all hosted with node 0 banned (a failover: its 16 addresses move). Median / min / max of --runs after
//    warm-up. Target (issue 10): median <= 50 ms.
// 2. Debian's /usr/libexec/ctdb/ctdb_takeover_helper and our takeover run (in-process, our LegacyClient), each
//    against a fresh scripted ctdbd (compat-tests/support/scripted-ctdbd.ts) with --helper-nodes nodes (default
//    8: the C LCP2 needs ~10 s for 8 x 900 on this class of machine and grows with nodes) that all know 900
//    unassigned addresses; alternating, --helper-runs each. "Allocation" is what the daemon sees between the
//    last GET_PUBLIC_IPS request and the first RELEASE_IP request (the helper merging the lists and
//    allocating; the same measure for both sides; ours also sends all its releases before the daemon, in the
//    same process, reads the first), "run" is the whole run (for Debian's, spawn to exit); for ours, allocate()
//    inside the run is timed too.
//    Both placements must be identical; the report says so.
//
//   node scripts/bin/run-ts.mjs scripts/bench/failover-allocate.ts [--runs 11] [--helper-runs 3]
//       [--helper-nodes 8] [--helper-addresses 900] [--no-helper] [--json]

import { parseArgs } from 'node:util';
import { allocate } from '../../components/failoverd/allocation/index.ts';
import type { AllocationInput, NodeReport } from '../../components/failoverd/allocation/types.ts';
import { NodeFlag, RunState } from '../../legacy/protocol/constants.ts';
import { Control } from '../../legacy/protocol/controls.ts';
import { createLogger } from '../../legacy/common/log.ts';
import { LegacyClient } from '../../legacy/client/index.ts';
import { takeoverRun } from '../../components/failoverd/takeover-run/takeover-run.ts';
import { debianHelper, runHelper, type HelperRunResult, type TakeoverHelper } from '../../compat-tests/support/takeover-helper-runner.ts';
import type { CtdbdScript } from '../../compat-tests/support/scripted-ctdbd.ts';
import { median } from './real-cluster-bench.ts';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '11' },
    'helper-runs': { type: 'string', default: '3' },
    'helper-nodes': { type: 'string', default: '8' },
    'helper-addresses': { type: 'string', default: '900' },
    'no-helper': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});

const TARGET_MS = 50;
const NODES = 64;
const ADDRESSES = 1024;

/** `count` distinct IPv4 addresses 10.1.0.0 upwards. */
function addresses(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `10.${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`);
}

/** `nodes` nodes that all know every address; `owner(i)` is who hosts address i (-1 none), as every node reports it. */
function lcp2Input(nodes: number, ips: string[], owner: (i: number) => number, flags: (pnn: number) => number = () => 0): AllocationInput {
  const reported = ips.map((ip, i) => ({ ip, pnn: owner(i), available: true }));
  const list: NodeReport[] = Array.from({ length: nodes }, (_, pnn) => ({ pnn, flags: flags(pnn), runstate: RunState.RUNNING, ips: reported }));
  return { algorithm: 'lcp2', tunables: { NoIPFailback: 0, NoIPTakeover: 0, NoIPHostOnAllDisabled: 0 }, nodes: list };
}

interface AllocateFigure { scenario: string; medianMs: number; minMs: number; maxMs: number; moved: number }

function timeAllocate(scenario: string, input: AllocationInput, runs: number): AllocateFigure {
  const before = new Map(input.nodes[0].ips.map((a) => [a.ip, a.pnn]));
  for (let i = 0; i < 3; i++) allocate(input);
  const times: number[] = [];
  let moved = 0;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const placement = allocate(input);
    times.push(performance.now() - t);
    moved = placement.filter((p) => p.pnn !== before.get(p.ip)).length;
  }
  return { scenario, medianMs: median(times), minMs: Math.min(...times), maxMs: Math.max(...times), moved };
}

interface HelperFigure {
  side: string;
  runMs: number[];
  allocationMs: number[];
  /** Ours only: allocate() inside the run (the rest of the gap is decoding the lists and sending the releases). */
  allocateMs: number[];
  placements: string[];
}

/** Between the last GET_PUBLIC_IPS request and the first RELEASE_IP request, as the daemon saw them. */
function allocationGap(r: HelperRunResult): number {
  const lastGet = Math.max(...r.controls.filter((c) => c.opcode === Control.GET_PUBLIC_IPS).map((c) => c.atMs));
  const firstRelease = Math.min(...r.controls.filter((c) => c.opcode === Control.RELEASE_IP).map((c) => c.atMs));
  return firstRelease - lastGet;
}

async function helperSideBySide(nodes: number, count: number, runs: number): Promise<HelperFigure[]> {
  const script: CtdbdScript = { input: lcp2Input(nodes, addresses(count), () => -1), localPnn: 0, tunables: { TakeoverTimeout: 120 } };
  const oursAllocateMs: number[] = [];
  const log = createLogger({ component: 'bench', level: 'silent' });
  // Our takeover run as the takeover-helper command runs it, with allocate() timed inside.
  const ours: TakeoverHelper = {
    kind: 'in-process',
    run: async (socketPath) => {
      const client = new LegacyClient({ socketPath, logger: log, reconnect: false, trackLeader: false });
      await client.connect();
      try {
        const timedAllocate = (input: AllocationInput) => {
          const t = performance.now();
          const placement = allocate(input);
          oursAllocateMs.push(performance.now() - t);
          return placement;
        };
        return (await takeoverRun({ client, log, allocate: timedAllocate })).status;
      } finally {
        await client.close();
      }
    },
  };
  const sides: Array<[HelperFigure, TakeoverHelper]> = [
    [{ side: 'Debian ctdb_takeover_helper', runMs: [], allocationMs: [], allocateMs: [], placements: [] }, debianHelper()],
    [{ side: 'ours (takeover run, in-process)', runMs: [], allocationMs: [], allocateMs: oursAllocateMs, placements: [] }, ours],
  ];
  for (let i = 0; i < runs; i++) {
    for (const [figure, helper] of sides) {
      const r = await runHelper(helper, script, { timeoutMs: 600_000 });
      if (r.status !== 0 || r.problems.length > 0) {
        throw new Error(`${figure.side}: status ${r.status}, problems ${r.problems.join('; ')}\n${r.stderr}`);
      }
      figure.runMs.push(r.durationMs);
      figure.allocationMs.push(allocationGap(r));
      figure.placements.push(JSON.stringify([...r.placement].sort()));
    }
  }
  return sides.map(([f]) => f);
}

async function main(): Promise<void> {
  const runs = Number(args.runs);
  const ips = addresses(ADDRESSES);
  const figures = [
    timeAllocate('all unassigned', lcp2Input(NODES, ips, () => -1), runs),
    timeAllocate('all hosted, balanced', lcp2Input(NODES, ips, (i) => i % NODES), runs),
    timeAllocate('all hosted, node 0 banned', lcp2Input(NODES, ips, (i) => i % NODES, (pnn) => (pnn === 0 ? NodeFlag.BANNED : 0)), runs),
  ];
  const helperNodes = Number(args['helper-nodes']);
  const helperAddresses = Number(args['helper-addresses']);
  const helper = args['no-helper'] ? undefined : await helperSideBySide(helperNodes, helperAddresses, Number(args['helper-runs']));

  if (args.json) {
    process.stdout.write(`${JSON.stringify({ allocate: { nodes: NODES, addresses: ADDRESSES, runs, figures }, helper }, null, 2)}\n`);
    return;
  }
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(`allocate(), LCP2, ${NODES} nodes x ${ADDRESSES} addresses, ${runs} runs (ms: median / min / max; target median <= ${TARGET_MS})`);
  for (const f of figures) {
    const verdict = f.medianMs <= TARGET_MS ? 'ok' : 'OVER TARGET';
    out(`  ${f.scenario.padEnd(28)} ${f.medianMs.toFixed(1).padStart(7)} / ${f.minMs.toFixed(1)} / ${f.maxMs.toFixed(1)}  moved ${f.moved}  ${verdict}`);
  }
  if (!helper) return;
  out(`\ntakeover run through a scripted ctdbd, LCP2, ${helperNodes} nodes x ${helperAddresses} unassigned addresses, `
    + `${helper[0].runMs.length} alternating runs (ms, median)`);
  for (const f of helper) {
    const inside = f.allocateMs.length ? `   (allocate() ${median(f.allocateMs).toFixed(1)})` : '';
    out(`  ${f.side.padEnd(34)} allocation ${median(f.allocationMs).toFixed(1).padStart(9)}   run ${median(f.runMs).toFixed(1).padStart(9)}${inside}`);
  }
  const [deb, ours] = helper;
  out(`  Debian / ours: allocation ${(median(deb.allocationMs) / median(ours.allocationMs)).toFixed(0)}x, `
    + `run ${(median(deb.runMs) / median(ours.runMs)).toFixed(1)}x`);
  const same = new Set([...deb.placements, ...ours.placements]).size === 1;
  out(`  placements identical: ${same ? 'yes' : 'NO'}`);
  if (!same) process.exitCode = 1;
}

await main();
