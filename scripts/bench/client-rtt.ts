// Control round trip (PING) of our legacy client vs Debian's C client on the
// same real ctdbd, same run, batches alternating in rotating order.
//
// What is measured (all against one test-mode ctdbd 4.17 node):
//  - C in-process RTT: the `time=` that `ctdb ping` prints; ctdb measures it
//    around its PING control inside an already connected process.
//  - ours in-process RTT: LegacyClient.ping() in a loop on one connection.
//    The ratio ours/C of these two medians is the figure of merit (<= 1.5).
//  - process level, for context: wall time of `ctdb ping` and of `ctdb pnn`
//    (connect + GET_PNN + REGISTER_SRVID, no PING); their difference is the
//    C client's marginal cost of one ping. Our one-shot CLI
//    (`ctdb-bridge legacy ping`) is dominated by Node start-up; its wall time
//    and its self-reported time= (first ping on a cold connection) are shown.
//
//   node scripts/bin/run-ts.mjs scripts/bench/client-rtt.ts [--rounds N] [--json]

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LegacyClient } from '../../legacy/client/index.ts';
import { silentLogger } from '../../legacy/common/log.ts';
import { withRealCluster, median, percentile, fmtUs } from './real-cluster-bench.ts';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    'c-runs': { type: 'string', default: '30' },
    'ours-pings': { type: 'string', default: '2000' },
    'cli-runs': { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(args.rounds);
const C_RUNS = Number(args['c-runs']);
const OUR_PINGS = Number(args['ours-pings']);
const CLI_RUNS = Number(args['cli-runs']);
const CTDB = process.env.CTDB_BRIDGE_CTDB ?? '/usr/bin/ctdb';
const BIN = fileURLToPath(new URL('../bin/ctdb-bridge.cjs', import.meta.url));

interface Run {
  wallSeconds: number;
  stdout: string;
  code: number | null;
}

function timedRun(cmd: string, argv: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
    child.once('error', reject);
    child.once('close', (code) => resolve({ wallSeconds: Number(process.hrtime.bigint() - started) / 1e9, stdout, code }));
  });
}

function reportedTime(stdout: string): number {
  const m = /time=(\d+\.\d+) sec/.exec(stdout);
  if (!m) throw new Error(`no time= in ping output: ${JSON.stringify(stdout)}`);
  return Number(m[1]);
}

const samples = {
  cReported: [] as number[],
  cPingWall: [] as number[],
  cPnnWall: [] as number[],
  oursInProcess: [] as number[],
  oursCliWall: [] as number[],
  oursCliReported: [] as number[],
};

await withRealCluster(1, async (cluster) => {
  const node = cluster.nodes[0];
  const env = { ...process.env, CTDB_TEST_MODE: 'yes', CTDB_BASE: node.base, CTDB_SOCKET: node.socketPath };

  const batches: Record<string, () => Promise<void>> = {
    c: async () => {
      for (let i = 0; i < C_RUNS; i++) {
        const ping = await timedRun(CTDB, ['ping'], env);
        if (ping.code !== 0) throw new Error(`ctdb ping failed: ${ping.stdout}`);
        samples.cPingWall.push(ping.wallSeconds);
        samples.cReported.push(reportedTime(ping.stdout));
        const pnn = await timedRun(CTDB, ['pnn'], env);
        samples.cPnnWall.push(pnn.wallSeconds);
      }
    },
    ours: async () => {
      const client = await LegacyClient.connect({ socketPath: node.socketPath, logger: silentLogger(), reconnect: false });
      try {
        for (let i = 0; i < 50; i++) await client.ping(); // warm the JIT like a long-running component would be
        for (let i = 0; i < OUR_PINGS; i++) {
          const t = process.hrtime.bigint();
          await client.ping();
          samples.oursInProcess.push(Number(process.hrtime.bigint() - t) / 1e9);
        }
      } finally {
        await client.close();
      }
    },
    cli: async () => {
      for (let i = 0; i < CLI_RUNS; i++) {
        const run = await timedRun(process.execPath, [BIN, 'legacy', 'ping'], env);
        if (run.code !== 0) throw new Error(`ctdb-bridge legacy ping failed: ${run.stdout}`);
        samples.oursCliWall.push(run.wallSeconds);
        samples.oursCliReported.push(reportedTime(run.stdout));
      }
    },
  };
  const order = ['c', 'ours', 'cli'];
  for (let r = 0; r < ROUNDS; r++) {
    const rotated = [...order.slice(r % 3), ...order.slice(0, r % 3)];
    for (const name of rotated) await batches[name]();
  }
});

const cRtt = median(samples.cReported);
const oursRtt = median(samples.oursInProcess);
const result = {
  rounds: ROUNDS,
  cClientReportedRttUs: cRtt * 1e6,
  oursInProcessRttUs: oursRtt * 1e6,
  oursInProcessP99Us: percentile(samples.oursInProcess, 99) * 1e6,
  ratioOursToC: oursRtt / cRtt,
  cPingProcessMs: median(samples.cPingWall) * 1e3,
  cPnnProcessMs: median(samples.cPnnWall) * 1e3,
  cPingMinusPnnUs: (median(samples.cPingWall) - median(samples.cPnnWall)) * 1e6,
  oursCliProcessMs: median(samples.oursCliWall) * 1e3,
  oursCliReportedRttUs: median(samples.oursCliReported) * 1e6,
  samples: {
    c: samples.cReported.length, ours: samples.oursInProcess.length, oursCli: samples.oursCliWall.length,
  },
};

if (args.json) {
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} else {
  const row = (label: string, value: string) => process.stdout.write(`${label.padEnd(58)} ${value}\n`);
  process.stdout.write(`control round trip (PING) against one real ctdbd 4.17 node, ${ROUNDS} rounds, batches alternating\n`);
  row('C client, in process (median of ctdb ping "time=")', `${fmtUs(cRtt)}  (n=${samples.cReported.length})`);
  row('ours, in process (LegacyClient.ping loop, median)', `${fmtUs(oursRtt)}  (n=${samples.oursInProcess.length}, p99 ${fmtUs(percentile(samples.oursInProcess, 99))})`);
  row('RATIO ours / C (target <= 1.5)', result.ratioOursToC.toFixed(2));
  row('C process: `ctdb ping` wall (median)', `${result.cPingProcessMs.toFixed(2)} ms`);
  row('C process: `ctdb pnn` wall (median, no PING)', `${result.cPnnProcessMs.toFixed(2)} ms`);
  row('C process: ping - pnn (marginal cost of one PING)', `${result.cPingMinusPnnUs.toFixed(0)} us (noisy)`);
  row('ours one-shot CLI: `ctdb-bridge legacy ping` wall', `${result.oursCliProcessMs.toFixed(0)} ms (Node + tsx start-up)`);
  row('ours one-shot CLI: its own "time=" (cold first ping)', fmtUs(median(samples.oursCliReported)));
}
