// Start time of `npm start` (issue 12: <= 5 s): `ctdb-bridge start --once`
// from spawn to exit (a local cluster of embedded nodes, a transportd per
// node, the status printed, everything stopped), against the same command
// with real ctdbd (`start --real --once`), runs alternating so machine load
// hits every variant alike. --baseline adds another build of ours (e.g. an
// older commit's) to the rotation. Phases are read from the progress lines
// on stderr: CLI loaded, cluster and transportds up, discovery, components
// (clusterd, when `start` runs it) up with a leader, cleanup.
//
//   node scripts/bin/run-ts.mjs scripts/bench/start-time.ts [--runs 3] [--nodes 3] [--no-real]
//       [--baseline OTHER/scripts/bin/ctdb-bridge.cjs] [--json]
//   (needs `npm run build`: it runs the compiled CLI, as `npm start` does)

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CLI_ENTRY } from '../../legacy/common/package-info.ts';
import { DEFAULT_CTDBD_PATH } from '../local-cluster/index.ts';
import { median } from './real-cluster-bench.ts';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    nodes: { type: 'string', default: '3' },
    'no-real': { type: 'boolean', default: false },
    baseline: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});

const TARGET_S = 5;
/** A run that takes longer than this is killed and reported as failed. */
const RUN_LIMIT_MS = 120_000;

interface Variant {
  name: string;
  entry: string;
  extra: string[];
}

/** Seconds from spawn at which each progress line of `ctdb-bridge start` was seen, and the exit. */
interface Run {
  wallS: number;
  ok: boolean;
  phases: Record<Phase, number | undefined>;
}

const PHASES = {
  loaded: /: starting a /,
  running: /: transportd (\(\w+ uplink\) )?running on every node/,
  /** Later stages (clusterd, ...) when `start` runs them; absent otherwise. */
  components: /: clusterd (and failoverd )?running on every node/,
  ready: /: cluster ready (in stage \d \(\w+\) )?after/,
  stopped: /: everything stopped/,
} as const;
type Phase = keyof typeof PHASES;

function runOnce(v: Variant, nodes: number): Promise<Run> {
  return (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctdb-bridge-start-time-'));
    try {
      return await new Promise<Run>((resolve) => {
        const t0 = process.hrtime.bigint();
        const since = () => Number(process.hrtime.bigint() - t0) / 1e9;
        const child = spawn(process.execPath, [v.entry, 'start', '--once', '--nodes', String(nodes), '--dir', dir, ...v.extra], {
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        const phases: Run['phases'] = { loaded: undefined, running: undefined, components: undefined, ready: undefined, stopped: undefined };
        let tail = '';
        child.stderr.on('data', (chunk: Buffer) => {
          const at = since();
          tail = (tail + chunk.toString()).slice(-4000);
          for (const [phase, re] of Object.entries(PHASES) as Array<[Phase, RegExp]>) {
            if (phases[phase] === undefined && re.test(tail)) phases[phase] = at;
          }
        });
        // Stopped by PID if it hangs (SIGINT: it cleans up what it started).
        const limit = setTimeout(() => child.kill('SIGINT'), RUN_LIMIT_MS);
        const killOnExit = () => child.kill('SIGKILL');
        process.on('exit', killOnExit);
        child.once('exit', (code) => {
          clearTimeout(limit);
          process.off('exit', killOnExit);
          const ok = code === 0 && phases.ready !== undefined;
          if (!ok) process.stderr.write(`${v.name}: exit ${code}; last output: ${tail.trim().split('\n').slice(-3).join(' | ')}\n`);
          resolve({ wallS: since(), ok, phases });
        });
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  })();
}

const fmt = (s: number | undefined) => (s === undefined || Number.isNaN(s) ? '-' : s.toFixed(2));

function medianOf(runs: Run[], pick: (r: Run) => number | undefined): number | undefined {
  const xs = runs.map(pick).filter((x): x is number => x !== undefined);
  return xs.length === 0 ? undefined : median(xs);
}

async function main(): Promise<void> {
  const runs = Number(args.runs);
  const nodes = Number(args.nodes);
  const variants: Variant[] = [{ name: 'ours (embedded)', entry: CLI_ENTRY, extra: [] }];
  if (args.baseline) {
    if (!existsSync(args.baseline)) throw new Error(`--baseline ${args.baseline}: no such file`);
    variants.push({ name: 'baseline (embedded)', entry: args.baseline, extra: [] });
  }
  if (!args['no-real']) {
    if (existsSync(DEFAULT_CTDBD_PATH)) variants.push({ name: 'real ctdbd', entry: CLI_ENTRY, extra: ['--real'] });
    else process.stderr.write(`no ${DEFAULT_CTDBD_PATH}: the real variant is skipped (apt-get install ctdb)\n`);
  }
  const results = new Map<string, Run[]>(variants.map((v) => [v.name, []]));
  for (let i = 0; i < runs; i++) {
    for (const v of variants) {
      const r = await runOnce(v, nodes);
      results.get(v.name)!.push(r);
      process.stderr.write(`run ${i + 1}/${runs} ${v.name}: ${r.wallS.toFixed(2)} s${r.ok ? '' : ' (FAILED)'}\n`);
    }
  }
  const rows = variants.map((v) => {
    const rs = results.get(v.name)!.filter((r) => r.ok);
    const p = (a: Phase | 'spawn', b: Phase | 'exit') => medianOf(rs, (r) => {
      const from = a === 'spawn' ? 0 : r.phases[a];
      const to = b === 'exit' ? r.wallS : r.phases[b];
      return from === undefined || to === undefined ? undefined : to - from;
    });
    const walls = rs.map((r) => r.wallS);
    return {
      variant: v.name, runs: rs.length, failed: results.get(v.name)!.length - rs.length,
      wallMedianS: medianOf(rs, (r) => r.wallS), wallMinS: walls.length ? Math.min(...walls) : undefined,
      wallMaxS: walls.length ? Math.max(...walls) : undefined,
      cliLoadS: p('spawn', 'loaded'), clusterAndTransportdS: p('loaded', 'running'),
      discoveryS: p('running', 'components') ?? p('running', 'ready'), componentsS: p('components', 'ready'),
      cleanupS: p('ready', 'stopped'), exitS: p('stopped', 'exit'),
    };
  });
  if (args.json) {
    process.stdout.write(JSON.stringify({ nodes, runs, targetS: TARGET_S, results: rows }, null, 2) + '\n');
    return;
  }
  const head = ['variant', 'wall median', 'min', 'max', 'CLI load', 'cluster+transportd', 'discovery', 'components', 'cleanup', 'exit'];
  const table = [head, ...rows.map((r) => [
    `${r.variant}${r.failed ? ` (${r.failed} failed)` : ''}`, fmt(r.wallMedianS), fmt(r.wallMinS), fmt(r.wallMaxS), fmt(r.cliLoadS),
    fmt(r.clusterAndTransportdS), fmt(r.discoveryS), fmt(r.componentsS), fmt(r.cleanupS), fmt(r.exitS),
  ])];
  const widths = head.map((_, i) => Math.max(...table.map((row) => row[i].length)));
  process.stdout.write(`ctdb-bridge start --once, ${nodes} nodes, median of ${runs} runs (seconds from spawn; phases from its progress lines)\n`);
  for (const row of table) process.stdout.write(row.map((c, i) => c.padEnd(widths[i])).join('  ') + '\n');
  const ours = rows[0].wallMedianS;
  for (const r of rows.slice(1)) {
    if (ours !== undefined && r.wallMedianS !== undefined) process.stdout.write(`${r.variant} / ours: ${(r.wallMedianS / ours).toFixed(2)}x\n`);
  }
  if (ours !== undefined) process.stdout.write(`target <= ${TARGET_S} s: ${ours <= TARGET_S ? 'met' : 'NOT met'} (${ours.toFixed(2)} s)\n`);
  if (rows.some((r) => r.failed > 0)) process.exitCode = 1;
}

await main();
