import { CtdbDecodeError } from '../errors.ts';
import { f, struct } from '../struct.ts';

/** ctdb_ltdb_header (wire.md §6): 24 bytes before every record value. */
export interface LtdbHeader {
  rsn: bigint;
  dmaster: number;
  reserved1: number;
  flags: number;
}
export const LTDB_HEADER_SIZE = 24;
export const ltdbHeaderDef = struct<LtdbHeader>('ctdb_ltdb_header', [
  f.u64('rsn'), f.u32('dmaster'), f.u32('reserved1'), f.u32('flags'), f.pad(4),
]);

/** Split record data that carries a leading ltdb header (recovery, traverse, vacuum). */
export function splitRecordData(data: Buffer): { header: LtdbHeader; value: Buffer } {
  if (data.length < LTDB_HEADER_SIZE) {
    throw new CtdbDecodeError('ctdb_rec_data', 'data', 0, `record data of ${data.length} bytes has no 24-byte ltdb header`);
  }
  return { header: ltdbHeaderDef.decode(data), value: data.subarray(LTDB_HEADER_SIZE) };
}

/** Join an ltdb header and a value into record data. */
export function joinRecordData(header: LtdbHeader, value: Buffer): Buffer {
  const out = Buffer.alloc(LTDB_HEADER_SIZE + value.length);
  ltdbHeaderDef.write(header, out, 0);
  value.copy(out, LTDB_HEADER_SIZE);
  return out;
}
