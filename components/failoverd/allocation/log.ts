/**
 * What ctdbd's allocation code logs, as the same text at the same levels
 * (its DEBUG_ERR .. DEBUG_DEBUG), so a caller can mirror ctdbd's log and the
 * Samba unit cases can compare it line for line.
 */
export type AllocationLogLevel = 'error' | 'warning' | 'notice' | 'info' | 'debug';

export interface AllocationLog {
  /** The most verbose level wanted: lines above it are never formatted. */
  level: AllocationLogLevel;
  write(level: AllocationLogLevel, message: string): void;
}

const RANK: Record<AllocationLogLevel, number> = { error: 0, warning: 1, notice: 2, info: 3, debug: 4 };

/** The allocation modules' side: cheap level checks, then writes. */
export class Log {
  readonly info: boolean;
  readonly debug: boolean;
  private readonly rank: number;

  constructor(private readonly sink?: AllocationLog) {
    this.rank = sink ? RANK[sink.level] : -1;
    this.info = this.rank >= RANK.info;
    this.debug = this.rank >= RANK.debug;
  }

  write(level: AllocationLogLevel, message: string): void {
    if (this.sink && RANK[level] <= this.rank) this.sink.write(level, message);
  }
}

/** A uint32 as C's printf("%d") shows it. */
export function asInt(value: number): number {
  return value | 0;
}
