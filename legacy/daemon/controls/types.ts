import type { ClientConn } from '../client-face.ts';
import type { Daemon } from '../daemon.ts';

/** One control to execute on this daemon, from a local client or another node. */
export interface ControlRequest {
  opcode: number;
  srvid: bigint;
  /** 0 = issued by a daemon; otherwise the issuing client's id. */
  clientId: number;
  flags: number;
  data: Buffer;
  /** Node the request came from (our own PNN for local clients). */
  srcnode: number;
  /** The unix-socket client, when the request came straight from one. */
  client: ClientConn | undefined;
}

export interface ControlResult {
  status: number;
  data?: Buffer;
  /** Error text (sent without NUL, as ctdbd does). */
  error?: string;
}

export type ControlHandler = (req: ControlRequest, daemon: Daemon) => ControlResult | Promise<ControlResult>;

export type ControlTable = Map<number, ControlHandler>;

export const ok = (data?: Buffer): ControlResult => ({ status: 0, data });
export const statusOnly = (status: number): ControlResult => ({ status });
export const fail = (error?: string, status = -1): ControlResult => ({ status, error });

/** ctdbd's CHECK_CONTROL_DATA_SIZE: wrong size -> status -1, no data, no text. */
export function sizeIs(req: ControlRequest, size: number): boolean {
  return req.data.length === size;
}

export const BAD_SIZE: ControlResult = { status: -1 };
