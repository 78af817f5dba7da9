import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Control } from '../../legacy/protocol/controls.ts';
import { BUILTIN_SERVICE, TransportClient } from '../../transport/index.ts';
import { silentLogger } from '../../legacy/common/log.ts';
import { LegacyWire } from './legacy-wire.ts';
import { MARKER_NEEDLE } from './marker.ts';

/**
 * The well-behaved client of the hostile suite: on its own connection it
 * runs one small request after another (a control to the daemon, or a
 * transport ping) while an attack goes on, and reports round-trip p50/p99
 * and every failure (timeout, wrong answer, dropped connection). It runs in
 * a process of its own (startProbe), so the attacker's CPU work in the test
 * process is not counted as the daemon's latency.
 */

export interface ProbeResult {
  count: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The first few failures, for the assertion message. */
  errorSamples: string[];
  /** Marker occurrences in the replies (legacy probe; must be 0, see marker.ts). */
  markerHits?: number;
}

export interface ProbeOptions {
  /** Pause between two requests (the probe must not be a load of its own). */
  intervalMs?: number;
}

/** One request; throws (or rejects) when the answer is wrong or missing. */
export type ProbeOp = () => Promise<void>;

/** A running probe: stop() ends it and gives the results. */
export interface Probe {
  stop(): Promise<ProbeResult>;
}

export class WellBehavedProbe implements Probe {
  private readonly latencies: number[] = [];
  private readonly errorSamples: string[] = [];
  private errors = 0;
  private running = true;
  private readonly loop: Promise<void>;

  constructor(
    private readonly op: ProbeOp,
    private readonly opts: ProbeOptions = {},
    private readonly release?: () => Promise<void>,
    private readonly markerHits?: () => number,
  ) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (this.running) {
      const t0 = performance.now();
      try {
        await this.op();
      } catch (err) {
        this.errors++;
        if (this.errorSamples.length < 5) this.errorSamples.push((err as Error).message);
      }
      this.latencies.push(performance.now() - t0);
      await sleep(this.opts.intervalMs ?? 10);
    }
  }

  /** Results so far, without stopping. */
  snapshot(): ProbeResult {
    const s = [...this.latencies].sort((a, b) => a - b);
    const pick = (p: number) => (s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]);
    return {
      count: s.length, errors: this.errors, p50Ms: round(pick(0.5)), p99Ms: round(pick(0.99)), maxMs: round(s[s.length - 1] ?? NaN),
      errorSamples: [...this.errorSamples], markerHits: this.markerHits?.(),
    };
  }

  async stop(): Promise<ProbeResult> {
    this.running = false;
    await this.loop;
    await this.release?.();
    return this.snapshot();
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/**
 * GET_PNN to the daemon behind `socketPath`, answer checked. A connection
 * the daemon dropped is counted as an error and opened again.
 */
export async function startLegacyProbe(socketPath: string, opts: ProbeOptions & { timeoutMs?: number } = {}): Promise<WellBehavedProbe> {
  const open = () => LegacyWire.open(socketPath, { needle: MARKER_NEEDLE });
  let wire = await open();
  let earlierHits = 0;
  const first = await wire.control(Control.GET_PNN, { timeoutMs: 5000 });
  const pnn = first.status;
  const timeoutMs = opts.timeoutMs ?? 2000;
  const op: ProbeOp = async () => {
    if (wire.closed) {
      earlierHits += wire.needleHits;
      wire = await open();
    }
    const r = await wire.control(Control.GET_PNN, { timeoutMs });
    if (r.status !== pnn || r.datalen !== 0) throw new Error(`GET_PNN answered status ${r.status} datalen ${r.datalen}, expected ${pnn}`);
  };
  return new WellBehavedProbe(op, opts, () => wire.close(), () => earlierHits + wire.needleHits);
}

/** transport.ping to `node` through the transportd behind `socketPath`. */
export async function startTransportProbe(socketPath: string, node: number, opts: ProbeOptions & { timeoutMs?: number } = {}): Promise<WellBehavedProbe> {
  const client = await new TransportClient({
    socketPath, name: 'hostile-probe', defaultTimeoutMs: opts.timeoutMs ?? 2000, logger: silentLogger('hostile-probe'),
    reconnect: { maxDelayMs: 200 },
  }).connect();
  const op: ProbeOp = async () => {
    await client.request({ node, service: BUILTIN_SERVICE }, 'transport.ping', {});
  };
  return new WellBehavedProbe(op, opts, () => client.close());
}

export type ProbeTarget =
  | { kind: 'legacy'; socketPath: string }
  | { kind: 'transport'; socketPath: string; node: number };

/** Messages between startProbe and probe-child.ts. */
export type ProbeChildMessage = { ready: true } | { failed: string } | { result: ProbeResult };

const CHILD = fileURLToPath(new URL('./probe-child.ts', import.meta.url));
const RUN_TS = fileURLToPath(new URL('../../scripts/bin/run-ts.mjs', import.meta.url));

/** Starts the well-behaved client in a child process; resolves once its first request was answered. */
export async function startProbe(target: ProbeTarget, opts: ProbeOptions = {}): Promise<Probe> {
  const child: ChildProcess = fork(RUN_TS, [CHILD, JSON.stringify({ target, opts })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = () => new Promise<ProbeChildMessage>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`probe process exited (${code}) before answering`));
    child.once('exit', onExit);
    child.once('message', (m) => {
      child.off('exit', onExit);
      resolve(m as ProbeChildMessage);
    });
  });
  const kill = () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  process.once('exit', kill);
  const first = await next().catch((err: Error) => ({ failed: err.message }));
  if (!('ready' in first)) {
    kill();
    throw new Error(`well-behaved client did not start: ${'failed' in first ? first.failed : 'unexpected message'}`);
  }
  return {
    async stop() {
      const answer = next();
      child.send('stop');
      try {
        const m = await answer;
        if ('result' in m) return m.result;
        throw new Error(`probe process: ${JSON.stringify(m)}`);
      } finally {
        kill();
        process.off('exit', kill);
      }
    },
  };
}
