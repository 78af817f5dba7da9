import { f, struct } from '../struct.ts';
import { timevalDef, type Timeval } from './basic.ts';

/** Miscellaneous payloads (types.md §8). */

/** CHECK_PID_SRVID: 12 bytes, packed (the u64 is unaligned). */
export interface PidSrvid { pid: number; srvid: bigint }
export const pidSrvidDef = struct<PidSrvid>('ctdb_pid_srvid', [f.i32('pid'), f.u64('srvid')]);

/** REGISTER_NOTIFY: 12 + n (exact). */
export interface NotifyData { srvid: bigint; data: Buffer }
export const notifyDataDef = struct<NotifyData>('ctdb_notify_data', [f.u64('srvid'), f.lengthOf('data'), f.bytes('data', 'data')]);

/** ECHO_DATA request and reply: 8 + n. */
export interface EchoData { timeout: number; data: Buffer }
export const echoDataDef = struct<EchoData>('ctdb_echo_data', [f.u32('timeout'), f.lengthOf('data'), f.bytes('data', 'data')]);

/** Event script status (obsolete GET_EVENT_SCRIPT_STATUS): 584 bytes. */
export interface Script { name: string; start: Timeval; finished: Timeval; status: number; output: string }
export const scriptDef = struct<Script>('ctdb_script', [
  f.fixedString('name', 32), f.struct('start', timevalDef), f.struct('finished', timevalDef),
  f.i32('status'), f.fixedString('output', 512), f.pad(4),
]);

export interface ScriptList { scripts: Script[] }
export const scriptListDef = struct<ScriptList>('ctdb_script_list', [f.lengthOf('scripts'), f.pad(4), f.array('scripts', scriptDef)]);

/** g_lock record contents (not a control): 24-byte server id. */
export interface ServerId { pid: bigint; taskId: number; vnn: number; uniqueId: bigint }
export const serverIdDef = struct<ServerId>('ctdb_server_id', [f.u64('pid'), f.u32('taskId'), f.u32('vnn'), f.u64('uniqueId')]);

/** One g_lock entry: type 0 read / 1 write, pad, server id (32 bytes). */
export interface GLock { type: number; serverId: ServerId }
export const gLockDef = struct<GLock>('ctdb_g_lock', [f.u32('type'), f.pad(4), f.struct('serverId', serverIdDef)]);

/** A g_lock list: 32-byte entries back to back, no count. */
export interface GLockList { locks: GLock[] }
export const gLockListDef = struct<GLockList>('ctdb_g_lock_list', [f.arrayToEnd('locks', gLockDef)]);
