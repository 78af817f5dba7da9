import type { ControlOptions, ControlReply } from '../../../legacy/client/controls-api.ts';
import { decodeControlReply } from '../../../legacy/protocol/control-payloads.ts';
import { CtdbDecodeError } from '../../../legacy/protocol/errors.ts';
import { controlFailureStatus, Errno } from './errors.ts';

/**
 * Controls the way ctdb_takeover_helper sends them (ctdb's C client
 * library): one node with a timeout, or the same control to several nodes
 * with one deadline, where only the first failure to arrive is reported
 * (ctdb_client_control_multi keeps one error; later ones are lost).
 */

/** What a takeover run needs from a ctdbd connection (LegacyClient has it). */
export interface TakeoverClient {
  /** The local node's PNN. */
  readonly pnn: number;
  control(opcode: number, opts?: ControlOptions): Promise<ControlReply>;
  sendMessage(destnode: number, srvid: bigint, data?: Buffer): void;
  /** Bytes not yet handed to the kernel (to let a last message out before exit). */
  readonly bufferedBytes?: number;
}

export type ControlOutcome =
  | { ok: true; reply: ControlReply; value: any }
  | { ok: false; status: number };

export interface SendOptions {
  timeoutMs: number;
  flags?: number;
  data?: Buffer;
}

/**
 * One control: ok with the decoded reply payload, or the status the helper
 * would see (the reply's status, ETIMEDOUT, EIO for an undecodable reply).
 * A lost connection throws TakeoverRunDisconnectedError.
 */
export async function sendControl(client: TakeoverClient, opcode: number, destnode: number, opts: SendOptions): Promise<ControlOutcome> {
  let reply: ControlReply;
  try {
    // A deadline already passed still sends (tevent fires the expired timer at once); 0 would mean "no timeout".
    const timeoutMs = Math.max(1, opts.timeoutMs);
    reply = await client.control(opcode, { destnode, timeoutMs, flags: opts.flags, data: opts.data });
  } catch (err) {
    return { ok: false, status: controlFailureStatus(err) };
  }
  if (reply.status !== 0) return { ok: false, status: reply.status };
  try {
    return { ok: true, reply, value: decodeControlReply(opcode, reply.data) };
  } catch (err) {
    if (err instanceof CtdbDecodeError) return { ok: false, status: Errno.EIO };
    throw err;
  }
}

export interface MultiOutcome {
  /** 0 when every node succeeded, else the first failure to arrive. */
  status: number;
  /** The node of that first failure (the only one the helper credits). */
  failedPnn?: number;
  /** Per node, in the order the outcomes came. */
  outcomes: Map<number, ControlOutcome>;
}

/** The same control to every node in `pnns` at once; resolves when all have answered or timed out. */
export async function sendControlMulti(client: TakeoverClient, opcode: number, pnns: readonly number[], opts: SendOptions): Promise<MultiOutcome> {
  const result: MultiOutcome = { status: 0, outcomes: new Map() };
  await Promise.all(pnns.map(async (pnn) => {
    const outcome = await sendControl(client, opcode, pnn, opts);
    result.outcomes.set(pnn, outcome);
    if (!outcome.ok && result.status === 0) {
      result.status = outcome.status;
      result.failedPnn = pnn;
    }
  }));
  return result;
}
