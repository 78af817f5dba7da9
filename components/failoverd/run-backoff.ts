// After a failed takeover run the next attempt for the same input waits:
// one check interval, doubling up to a cap. A run that cannot succeed (an
// event script refusing, a node answering with an error) then neither
// hammers ctdbd every check nor writes a line every check. A new input
// (placement, node flags, leadership, a CLI request) is tried at once.
//
// Pure: the caller passes a monotonic clock and the input as a string key.

export const RUN_BACKOFF_CAP_MS = 5000;

/** A series that goes on is logged again at most this often (with its count), not at every attempt. */
export const STILL_FAILING_LOG_MS = 60_000;

export interface RunFailure {
  /** Failures in a row for this input, this one included. */
  failures: number;
  /** How long until the next attempt for this input. */
  retryInMs: number;
  /** 'first': the series' first failure; 'still': its periodic reminder; absent: counted, not logged. */
  log?: 'first' | 'still';
  /** Set when this failure ends an earlier series (another input): its summary is due. */
  previous?: FailureSeries;
}

/** What a series of failures left behind, for its one summary line. */
export interface FailureSeries {
  failures: number;
  error: string;
}

export class RunBackoff {
  private failures = 0;
  private input: string | undefined;
  private lastError = '';
  private retryAt = 0;
  private loggedAt = 0;

  /** `baseMs`: the first wait (the check interval; a reload may change it for the next failure on). */
  constructor(public baseMs: number, private readonly capMs = RUN_BACKOFF_CAP_MS) {}

  /** How long a run for `input` must still wait (0: it may run now). */
  waitMs(now: number, input: string): number {
    if (this.failures === 0 || input !== this.input) return 0;
    return Math.max(0, this.retryAt - now);
  }

  /** Records a failed run for `input`; a different input than the series' starts a new one. */
  failed(now: number, input: string, error: string): RunFailure {
    const previous = this.failures > 0 && input !== this.input ? this.end() : undefined;
    this.failures++;
    this.input = input;
    this.lastError = error;
    const retryInMs = Math.min(this.capMs, this.baseMs * 2 ** (this.failures - 1));
    this.retryAt = now + retryInMs;
    let log: RunFailure['log'];
    if (this.failures === 1) log = 'first';
    else if (now - this.loggedAt >= STILL_FAILING_LOG_MS) log = 'still';
    if (log) this.loggedAt = now;
    return { failures: this.failures, retryInMs, ...(log ? { log } : {}), ...(previous ? { previous } : {}) };
  }

  /** A run succeeded: the series (if any) ends; returns it for its summary. */
  succeeded(): FailureSeries | undefined {
    return this.failures > 0 ? this.end() : undefined;
  }

  private end(): FailureSeries {
    const series = { failures: this.failures, error: this.lastError };
    this.failures = 0;
    this.input = undefined;
    this.lastError = '';
    return series;
  }
}
