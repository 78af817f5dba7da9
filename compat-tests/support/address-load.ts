// A steady client load on every public address of a netns cluster, for
// "while X happened, nothing went unanswered and nothing moved": every
// `intervalMs` a TCP connection from the client namespace to each address's
// responder (which node answered), and beside it one `arping -b` per address
// (broadcast ARP requests once a second, the tool's shortest interval: every
// node holding the address answers, with its MAC, so a second holder would
// show even where the client's TCP goes to only one). stop() ends both and
// returns the counts. (Debian's `ping` is not among the test peers.)

import { expect } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NetnsFabric } from '../../scripts/local-cluster/netns/index.ts';
import { responderPnn } from '../../scripts/local-cluster/netns/client-probe.ts';
import { macAddress } from '../../scripts/local-cluster/netns/network.ts';
import { BRIDGE, NODE_INTERFACE } from '../../scripts/local-cluster/netns/topology.ts';
import { signal, waitForExit } from '../../scripts/local-cluster/processes.ts';

export interface ArpCounts {
  /** Broadcast requests arping sent for the address, and replies it received (any node). */
  requests: number;
  replies: number;
  /** The nodes whose MAC answered (a MAC of no node: -1). */
  repliers: number[];
}

export interface AddressLoadReport {
  /** TCP probes made (addresses x rounds) and how many got no responder's answer. */
  probes: number;
  failedProbes: number;
  /** The first few failures, for the message of a failing assertion. */
  failures: Array<{ ip: string; atMs: number; error: string }>;
  /** Every node that answered each address's TCP probes during the load. */
  responders: Record<string, number[]>;
  /** Longest time between two answers of the same address (a failed probe stretches it). */
  maxGapMs: number;
  arp: Record<string, ArpCounts>;
  durationMs: number;
}

export interface AddressLoadOptions {
  /** Pause between rounds of TCP probes (default 50 ms). */
  intervalMs?: number;
}

interface ArpState {
  ip: string;
  child: ChildProcess;
  closed: Promise<void>;
  output: string;
}

export class AddressLoad {
  private stopped = false;
  private readonly started = Date.now();
  private readonly lastAnswer = new Map<string, number>();
  private readonly responders = new Map<string, Set<number>>();
  private readonly arps: ArpState[] = [];
  private probes = 0;
  private maxGapMs = 0;
  private readonly failures: AddressLoadReport['failures'] = [];
  private failedProbes = 0;
  private readonly loop: Promise<void>;

  private constructor(private readonly fabric: NetnsFabric, private readonly macs: Map<string, number>, private readonly opts: AddressLoadOptions) {
    for (const ip of fabric.topology.publicAddresses) {
      this.responders.set(ip, new Set());
      this.lastAnswer.set(ip, this.started);
      this.arps.push(this.startArping(ip));
    }
    this.loop = this.probeLoop();
  }

  static async start(fabric: NetnsFabric, opts: AddressLoadOptions = {}): Promise<AddressLoad> {
    const macs = new Map(await Promise.all(fabric.topology.nodeNamespaces.map(
      async (ns, pnn) => [(await macAddress(ns, NODE_INTERFACE)).toLowerCase(), pnn] as [string, number])));
    return new AddressLoad(fabric, macs, opts);
  }

  async stop(): Promise<AddressLoadReport> {
    this.stopped = true;
    await this.loop;
    const now = Date.now();
    for (const at of this.lastAnswer.values()) this.maxGapMs = Math.max(this.maxGapMs, now - at);
    const arp: Record<string, ArpCounts> = {};
    for (const a of this.arps) {
      const pid = a.child.pid;
      if (pid !== undefined && a.child.exitCode === null) {
        // SIGINT: arping prints its totals and exits.
        signal(pid, 'SIGINT');
        if (!(await waitForExit([pid], 3000))) signal(pid, 'SIGKILL');
      }
      await a.closed;
      arp[a.ip] = this.arpCounts(a.output);
    }
    return {
      probes: this.probes, failedProbes: this.failedProbes, failures: this.failures,
      responders: Object.fromEntries([...this.responders].map(([ip, s]) => [ip, [...s].sort()])),
      maxGapMs: this.maxGapMs, arp, durationMs: now - this.started,
    };
  }

  private async probeLoop(): Promise<void> {
    const interval = this.opts.intervalMs ?? 50;
    while (!this.stopped) {
      const round = Date.now();
      await Promise.all(this.fabric.topology.publicAddresses.map((ip) => this.probeOnce(ip)));
      await sleep(Math.max(0, interval - (Date.now() - round)));
    }
  }

  private async probeOnce(ip: string): Promise<void> {
    this.probes++;
    const result = await this.fabric.probe(ip).catch((err: Error) => ({ error: err.message, answer: undefined }));
    const pnn = responderPnn(result);
    const now = Date.now();
    if (pnn === undefined) {
      this.failedProbes++;
      if (this.failures.length < 10) this.failures.push({ ip, atMs: now - this.started, error: result.error ?? `answer ${JSON.stringify(result.answer)}` });
      return;
    }
    this.responders.get(ip)!.add(pnn);
    this.maxGapMs = Math.max(this.maxGapMs, now - this.lastAnswer.get(ip)!);
    this.lastAnswer.set(ip, now);
  }

  private startArping(ip: string): ArpState {
    const child = spawn('ip', ['netns', 'exec', this.fabric.topology.clientNamespace, 'arping', '-b', '-I', BRIDGE, ip], {
      env: this.fabric.taggedEnv(process.env), stdio: ['ignore', 'pipe', 'ignore'],
    });
    const state: ArpState = { ip, child, output: '', closed: new Promise((resolve) => child.on('close', () => resolve())) };
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => { state.output += d; });
    return state;
  }

  /** "Unicast reply from IP [MAC]  0.6ms" per reply; "Sent N probes" and "Received M response(s)" at the end. */
  private arpCounts(output: string): ArpCounts {
    const repliers = new Set<number>();
    for (const m of output.matchAll(/reply from \S+ \[([0-9A-Fa-f:]+)\]/g)) repliers.add(this.macs.get(m[1].toLowerCase()) ?? -1);
    const requests = Number(/Sent (\d+) probe/.exec(output)?.[1] ?? -1);
    const replies = Number(/Received (\d+) response/.exec(output)?.[1] ?? -1);
    return { requests, replies, repliers: [...repliers].sort() };
  }
}

/**
 * What "nothing moved, nothing went unanswered" means for a load report:
 * no TCP probe failed and each address's probes were answered only by its
 * node in `placement`, with no round missing; every ARP request was
 * answered once (the last may still have been in flight at the stop), and
 * only by that node's MAC.
 */
export function expectAnsweredInPlace(report: AddressLoadReport, placement: ReadonlyMap<string, number>): void {
  expect(report.failures, 'TCP probes without an answer').toEqual([]);
  expect(report.responders, 'nodes answering each address\'s TCP probes').toEqual(Object.fromEntries([...placement].map(([ip, p]) => [ip, [p]])));
  expect(report.maxGapMs, 'no round of probes missing').toBeLessThan(1000);
  for (const [ip, p] of placement) {
    const arp = report.arp[ip];
    expect(arp.repliers, `nodes answering ARP for ${ip}`).toEqual([p]);
    expect(arp.requests, `ARP requests for ${ip}`).toBeGreaterThanOrEqual(2);
    expect(arp.replies, `ARP replies for ${ip}: one per request`).toBeLessThanOrEqual(arp.requests);
    expect(arp.replies, `ARP replies for ${ip}: one per request`).toBeGreaterThanOrEqual(arp.requests - 1);
  }
}

/** One line of figures for a test's output. */
export function describeLoad(report: AddressLoadReport): string {
  const arp = Object.values(report.arp);
  const requests = arp.reduce((n, a) => n + a.requests, 0);
  const replies = arp.reduce((n, a) => n + a.replies, 0);
  return `${report.probes} TCP probes in ${report.durationMs} ms (${report.failedProbes} failed, longest gap between answers `
    + `${report.maxGapMs} ms), ${requests} ARP requests (${replies} replies)`;
}
