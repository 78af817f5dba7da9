// Bad input off the network (or from a misbehaving local client) is logged,
// but a flood of it must not flood the log: each kind of complaint is written
// at most LOG_BURST times per LOG_INTERVAL_MS, and the first line of the next
// window says how many were left out (`suppressed`). Kinds are fixed strings
// from the code, never values from a packet, so the table stays small.

import type { Logger } from 'pino';

export const LOG_BURST = 10;
export const LOG_INTERVAL_MS = 10_000;

export interface LimitedLogOptions {
  burst?: number;
  intervalMs?: number;
  now?: () => number;
}

interface Window {
  start: number;
  written: number;
  suppressed: number;
}

export class LimitedLog {
  private readonly windows = new Map<string, Window>();
  private readonly burst: number;
  private readonly intervalMs: number;
  private readonly now: () => number;

  constructor(private readonly logger: Logger, opts: LimitedLogOptions = {}) {
    this.burst = opts.burst ?? LOG_BURST;
    this.intervalMs = opts.intervalMs ?? LOG_INTERVAL_MS;
    this.now = opts.now ?? Date.now;
  }

  /** A warn line for complaint `kind`, unless this kind used up its lines for the current window. */
  warn(kind: string, fields: Record<string, unknown>, msg: string): void {
    const now = this.now();
    let w = this.windows.get(kind);
    if (!w) this.windows.set(kind, (w = { start: now, written: 0, suppressed: 0 }));
    if (now - w.start >= this.intervalMs) {
      w.start = now;
      w.written = 0;
    }
    if (w.written >= this.burst) {
      w.suppressed++;
      return;
    }
    w.written++;
    const suppressed = w.suppressed;
    w.suppressed = 0;
    this.logger.warn(suppressed ? { ...fields, kind, suppressed } : { ...fields, kind }, msg);
  }
}
