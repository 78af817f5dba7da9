import { f, struct } from '../struct.ts';

/** Traverse payloads (types.md §4, behaviour.md §7). */

/** TRAVERSE_START and TRAVERSE_KILL, 16 bytes. */
export interface TraverseStart { dbId: number; reqid: number; srvid: bigint }
export const traverseStartDef = struct<TraverseStart>('ctdb_traverse_start', [
  f.u32('dbId'), f.u32('reqid'), f.u64('srvid'),
]);

/** TRAVERSE_START_EXT, 24 bytes. */
export interface TraverseStartExt extends TraverseStart { withEmptyRecords: boolean }
export const traverseStartExtDef = struct<TraverseStartExt>('ctdb_traverse_start_ext', [
  f.u32('dbId'), f.u32('reqid'), f.u64('srvid'), f.bool('withEmptyRecords'), f.pad(7),
]);

/** TRAVERSE_ALL (node to node), 24 bytes. */
export interface TraverseAll { dbId: number; reqid: number; pnn: number; clientReqid: number; srvid: bigint }
export const traverseAllDef = struct<TraverseAll>('ctdb_traverse_all', [
  f.u32('dbId'), f.u32('reqid'), f.u32('pnn'), f.u32('clientReqid'), f.u64('srvid'),
]);

/** TRAVERSE_ALL_EXT, 32 bytes; ctdbd sends stack garbage in the 7 pad bytes. */
export interface TraverseAllExt extends TraverseAll { withEmptyRecords: boolean }
export const traverseAllExtDef = struct<TraverseAllExt>('ctdb_traverse_all_ext', [
  f.u32('dbId'), f.u32('reqid'), f.u32('pnn'), f.u32('clientReqid'), f.u64('srvid'),
  f.bool('withEmptyRecords'), f.pad(7),
]);
