import { f, struct } from '../struct.ts';
import { ltdbHeaderDef, type LtdbHeader } from './ltdb.ts';

/** Database related payloads (types.md §4). */

export interface DbIdEntry { dbId: number; flags: number }
export const dbIdEntryDef = struct<DbIdEntry>('ctdb_dbid', [f.u32('dbId'), f.u8('flags'), f.pad(3)]);

export interface DbMap { dbs: DbIdEntry[] }
export const dbMapDef = struct<DbMap>('ctdb_dbid_map', [f.lengthOf('dbs'), f.array('dbs', dbIdEntryDef)]);

export interface TransDb { dbId: number; tid: number }
export const transdbDef = struct<TransDb>('ctdb_transdb', [f.u32('dbId'), f.u32('tid')]);

export interface PullDb { dbId: number; lmaster: number }
export const pulldbDef = struct<PullDb>('ctdb_pulldb', [f.u32('dbId'), f.u32('lmaster')]);

/** DB_PULL / DB_PUSH_START. For DB_PUSH_START ctdbd leaves `lmaster` uninitialised (garbage). */
export interface PullDbExt { dbId: number; lmaster: number; srvid: bigint }
export const pulldbExtDef = struct<PullDbExt>('ctdb_pulldb_ext', [f.u32('dbId'), f.u32('lmaster'), f.u64('srvid')]);

/** DB_VACUUM: exactly 5 bytes, no padding. */
export interface DbVacuum { dbId: number; fullVacuumRun: boolean }
export const dbVacuumDef = struct<DbVacuum>('ctdb_db_vacuum', [f.u32('dbId'), f.bool('fullVacuumRun')]);

/** SCHEDULE_FOR_DELETION: 36 + keylen. */
export interface KeyData { dbId: number; header: LtdbHeader; key: Buffer }
export const keyDataDef = struct<KeyData>('ctdb_key_data', [
  f.u32('dbId'), f.pad(4), f.struct('header', ltdbHeaderDef), f.lengthOf('key'), f.bytes('key', 'key'),
]);

/** PUSH_RECORD (master only): 40 + keylen + vallen. */
export interface PushRecordData { generation: number; dbId: number; header: LtdbHeader; key: Buffer; value: Buffer }
export const pushRecordDataDef = struct<PushRecordData>('ctdb_push_record_data', [
  f.u32('generation'), f.u32('dbId'), f.struct('header', ltdbHeaderDef),
  f.lengthOf('key'), f.bytes('key', 'key'), f.lengthOf('value'), f.bytes('value', 'value'),
]);

/** GET_DB_SEQNUM request: db_id plus a zero u32 (8 bytes; 4 bytes are refused). */
export interface GetDbSeqnumRequest { dbId: number }
export const getDbSeqnumRequestDef = struct<GetDbSeqnumRequest>('get_db_seqnum_request', [f.u32('dbId'), f.pad(4)]);
