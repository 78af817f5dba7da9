import { f, struct } from '../struct.ts';
import { timevalDef, type Timeval } from './basic.ts';

/** Message payloads (types.md §9). */

/** SRVID_ELECTION: 32 bytes. */
export interface ElectionMessage { numConnected: number; priorityTime: Timeval; pnn: number; nodeFlags: number }
export const electionMessageDef = struct<ElectionMessage>('ctdb_election_message', [
  f.u32('numConnected'), f.pad(4), f.struct('priorityTime', timevalDef), f.u32('pnn'), f.u32('nodeFlags'),
]);

/** MEM_DUMP, TAKEOVER_RUN: a reply address (srvid 0 = no reply wanted). 16 bytes. */
export interface SrvidMessage { pnn: number; srvid: bigint }
export const srvidMessageDef = struct<SrvidMessage>('ctdb_srvid_message', [f.u32('pnn'), f.pad(4), f.u64('srvid')]);

/** DISABLE_TAKEOVER_RUNS, DISABLE_RECOVERIES: reply address plus timeout (0 = re-enable). 24 bytes. */
export interface DisableMessage { pnn: number; srvid: bigint; timeout: number }
export const disableMessageDef = struct<DisableMessage>('ctdb_disable_message', [
  f.u32('pnn'), f.pad(4), f.u64('srvid'), f.u32('timeout'), f.pad(4),
]);

/** The i32 answer to srvid_message / disable_message requests (leader pnn or -1). */
export interface MessageResult { result: number }
export const messageResultDef = struct<MessageResult>('message_result', [f.i32('result')]);
