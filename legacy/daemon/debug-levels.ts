import type { LevelWithSilent } from 'pino';

/**
 * CTDB debug levels as carried by GET_DEBUG / SET_DEBUG (Samba's numeric
 * levels) and as written in ctdb.conf `log level`.
 */
export const DebugLevel = { ERROR: 0, WARNING: 1, NOTICE: 3, INFO: 5, DEBUG: 10 } as const;
export type DebugLevelName = keyof typeof DebugLevel;

export function parseDebugLevel(text: string): number | undefined {
  const upper = text.trim().toUpperCase();
  if (upper in DebugLevel) return DebugLevel[upper as DebugLevelName];
  // ctdb.conf also accepts the numeric form.
  if (/^-?\d+$/.test(upper)) return Number(upper);
  return undefined;
}

/** The pino level that shows what the CTDB level shows. */
export function pinoLevelFor(level: number): LevelWithSilent {
  if (level <= DebugLevel.ERROR) return 'error';
  if (level < DebugLevel.NOTICE) return 'warn';
  if (level < DebugLevel.INFO) return 'info';
  if (level < DebugLevel.DEBUG) return 'debug';
  return 'trace';
}
