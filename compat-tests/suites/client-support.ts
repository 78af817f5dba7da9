import { setTimeout as sleep } from 'node:timers/promises';
import {
  LegacyClient, exponentialBackoff, type LegacyClientOptions, type LegacyMessage, type LegacyTunnelPacket,
} from '../../legacy/client/index.ts';
import { runLegacyCommand } from '../../scripts/cli/legacy/run.ts';
import type { ClientSuiteNode } from './client-cluster.ts';

/** Clients opened by a test; closeAll() in afterEach so no connection leaks into the next test. */
export class ClientPool {
  private readonly clients: LegacyClient[] = [];

  async open(node: ClientSuiteNode, opts: Partial<LegacyClientOptions> = {}): Promise<LegacyClient> {
    const client = new LegacyClient({
      socketPath: node.socketPath,
      defaultTimeoutMs: 10_000,
      reconnect: { backoff: exponentialBackoff({ initialMs: 100, maxMs: 1000 }) },
      ...opts,
    });
    this.clients.push(client);
    await client.connect();
    return client;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.clients.splice(0).map((c) => c.close()));
  }
}

/** Collects messages for one SRVID; `next()` waits for the next unseen one. */
export class Inbox<T> {
  readonly items: T[] = [];
  private waiters: Array<() => void> = [];
  private read = 0;

  readonly push = (item: T): void => {
    this.items.push(item);
    for (const w of this.waiters.splice(0)) w();
  };

  async next(timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (this.read >= this.items.length) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message within ${timeoutMs} ms (have ${this.items.length})`);
      await Promise.race([new Promise<void>((r) => this.waiters.push(r)), sleep(left)]);
    }
    return this.items[this.read++];
  }

  /** Resolves false if nothing arrives within `ms` (for "must not be delivered"). */
  async nothingWithin(ms: number): Promise<boolean> {
    await sleep(ms);
    return this.read >= this.items.length;
  }
}

export type MessageInbox = Inbox<LegacyMessage>;
export type TunnelInbox = Inbox<LegacyTunnelPacket>;

/** Wait for an event-ish condition with a deadline. */
export async function eventually<T>(fn: () => T | undefined | Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

export interface CliResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Our `ctdb-bridge legacy` command, in process, against a node as `ctdb` would find it (test mode env). */
export async function runOurs(node: ClientSuiteNode, args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  let nodeOpt: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-n') nodeOpt = args[++i];
    else rest.push(args[i]);
  }
  const exitCode = await runLegacyCommand({
    command: rest[0], args: rest.slice(1), node: nodeOpt,
    env: { CTDB_TEST_MODE: 'yes', CTDB_BASE: node.base, CTDB_SOCKET: node.socketPath },
    stdout: (t) => { stdout += t; },
    stderr: (t) => { stderr += t; },
  });
  return { stdout, stderr, exitCode: exitCode & 0xff };
}

const CTIME = /(Sun|Mon|Tue|Wed|Thu|Fri|Sat) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d\d:\d\d:\d\d \d{4}/g;

/**
 * Masks what legitimately differs between two runs a moment apart:
 * timestamps, ages, durations; for `statistics` also the counters and
 * latencies (they move with every packet, the labels and layout must not).
 */
export function normaliseCliOutput(command: string, text: string): string {
  let t = text
    .replace(CTIME, '<TIME>')
    .replace(/\(\d{3} \d\d:\d\d:\d\d\)/g, '(<AGE>)')
    .replace(/time=\d+\.\d+ sec/g, 'time=<T> sec')
    .replace(/: -?\d+\.\d+ seconds/g, ': <DURATION> seconds');
  if (command === 'statistics') {
    t = t.replace(/-?\d+\.\d+\/-?\d+\.\d+\/-?\d+\.\d+ sec out of \d+/g, '<LATENCY>').replace(/ +\d+/g, ' <N>');
  }
  return t;
}
