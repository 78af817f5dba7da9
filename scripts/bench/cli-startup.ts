// One-shot CLI cost: `ctdb-bridge legacy pnn|status` against Debian's
// `ctdb pnn|status`, same command, same node, wall time and peak RSS.
// One cluster (embedded by default; --cluster real|both for Debian ctdbd),
// runs alternating ours / theirs / bare `node -e 0` (the floor any Node CLI
// pays) so machine load hits all alike. Ours (and --baseline) are run as a
// user runs them, by the bin's #! line; `node -e 0` in this environment as it
// is (with NODE_EXTRA_CA_CERTS, when set, which the bin's #! line drops) and
// without that variable. Wall = spawn to exit of the command
// under /usr/bin/time, which reports the peak RSS (%M). `status` waits for
// the leader broadcast (ctdb 4.17 does too), so it measures the daemon's
// broadcast period more than startup; `pnn` is the startup number.
// Targets (issue 12): ours/theirs <= 5x wall, ours <= 60 MB.
//
//   node scripts/bin/run-ts.mjs scripts/bench/cli-startup.ts [--runs 30] [--cluster embedded|real|both]
//       [--baseline OTHER/scripts/bin/ctdb-bridge.cjs] [--json]
//   (needs `npm run build`: it runs the compiled CLI, as users do; --baseline
//   adds another build of ours, e.g. an older commit's, to the rotation)

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CLI_ENTRY } from '../../legacy/common/package-info.ts';
import {
  DEFAULT_CTDB_PATH, DEFAULT_CTDBD_PATH, EmbeddedLocalCluster, RealLocalCluster, type LocalCluster,
} from '../local-cluster/index.ts';
import { ctdbEnv } from '../local-cluster/ctdb-command.ts';
import { killOnExit, median, percentile } from './real-cluster-bench.ts';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '30' },
    cluster: { type: 'string', default: 'embedded' },
    baseline: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});

const GNU_TIME = '/usr/bin/time';
const COMMANDS = ['pnn', 'status'] as const;
const TARGET_RATIO = 5;
const TARGET_RSS_KB = 60 * 1024;

interface Sample {
  wallMs: number;
  /** Peak RSS in KiB; from /proc polling (a lower bound) when GNU time is missing. */
  rssKb: number;
}

interface Measured {
  stdout: string;
  code: number | null;
  sample: Sample;
}

/** Runs argv once; wall from spawn to exit, peak RSS from GNU time (or /proc polling). */
async function measure(argv: string[], env: NodeJS.ProcessEnv, scratch: string): Promise<Measured> {
  const useTime = existsSync(GNU_TIME);
  const rssFile = join(scratch, 'rss');
  const cmd = useTime ? [GNU_TIME, '-f', '%M', '-o', rssFile, ...argv] : argv;
  const started = process.hrtime.bigint();
  const child = spawn(cmd[0], cmd.slice(1), { env, stdio: ['ignore', 'pipe', 'ignore'] });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
  let polledKb = 0;
  const poll = useTime ? undefined : setInterval(() => { polledKb = Math.max(polledKb, procPeakKb(child.pid)); }, 1);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c) => resolve(c));
  });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (poll) clearInterval(poll);
  const rssKb = useTime ? Number((await readFile(rssFile, 'utf8')).trim().split('\n').pop()) : polledKb;
  return { stdout, code, sample: { wallMs, rssKb } };
}

/** VmHWM of a live process (0 once it is gone). */
function procPeakKb(pid: number | undefined): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

interface Side {
  name: 'ours' | 'theirs' | 'node -e 0' | 'node -e 0, no extra CA' | 'baseline';
  env?: NodeJS.ProcessEnv;
  argv(command: string, socket: string): string[];
}

const SIDES: Side[] = [
  { name: 'ours', argv: (c, s) => [CLI_ENTRY, 'legacy', c, '--socket', s] },
  { name: 'theirs', argv: (c) => [DEFAULT_CTDB_PATH, c] },
  { name: 'node -e 0', argv: () => [process.execPath, '-e', '0'] },
  ...process.env.NODE_EXTRA_CA_CERTS === undefined ? [] : [{
    name: 'node -e 0, no extra CA' as const, argv: () => [process.execPath, '-e', '0'], env: { NODE_EXTRA_CA_CERTS: undefined },
  }],
  ...args.baseline ? [{ name: 'baseline' as const, argv: (c: string, s: string) => [args.baseline!, 'legacy', c, '--socket', s] }] : [],
];

/** The bare-Node rows: measured for pnn only, shown with no command. */
const isFloor = (side: string): boolean => side.startsWith('node -e 0');

interface Row {
  cluster: string;
  command: string;
  side: string;
  wallMedianMs: number;
  wallP90Ms: number;
  rssMedianMb: number;
  rssMaxMb: number;
}

async function benchCluster(cluster: LocalCluster, runs: number, scratch: string): Promise<Row[]> {
  const node = cluster.nodes[0];
  const env = ctdbEnv(node.base, node.socketPath);
  const samples = new Map<string, Sample[]>();
  for (const command of COMMANDS) {
    // Same output first: a fast wrong answer is no result.
    const check = await Promise.all(SIDES.slice(0, 2).map((s) => measure(s.argv(command, node.socketPath), env, scratch)));
    if (check[0].stdout !== check[1].stdout || check[0].code !== check[1].code) {
      throw new Error(`${command}: ours and ctdb differ:\n--- ours (${check[0].code})\n${check[0].stdout}--- ctdb (${check[1].code})\n${check[1].stdout}`);
    }
  }
  for (let i = 0; i < runs; i++) {
    for (const command of COMMANDS) {
      // ours, theirs, floor; the order rotates so no side always goes first.
      for (let k = 0; k < SIDES.length; k++) {
        const side = SIDES[(k + i) % SIDES.length];
        if (isFloor(side.name) && command !== 'pnn') continue; // one floor is enough
        const m = await measure(side.argv(command, node.socketPath), { ...env, ...side.env }, scratch);
        if (m.code !== 0) throw new Error(`${side.name} ${command} exited ${m.code}`);
        const key = `${command}\0${side.name}`;
        samples.set(key, [...(samples.get(key) ?? []), m.sample]);
      }
    }
  }
  return [...samples].map(([key, xs]) => {
    const [command, side] = key.split('\0');
    const walls = xs.map((x) => x.wallMs);
    const rss = xs.map((x) => x.rssKb / 1024);
    return {
      cluster: cluster.kind, command: isFloor(side) ? '-' : command, side,
      wallMedianMs: median(walls), wallP90Ms: percentile(walls, 90), rssMedianMb: median(rss), rssMaxMb: Math.max(...rss),
    };
  });
}

function report(rows: Row[], runs: number): void {
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(`CLI startup, ${runs} alternating runs per side (wall ms: median / p90; peak RSS MB: median / max)`
    + `${existsSync(GNU_TIME) ? '' : '  [no GNU time: RSS from /proc polling, a lower bound]'}`);
  for (const r of rows) {
    out(`${r.cluster.padEnd(9)} ${r.command.padEnd(7)} ${r.side.padEnd(22)} wall ${r.wallMedianMs.toFixed(1).padStart(7)}`
      + ` / ${r.wallP90Ms.toFixed(1).padStart(7)}   rss ${r.rssMedianMb.toFixed(1).padStart(5)} / ${r.rssMaxMb.toFixed(1).padStart(5)}`);
  }
  for (const r of rows.filter((x) => x.side === 'ours' || x.side === 'baseline')) {
    const theirs = rows.find((x) => x.cluster === r.cluster && x.command === r.command && x.side === 'theirs')!;
    // The floor of a Node CLI run as ours is: without NODE_EXTRA_CA_CERTS, when the environment sets it.
    const floors = rows.filter((x) => x.cluster === r.cluster && isFloor(x.side));
    const floor = floors.find((x) => x.side === 'node -e 0, no extra CA') ?? floors[0];
    const ratio = r.wallMedianMs / theirs.wallMedianMs;
    out(`${r.cluster} ${r.command}: ${r.side}/theirs wall ${ratio.toFixed(2)}x (p90 ${(r.wallP90Ms / theirs.wallP90Ms).toFixed(2)}x),`
      + ` rss ${(r.rssMedianMb / theirs.rssMedianMb).toFixed(2)}x; bare node/theirs ${(floor.wallMedianMs / theirs.wallMedianMs).toFixed(2)}x;`
      + ` ${r.side} - bare node ${(r.wallMedianMs - floor.wallMedianMs).toFixed(1)} ms`
      + `  [target <= ${TARGET_RATIO}x: ${ratio <= TARGET_RATIO ? 'met' : 'MISSED'}; <= 60 MB: ${r.rssMaxMb * 1024 <= TARGET_RSS_KB ? 'met' : 'MISSED'}]`);
  }
}

async function main(): Promise<void> {
  const runs = Number(args.runs);
  const kinds = args.cluster === 'both' ? ['embedded', 'real'] : [args.cluster];
  if (kinds.some((k) => k !== 'embedded' && k !== 'real')) throw new Error('--cluster is embedded, real or both');
  if (kinds.includes('real') && !existsSync(DEFAULT_CTDBD_PATH)) throw new Error(`--cluster real needs ${DEFAULT_CTDBD_PATH}`);
  const scratch = await mkdtemp(join(tmpdir(), 'ctdb-bridge-cli-startup-'));
  const clusters: Array<EmbeddedLocalCluster | RealLocalCluster> = kinds.map((k, i) => {
    const dir = join(scratch, `cluster-${i}`);
    return k === 'real'
      ? new RealLocalCluster({ dir, nodes: 2, ownerPid: process.pid })
      : new EmbeddedLocalCluster({ dir, nodes: 2, ownerPid: process.pid });
  });
  const release = killOnExit(clusters);
  const rows: Row[] = [];
  try {
    for (const c of clusters) {
      await c.up();
      try {
        rows.push(...await benchCluster(c, runs, scratch));
      } finally {
        await c.down();
      }
    }
  } finally {
    release();
    await rm(scratch, { recursive: true, force: true });
  }
  if (args.json) process.stdout.write(`${JSON.stringify({ runs, rows }, null, 2)}\n`);
  else report(rows, runs);
}

await main();
