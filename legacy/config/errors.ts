/**
 * The one error every reader of the operator's files throws: it names the
 * file, the 1-based line when there is one, and why ctdbd 4.17 would refuse
 * it. `code` is stable for callers.
 */
export type OperatorFileErrorCode =
  /** The file does not exist (only where ctdbd needs it: the nodes file). */
  | 'NOT_FOUND'
  /** It exists but cannot be read. */
  | 'UNREADABLE'
  /** A line or setting ctdbd refuses. */
  | 'INVALID';

export class OperatorFileError extends Error {
  override name = 'OperatorFileError';
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly reason: string,
    readonly code: OperatorFileErrorCode = 'INVALID',
    options?: { cause?: unknown },
  ) {
    super(`${file}${line !== undefined ? `:${line}` : ''}: ${reason}`, options);
  }
}

/**
 * Something ctdbd 4.17 accepts silently or with only a debug line, but an
 * operator should hear about (a typo it ignores, a value it never checks).
 */
export interface OperatorFileWarning {
  file: string;
  line: number | undefined;
  reason: string;
}
