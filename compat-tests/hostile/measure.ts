import { setTimeout as sleep } from 'node:timers/promises';
import type { AttackDetail } from './attacks.ts';
import { readRssKiB, rssSettled, RssSampler } from './rss.ts';
import type { Probe, ProbeResult } from './well-behaved-probe.ts';

/**
 * One attack, measured the same way in the tests and in the bench: the
 * daemon's RSS before, its peak during and its RSS after, the well-behaved
 * client's round trips during the attack, and whether the daemon survived.
 */

export interface Measurement<T> {
  attack: string;
  daemon: string;
  probe: ProbeResult;
  rssKiB: { before?: number; during?: number; after?: number };
  alive: boolean;
  seconds: number;
  result: T;
  detail: AttackDetail;
}

export interface MeasureOptions<T> {
  attack: string;
  /** Label of the daemon under attack (table column). */
  daemon: string;
  /** The process whose RSS is measured. */
  pid: number;
  /** Starts the well-behaved client; it runs while `run` does. */
  startProbe: () => Promise<Probe>;
  run: () => Promise<T>;
  detail?: (result: T) => AttackDetail;
  /** "After" is read once the RSS is at most this (KiB), or after settleMs (default 1000). */
  rssLimitKiB?: (beforeKiB: number) => number;
  settleMs?: number;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function measureAttack<T>(o: MeasureOptions<T>): Promise<Measurement<T>> {
  const before = readRssKiB(o.pid);
  const probe = await o.startProbe();
  const sampler = new RssSampler(o.pid);
  const t0 = performance.now();
  let result: T;
  let probeResult: ProbeResult;
  let during: number | undefined;
  try {
    result = await o.run();
  } finally {
    // Stopped either way: a failing attack must not leave the probe running.
    probeResult = await probe.stop();
    during = sampler.stop();
  }
  const seconds = Math.round((performance.now() - t0) / 100) / 10;
  const settleMs = o.settleMs ?? 1000;
  let after: number | undefined;
  if (o.rssLimitKiB && before !== undefined) {
    after = await rssSettled(o.pid, o.rssLimitKiB(before), settleMs);
  } else {
    await sleep(settleMs);
    after = readRssKiB(o.pid);
  }
  return {
    attack: o.attack, daemon: o.daemon, probe: probeResult, rssKiB: { before, during, after },
    alive: isAlive(o.pid), seconds, result, detail: o.detail ? o.detail(result) : (result as AttackDetail),
  };
}

const mib = (kib: number | undefined) => (kib === undefined ? '-' : (kib / 1024).toFixed(1));

/** A one-line summary for test logs. */
export function summaryLine(m: Measurement<unknown>): string {
  return `${m.attack} [${m.daemon}]: probe n=${m.probe.count} p50 ${m.probe.p50Ms} ms p99 ${m.probe.p99Ms} ms ` +
    `errors ${m.probe.errors}; rss MiB ${mib(m.rssKiB.before)} / ${mib(m.rssKiB.during)} / ${mib(m.rssKiB.after)}; ` +
    `${m.alive ? 'alive' : 'DEAD'}; ${JSON.stringify(m.detail)}`;
}

/** One table per attack, a row per daemon (bench output). */
export function formatTables(rows: Array<Measurement<unknown> | { attack: string; daemon: string; skipped: string }>): string {
  const attacks = [...new Set(rows.map((r) => r.attack))];
  const header = ['daemon', 'p50 ms', 'p99 ms', 'max ms', 'probes', 'errors', 'RSS before MiB', 'during', 'after', 'up'];
  const out: string[] = [];
  for (const attack of attacks) {
    const lines = rows.filter((r) => r.attack === attack).map((r) => ('skipped' in r
      ? [r.daemon, `not run: ${r.skipped}`]
      : [r.daemon, String(r.probe.p50Ms), String(r.probe.p99Ms), String(r.probe.maxMs), String(r.probe.count), String(r.probe.errors),
        mib(r.rssKiB.before), mib(r.rssKiB.during), mib(r.rssKiB.after), r.alive ? 'yes' : 'NO']));
    const widths = header.map((h, i) => Math.max(h.length, ...lines.filter((l) => l.length > 2).map((l) => (l[i] ?? '').length)));
    out.push(`\n${attack}`);
    out.push(`  ${header.map((h, i) => h.padEnd(widths[i])).join('  ')}`);
    for (const l of lines) out.push(`  ${l.length === 2 ? `${l[0].padEnd(widths[0])}  ${l[1]}` : l.map((c, i) => c.padEnd(widths[i])).join('  ')}`);
    for (const r of rows.filter((x) => x.attack === attack && !('skipped' in x)) as Array<Measurement<unknown>>) {
      out.push(`    ${r.daemon}: ${JSON.stringify(r.detail)}`);
    }
  }
  return out.join('\n');
}
