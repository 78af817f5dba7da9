import { readFileSync } from 'node:fs';

/**
 * Resident memory of another process, from /proc/PID/status (VmRSS), for
 * the hostile suite: the daemon under attack runs as its own process, so
 * its RSS is what the attack cost it.
 */

/** VmRSS of `pid` in KiB; undefined when the process is gone. */
export function readRssKiB(pid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Samples a process's RSS every `intervalMs` until stopped; reports the peak. */
export class RssSampler {
  private peak = 0;
  private last: number | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(readonly pid: number, intervalMs = 100) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample(): void {
    const kib = readRssKiB(this.pid);
    this.last = kib;
    if (kib !== undefined && kib > this.peak) this.peak = kib;
  }

  /** Stops sampling; the peak seen (KiB), undefined if the process was never readable. */
  stop(): number | undefined {
    clearInterval(this.timer);
    this.sample();
    return this.peak === 0 ? undefined : this.peak;
  }

  get current(): number | undefined {
    return this.last;
  }
}

/**
 * Polls until the RSS is at most `limitKiB` (the daemon's GC and allocator
 * give memory back in their own time) or `waitMs` passed; returns the last
 * reading.
 */
export async function rssSettled(pid: number, limitKiB: number, waitMs: number, pollMs = 250): Promise<number | undefined> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const kib = readRssKiB(pid);
    if (kib === undefined || kib <= limitKiB || Date.now() >= deadline) return kib;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
