import type { LegacyClient } from '../../../legacy/client/index.ts';
import {
  LegacyClientError, LegacyConnectError, LegacyControlError, LegacyControlTimeoutError, LegacyReplyDecodeError,
} from '../../../legacy/client/index.ts';
import { toJsonText } from './json.ts';

/** What every legacy command gets. */
export interface LegacyContext {
  /** Connected client; undefined for commands that run without the daemon (listnodes). */
  client: LegacyClient;
  /** PNN of the daemon we talk to (GET_PNN). */
  pnn: number;
  /** Node the command is about: -n PNN, else pnn. */
  cmdPnn: number;
  /** Per control, from -t (seconds), like ctdb's TIMEOUT(). */
  timeoutMs: number;
  json: boolean;
  verbose: boolean;
  env: Record<string, string | undefined>;
  out(text: string): void;
  err(text: string): void;
}

export type LegacyContextNoDaemon = Omit<LegacyContext, 'client' | 'pnn' | 'cmdPnn'>;

export interface LegacyCommand {
  name: string;
  /** ctdb's usage args string, for help output. */
  args?: string;
  description: string;
  /** Runs without contacting ctdbd (`-n` refused). */
  withoutDaemon?: boolean;
  /** `-n` allowed (ctdb's "remote" column). */
  remote: boolean;
  run(ctx: LegacyContext, args: string[]): Promise<number>;
  runWithoutDaemon?(ctx: LegacyContextNoDaemon, args: string[]): Promise<number>;
}

/** Wrong number of arguments: ctdb prints its usage and exits 1. */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(readonly command: string) {
    super(`usage error for ${command}`);
  }
}

export function emitJson(ctx: Pick<LegacyContext, 'out'>, value: unknown): void {
  ctx.out(toJsonText(value));
}

const ETIMEDOUT = 110;
const EPROTO = 71;

/**
 * The exit status ctdb would give for a failed request: the control's
 * status (ctdb maps -1 to 1), ETIMEDOUT on timeout, EPROTO for a reply it
 * cannot parse, 1 otherwise. The OS keeps the low 8 bits.
 */
export function exitCodeFor(err: unknown): number {
  if (err instanceof LegacyControlError) return err.status === -1 ? 1 : err.status & 0xff;
  if (err instanceof LegacyControlTimeoutError) return ETIMEDOUT;
  if (err instanceof LegacyReplyDecodeError) return EPROTO;
  return 1;
}

/** One stderr line per failure, in the spirit of ctdb's client library messages. */
export function describeFailure(err: unknown): string {
  if (err instanceof LegacyConnectError) return `Failed to connect to CTDB daemon (${err.socketPath})\n`;
  if (err instanceof LegacyClientError) return `${err.message}\n`;
  return `${err instanceof Error ? err.message : String(err)}\n`;
}
