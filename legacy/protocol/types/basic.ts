import { f, struct, type StructDef } from '../struct.ts';

/**
 * Basic payload shapes (types.md §1). Every control/message payload decodes
 * to an object, also single integers and strings, so the JSON of a payload
 * names what it carries (e.g. `{ dbId: 0x37eb41c7 }`).
 */

/** struct timeval on x86_64: i64 seconds, i64 microseconds (16 bytes). */
export interface Timeval { sec: number; usec: number }
export const timevalDef = struct<Timeval>('timeval', [f.i64('sec'), f.i64('usec')]);

/** No payload at all (most "status only" requests and replies). */
export type Empty = Record<string, never>;
export const emptyDef = struct<Empty>('empty', []);

type One<K extends string, V> = { [P in K]: V };

export function u32Payload<K extends string>(name: string, field: K): StructDef<One<K, number>> {
  return struct(name, [f.u32(field)]);
}
export function i32Payload<K extends string>(name: string, field: K): StructDef<One<K, number>> {
  return struct(name, [f.i32(field)]);
}
export function u64Payload<K extends string>(name: string, field: K): StructDef<One<K, bigint>> {
  return struct(name, [f.u64(field)]);
}
export function f64Payload<K extends string>(name: string, field: K): StructDef<One<K, number>> {
  return struct(name, [f.f64(field)]);
}
/** A bare string: bytes + NUL, delimited by the payload length; empty = 0 bytes. */
export function cstringPayload<K extends string>(name: string, field: K): StructDef<One<K, string>> {
  return struct(name, [f.cstring(field)]);
}
/** Text without a NUL (DUMP_MEMORY reply). */
export function textPayload<K extends string>(name: string, field: K): StructDef<One<K, string>> {
  return struct(name, [f.text(field)]);
}
/** Opaque bytes. */
export function bytesPayload<K extends string>(name: string, field: K): StructDef<One<K, Buffer>> {
  return struct(name, [f.rest(field)]);
}

export interface DbIdPayload { dbId: number }
export const dbIdDef = u32Payload('db_id', 'dbId');
export interface PnnPayload { pnn: number }
export const pnnDef = u32Payload('pnn', 'pnn');
