import { f, struct } from '../struct.ts';

/**
 * ctdb_rec_data / ctdb_rec_buffer (types.md §4). A record's first u32 is its
 * own total length (16 + keylen + datalen); decoding checks it. `data`
 * includes the 24-byte ltdb header where the context says so (see
 * splitRecordData in ltdb.ts).
 */
export interface RecData {
  reqid: number;
  key: Buffer;
  data: Buffer;
}
export const recDataDef = struct<RecData>('ctdb_rec_data', [
  f.selfLength(), f.u32('reqid'), f.lengthOf('key'), f.lengthOf('data'), f.bytes('key', 'key'), f.bytes('data', 'data'),
]);

export interface RecBuffer {
  dbId: number;
  records: RecData[];
}
export const recBufferDef = struct<RecBuffer>('ctdb_rec_buffer', [
  f.u32('dbId'), f.lengthOf('records'), f.array('records', recDataDef),
]);
