import { setFlagsFromString } from 'node:v8';

/**
 * A bridge daemon starts with 16x V8's interrupt budget (BRIDGE_DAEMON_FLAGS,
 * daemon-runtime.ts): idle, it stays small. Under traffic that budget kept
 * transportd's per-packet path from being optimised for tens of thousands of
 * packets (production layout, 64 B echo through two transportd processes:
 * 470-600 us round trip with it, ~205 us with V8's own), so once the daemon
 * is busy it gets V8's own budget back. An idle daemon never is: hellos and
 * liveness checks are a few packets a second.
 */

/** V8's own --interrupt-budget (V8 11.3, Node 20). */
export const V8_INTERRUPT_BUDGET = 67_584;
/** Packets a second from which a daemon counts as busy. */
export const BUSY_PACKETS_PER_SECOND = 500;

export interface TierUpOptions {
  /** How often the count is looked at (default 1000 ms). */
  intervalMs?: number;
  perSecond?: number;
  /** Called once, when the budget is restored (a log line). */
  onTierUp?: () => void;
  /** Injectable for tests. */
  setFlags?: (flags: string) => void;
  setInterval?: (fn: () => void, ms: number) => { unref?(): unknown };
  clearInterval?: (handle: unknown) => void;
}

/**
 * Watches `packets` (a running count) and restores V8's interrupt budget the
 * first time it grows by BUSY_PACKETS_PER_SECOND within one interval; then
 * stops watching. Returns a function that stops watching early.
 */
export function tierUpWhenBusy(packets: () => number, opts: TierUpOptions = {}): () => void {
  const intervalMs = opts.intervalMs ?? 1000;
  const enough = ((opts.perSecond ?? BUSY_PACKETS_PER_SECOND) * intervalMs) / 1000;
  const setFlags = opts.setFlags ?? setFlagsFromString;
  const clear = opts.clearInterval ?? ((h) => clearInterval(h as NodeJS.Timeout));
  let last = packets();
  let handle: unknown;
  const check = (): void => {
    const now = packets();
    if (now - last >= enough) {
      clear(handle);
      setFlags(`--interrupt-budget=${V8_INTERRUPT_BUDGET}`);
      opts.onTierUp?.();
    }
    last = now;
  };
  const timer = (opts.setInterval ?? setInterval)(check, intervalMs);
  timer.unref?.();
  handle = timer;
  return () => clear(handle);
}
