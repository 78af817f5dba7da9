import type { ClientTimers } from './timers.ts';

/** Delay in ms before reconnect attempt `attempt` (1-based). */
export type BackoffPolicy = (attempt: number) => number;

export interface ExponentialBackoffOptions {
  initialMs?: number;
  maxMs?: number;
  factor?: number;
  /** 0..1: fraction of the delay randomised, so many clients do not retry in lockstep. */
  jitter?: number;
  random?: () => number;
}

/** 100 ms, 200 ms, 400 ms ... capped at 5 s, +-20 % jitter by default. */
export function exponentialBackoff(opts: ExponentialBackoffOptions = {}): BackoffPolicy {
  const initial = opts.initialMs ?? 100;
  const max = opts.maxMs ?? 5000;
  const factor = opts.factor ?? 2;
  const jitter = opts.jitter ?? 0.2;
  const random = opts.random ?? Math.random;
  return (attempt) => {
    const base = Math.min(max, initial * factor ** Math.max(0, attempt - 1));
    const spread = base * jitter;
    return Math.max(0, Math.round(base - spread + random() * 2 * spread));
  };
}

export interface ReconnectLoopOptions {
  backoff: BackoffPolicy;
  timers: ClientTimers;
  /** Give up after this many failed attempts (default: never). */
  maxAttempts?: number;
  /** One attempt: resolve when connected, reject to try again later. */
  attempt(n: number): Promise<void>;
  onAttemptFailed?(n: number, err: unknown, nextDelayMs: number | undefined): void;
  onGiveUp?(attempts: number, lastError: unknown): void;
}

/**
 * Retries `attempt` with backoff until it succeeds, is cancelled, or
 * `maxAttempts` is reached. One loop per disconnect; cancel() stops it
 * (client closed).
 */
export class ReconnectLoop {
  private timer: unknown;
  private cancelled = false;
  private attempts = 0;

  constructor(private readonly opts: ReconnectLoopOptions) {}

  start(): void {
    this.schedule();
  }

  cancel(): void {
    this.cancelled = true;
    if (this.timer !== undefined) this.opts.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  get isCancelled(): boolean {
    return this.cancelled;
  }

  private schedule(delayMs?: number): void {
    if (this.cancelled) return;
    const n = this.attempts + 1;
    this.timer = this.opts.timers.setTimeout(() => {
      this.timer = undefined;
      void this.run(n);
    }, delayMs ?? this.opts.backoff(n));
  }

  private async run(n: number): Promise<void> {
    if (this.cancelled) return;
    this.attempts = n;
    try {
      await this.opts.attempt(n);
    } catch (err) {
      if (this.cancelled) return;
      const exhausted = this.opts.maxAttempts !== undefined && n >= this.opts.maxAttempts;
      const delay = exhausted ? undefined : this.opts.backoff(n + 1);
      this.opts.onAttemptFailed?.(n, err, delay);
      if (exhausted) {
        this.cancelled = true;
        this.opts.onGiveUp?.(n, err);
        return;
      }
      this.schedule(delay);
    }
  }
}
