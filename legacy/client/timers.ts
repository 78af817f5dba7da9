/**
 * Timers the client uses, injectable so tests can drive timeouts and
 * reconnect backoff without waiting.
 */
export interface ClientTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: ClientTimers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    // A pending control timeout must not keep a finished program alive.
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};
