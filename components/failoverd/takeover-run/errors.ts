import {
  LegacyClientClosedError, LegacyControlError, LegacyControlTimeoutError, LegacyDisconnectedError,
  LegacyNotConnectedError,
} from '../../../legacy/client/errors.ts';

/**
 * Linux errno values a takeover run reports, as ctdb_takeover_helper writes
 * them to its status fd (a control's own failure status is passed through
 * unchanged, e.g. -1).
 */
export const Errno = { EIO: 5, ENOMEM: 12, EINVAL: 22, ENOTCONN: 107, ETIMEDOUT: 110 } as const;

/** Where a takeover run stopped. */
export type TakeoverStage =
  | 'tunables' | 'nodemap' | 'nodes' | 'known-ips' | 'available-ips' | 'allocate'
  | 'release' | 'takeover' | 'ipreallocated';

/**
 * A takeover run failed at `stage`; `status` is what the helper writes (a
 * control's failure status, or an errno such as ETIMEDOUT).
 */
export class TakeoverRunError extends Error {
  override name = 'TakeoverRunError';
  constructor(readonly stage: TakeoverStage, readonly status: number, message: string, options?: { cause?: unknown }) {
    super(`takeover run failed at ${stage} (status ${status}): ${message}`, options);
  }
}

/**
 * The connection to ctdbd went away mid-run. ctdb_takeover_helper exits 1
 * without writing a status in that case; so does our command.
 */
export class TakeoverRunDisconnectedError extends Error {
  override name = 'TakeoverRunDisconnectedError';
  constructor(cause: unknown) {
    super(`connection to ctdbd lost during the takeover run: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/**
 * The status the C client library gives a failed control: the reply's
 * status, ETIMEDOUT when none came in time. A lost connection is not a
 * control failure: it is rethrown as TakeoverRunDisconnectedError.
 */
export function controlFailureStatus(err: unknown): number {
  if (err instanceof LegacyControlError) return err.status;
  if (err instanceof LegacyControlTimeoutError) return Errno.ETIMEDOUT;
  if (err instanceof LegacyDisconnectedError || err instanceof LegacyNotConnectedError
    || err instanceof LegacyClientClosedError) {
    throw new TakeoverRunDisconnectedError(err);
  }
  throw err;
}
