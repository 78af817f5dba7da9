import { createRequire } from 'node:module';
import type { Bindings, ChildLoggerOptions, Logger, LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

export interface LogOptions {
  /** Component name carried in every line ("client", "daemon", "transportd", ...). */
  component: string;
  /** Node number (PNN) when known; carried in every line. */
  node?: number;
  level?: LevelWithSilent;
  /** Destination stream; defaults to stderr so stdout stays machine-readable. */
  destination?: NodeJS.WritableStream;
}

/**
 * One pino logger per component instance. The level comes from the option,
 * else CTDB_BRIDGE_LOG_LEVEL, else "warn" (quiet in tests and CLI output).
 */
export function createLogger(opts: LogOptions): Logger {
  const level = levelOf(opts);
  const base: Record<string, unknown> = { component: opts.component };
  if (opts.node !== undefined) base.node = opts.node;
  return loadPino()({ level, base }, (opts.destination ?? process.stderr) as unknown as import('pino').DestinationStream);
}

function levelOf(opts: LogOptions): LevelWithSilent {
  return opts.level ?? (process.env.CTDB_BRIDGE_LOG_LEVEL as LevelWithSilent | undefined) ?? 'warn';
}

/** pino, loaded on first use (it costs a one-shot CLI ~45 ms; see deferredLogger). */
let pinoFn: typeof import('pino').pino | undefined;
function loadPino(): typeof import('pino').pino {
  pinoFn ??= (createRequire(import.meta.url)('pino') as typeof import('pino')).pino;
  return pinoFn;
}

const LEVEL_VALUES: Record<LevelWithSilent, number> = {
  trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity,
};
const LINE_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

/**
 * Same lines as createLogger, but pino is created only when a line passes
 * the level. A one-shot command (`ctdb-bridge legacy pnn`) at the default
 * level usually logs nothing, so it never loads pino. Supports what the
 * legacy client uses: the line methods, child, level, isLevelEnabled.
 */
export function deferredLogger(opts: LogOptions): Logger {
  const level = levelOf(opts);
  // A level pino would reject (or a custom one): let pino decide now, as before.
  if (!Object.hasOwn(LEVEL_VALUES, level)) return createLogger(opts);
  return deferred(level, () => createLogger(opts));
}

function deferred(level: LevelWithSilent, make: () => Logger): Logger {
  let real: Logger | undefined;
  const get = () => (real ??= make());
  const threshold = LEVEL_VALUES[level];
  const noop = () => undefined;
  const logger: Record<string, unknown> = {
    level,
    isLevelEnabled: (l: string) => (LEVEL_VALUES as Record<string, number>)[l] >= threshold,
    child: (bindings: Bindings, options?: ChildLoggerOptions) => deferred(level, () => get().child(bindings, options)),
  };
  for (const name of LINE_LEVELS) {
    logger[name] = LEVEL_VALUES[name] < threshold ? noop
      : (...args: unknown[]) => (get()[name] as (...a: unknown[]) => void)(...args);
  }
  return logger as unknown as Logger;
}

/** A logger that discards everything (for tests that assert on behaviour, not logs). */
export function silentLogger(component = 'test'): Logger {
  return createLogger({ component, level: 'silent' });
}
