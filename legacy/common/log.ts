import { pino, type Logger, type LevelWithSilent } from 'pino';

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
  const level = opts.level ?? (process.env.CTDB_BRIDGE_LOG_LEVEL as LevelWithSilent | undefined) ?? 'warn';
  const base: Record<string, unknown> = { component: opts.component };
  if (opts.node !== undefined) base.node = opts.node;
  return pino({ level, base }, (opts.destination ?? process.stderr) as unknown as import('pino').DestinationStream);
}

/** A logger that discards everything (for tests that assert on behaviour, not logs). */
export function silentLogger(component = 'test'): Logger {
  return createLogger({ component, level: 'silent' });
}
