import { Control, controlName } from './controls.ts';
import { CtdbDecodeError, CtdbEncodeError } from './errors.ts';
import type { StructDef } from './struct.ts';
import {
  addrInfoDef, banStateDef, connectionDef, cstringPayload, dbIdDef, dbMapDef, dbStatisticsDef, dbVacuumDef,
  echoDataDef, emptyDef, f64Payload, getDbSeqnumRequestDef, getTunableRequestDef, i32Payload, ifaceDef,
  ifaceListDef, keyDataDef, nodeFlagChangeDef, nodeMapDef, notifyDataDef, pidSrvidDef, publicIpDef,
  publicIpInfoDef, publicIpListDef, pulldbExtDef, pushRecordDataDef, recBufferDef, recDataDef, sockAddrDef,
  statisticsDef, statisticsListDef, textPayload, tickleListDef, transdbDef, traverseAllDef, traverseAllExtDef,
  traverseStartDef, traverseStartExtDef, tunableDef, tunableListDef, u32Payload, u64Payload, uptimeDef,
  varListDef, vnnMapDef,
} from './types/index.ts';

/**
 * Request and reply payload codecs per control opcode (controls.md). The
 * data area of REQ_CONTROL / REPLY_CONTROL is decoded to an object; an
 * opcode (or direction) without a known layout decodes to `{ raw: Buffer }`
 * and never throws. A payload that does not match its layout throws
 * CtdbDecodeError (callers may fall back to raw).
 *
 * Reply payloads describe the data of a *successful* reply (status 0):
 * failed replies carry no data. Controls that answer in `status` (GET_PNN,
 * PING, ...) and "status only" controls have an empty reply: `{}`.
 */

export interface RawPayload { raw: Buffer }

export interface ControlPayloadCodecs {
  request: StructDef<any>;
  reply: StructDef<any>;
}

const dbName = cstringPayload('db_name', 'name');
const dbPath = cstringPayload('db_path', 'path');
const empty = emptyDef;

/** [opcode, request, reply] */
const entries: Array<[number, StructDef<any>, StructDef<any>]> = [
  [Control.PROCESS_EXISTS, i32Payload('process_exists_request', 'pid'), empty],
  [Control.STATISTICS, empty, statisticsDef],
  [Control.PING, empty, empty],
  [Control.GETDBPATH, dbIdDef, dbPath],
  [Control.GETVNNMAP, empty, vnnMapDef],
  [Control.SETVNNMAP, vnnMapDef, empty],
  [Control.GET_DEBUG, empty, i32Payload('debug_level', 'level')],
  [Control.SET_DEBUG, i32Payload('debug_level', 'level'), empty],
  [Control.GET_DBMAP, empty, dbMapDef],
  [Control.GET_RECMODE, empty, empty],
  [Control.SET_RECMODE, u32Payload('recovery_mode', 'mode'), empty],
  [Control.STATISTICS_RESET, empty, empty],
  [Control.DB_ATTACH, dbName, dbIdDef],
  [Control.TRAVERSE_START, traverseStartDef, empty],
  [Control.TRAVERSE_ALL, traverseAllDef, empty],
  [Control.TRAVERSE_DATA, recDataDef, empty],
  [Control.REGISTER_SRVID, empty, empty],
  [Control.DEREGISTER_SRVID, empty, empty],
  [Control.GET_DBNAME, dbIdDef, dbName],
  [Control.ENABLE_SEQNUM, dbIdDef, empty],
  [Control.UPDATE_SEQNUM, dbIdDef, empty],
  [Control.DUMP_MEMORY, empty, textPayload('memory_dump', 'text')],
  [Control.GET_PID, empty, empty],
  [Control.FREEZE, empty, empty],
  [Control.GET_PNN, empty, empty],
  [Control.SHUTDOWN, empty, empty],
  [Control.TCP_CLIENT, connectionDef, empty],
  [Control.TCP_ADD, connectionDef, empty],
  [Control.TCP_REMOVE, connectionDef, empty],
  [Control.STARTUP, empty, empty],
  [Control.SET_TUNABLE, tunableDef, empty],
  [Control.GET_TUNABLE, getTunableRequestDef, u32Payload('tunable_value', 'value')],
  [Control.LIST_TUNABLES, empty, varListDef],
  [Control.MODIFY_FLAGS, nodeFlagChangeDef, empty],
  [Control.GET_ALL_TUNABLES, empty, tunableListDef],
  [Control.GET_TCP_TICKLE_LIST, sockAddrDef, tickleListDef],
  [Control.SET_TCP_TICKLE_LIST, tickleListDef, empty],
  [Control.DB_ATTACH_PERSISTENT, dbName, dbIdDef],
  [Control.UPDATE_RECORD, recBufferDef, empty],
  [Control.SEND_GRATUITOUS_ARP, addrInfoDef, empty],
  [Control.WIPE_DATABASE, transdbDef, empty],
  [Control.UPTIME, empty, uptimeDef],
  [Control.START_RECOVERY, empty, empty],
  [Control.END_RECOVERY, empty, empty],
  [Control.RELOAD_NODES_FILE, empty, empty],
  [Control.TRY_DELETE_RECORDS, recBufferDef, recBufferDef],
  [Control.ADD_PUBLIC_IP, addrInfoDef, empty],
  [Control.DEL_PUBLIC_IP, addrInfoDef, empty],
  [Control.GET_CAPABILITIES, empty, u32Payload('capabilities', 'capabilities')],
  [Control.RECD_PING, empty, empty],
  [Control.RELEASE_IP, publicIpDef, empty],
  [Control.TAKEOVER_IP, publicIpDef, empty],
  [Control.GET_PUBLIC_IPS, empty, publicIpListDef],
  [Control.GET_NODEMAP, empty, nodeMapDef],
  [Control.TRAVERSE_KILL, traverseStartDef, empty],
  [Control.RECD_RECLOCK_LATENCY, f64Payload('reclock_latency', 'latency'), empty],
  [Control.GET_RECLOCK_FILE, empty, cstringPayload('reclock_file', 'path')],
  [Control.STOP_NODE, empty, empty],
  [Control.CONTINUE_NODE, empty, empty],
  [Control.SET_LMASTERROLE, u32Payload('lmaster_role', 'role'), empty],
  [Control.SET_RECMASTERROLE, u32Payload('recmaster_role', 'role'), empty],
  [Control.SET_BAN_STATE, banStateDef, empty],
  [Control.GET_BAN_STATE, empty, banStateDef],
  [Control.REGISTER_NOTIFY, notifyDataDef, empty],
  [Control.DEREGISTER_NOTIFY, u64Payload('deregister_notify', 'srvid'), empty],
  [Control.TRANS3_COMMIT, recBufferDef, empty],
  [Control.GET_DB_SEQNUM, getDbSeqnumRequestDef, u64Payload('db_seqnum', 'seqnum')],
  [Control.DB_SET_HEALTHY, dbIdDef, empty],
  [Control.DB_GET_HEALTH, dbIdDef, cstringPayload('db_health', 'reason')],
  [Control.GET_PUBLIC_IP_INFO, sockAddrDef, publicIpInfoDef],
  [Control.GET_IFACES, empty, ifaceListDef],
  [Control.SET_IFACE_LINK_STATE, ifaceDef, empty],
  [Control.TCP_ADD_DELAYED_UPDATE, connectionDef, empty],
  [Control.GET_STAT_HISTORY, empty, statisticsListDef],
  [Control.SCHEDULE_FOR_DELETION, keyDataDef, empty],
  [Control.SET_DB_READONLY, dbIdDef, empty],
  [Control.TRAVERSE_START_EXT, traverseStartExtDef, empty],
  [Control.GET_DB_STATISTICS, dbIdDef, dbStatisticsDef],
  [Control.SET_DB_STICKY, dbIdDef, empty],
  [Control.RELOAD_PUBLIC_IPS, empty, empty],
  [Control.TRAVERSE_ALL_EXT, traverseAllExtDef, empty],
  [Control.IPREALLOCATED, empty, empty],
  [Control.GET_RUNSTATE, empty, u32Payload('runstate', 'runState')],
  [Control.DB_DETACH, dbIdDef, empty],
  [Control.GET_NODES_FILE, empty, nodeMapDef],
  [Control.DB_FREEZE, dbIdDef, empty],
  [Control.DB_THAW, dbIdDef, empty],
  [Control.DB_TRANSACTION_START, transdbDef, empty],
  [Control.DB_TRANSACTION_COMMIT, transdbDef, empty],
  [Control.DB_TRANSACTION_CANCEL, dbIdDef, empty],
  [Control.DB_PULL, pulldbExtDef, u32Payload('db_pull_count', 'numRecords')],
  [Control.DB_PUSH_START, pulldbExtDef, empty],
  [Control.DB_PUSH_CONFIRM, dbIdDef, u32Payload('db_push_count', 'numRecords')],
  [Control.DB_OPEN_FLAGS, dbIdDef, i32Payload('tdb_flags', 'tdbFlags')],
  [Control.DB_ATTACH_REPLICATED, dbName, dbIdDef],
  [Control.CHECK_PID_SRVID, pidSrvidDef, empty],
  [Control.TUNNEL_REGISTER, empty, empty],
  [Control.TUNNEL_DEREGISTER, empty, empty],
  [Control.VACUUM_FETCH, recBufferDef, empty],
  [Control.DB_VACUUM, dbVacuumDef, empty],
  [Control.ECHO_DATA, echoDataDef, echoDataDef],
  [Control.DISABLE_NODE, empty, empty],
  [Control.ENABLE_NODE, empty, empty],
  [Control.TCP_CLIENT_DISCONNECTED, connectionDef, empty],
  [Control.TCP_CLIENT_PASSED, connectionDef, empty],
  [Control.START_IPREALLOCATE, empty, empty],
  [Control.PUSH_RECORD, pushRecordDataDef, empty],
];

const registry: Array<ControlPayloadCodecs | undefined> = [];
for (const [opcode, request, reply] of entries) registry[opcode] = { request, reply };

/** The codecs for an opcode, or undefined when its payloads are not modelled (obsolete, unknown). */
export function controlPayloadCodecs(opcode: number): ControlPayloadCodecs | undefined {
  return Number.isInteger(opcode) && opcode >= 0 ? registry[opcode] : undefined;
}

/** Opcodes with modelled payloads. */
export function modelledControls(): number[] {
  return entries.map(([opcode]) => opcode);
}

type Direction = 'request' | 'reply';

/** "GET_NODEMAP reply": built only when an error needs it (not per call on the hot path). */
function payloadName(opcode: number, direction: Direction): string {
  return `${controlName(opcode)} ${direction}`;
}

function decodeWith(opcode: number, direction: Direction, data: Buffer): any {
  const def = registry[opcode]?.[direction];
  if (!def) return { raw: data } satisfies RawPayload;
  try {
    return def.decodeExact(data);
  } catch (err) {
    if (err instanceof CtdbDecodeError) {
      throw new CtdbDecodeError(`${payloadName(opcode, direction)} (${err.structure})`, err.field, err.offset, err.reason);
    }
    throw err;
  }
}

function encodeWith(opcode: number, direction: Direction, value: unknown): Buffer {
  const def = registry[opcode]?.[direction];
  if (!def) {
    const raw = (value as Partial<RawPayload> | undefined)?.raw;
    if (raw instanceof Uint8Array) return Buffer.from(raw.buffer, raw.byteOffset, raw.length);
    throw new CtdbEncodeError(payloadName(opcode, direction), 'raw', 'no payload layout known: pass { raw: Buffer }');
  }
  if (value !== null && typeof value === 'object' && 'raw' in value && (value as RawPayload).raw instanceof Uint8Array
    && Object.keys(value).length === 1) {
    // Raw bytes are always allowed (e.g. deliberately malformed test payloads).
    const raw = (value as RawPayload).raw;
    return Buffer.from(raw.buffer, raw.byteOffset, raw.length);
  }
  return def.encode(value);
}

export function decodeControlRequest(opcode: number, data: Buffer): any {
  return decodeWith(opcode, 'request', data);
}

export function decodeControlReply(opcode: number, data: Buffer): any {
  return decodeWith(opcode, 'reply', data);
}

export function encodeControlRequest(opcode: number, value: unknown = {}): Buffer {
  return encodeWith(opcode, 'request', value);
}

export function encodeControlReply(opcode: number, value: unknown = {}): Buffer {
  return encodeWith(opcode, 'reply', value);
}

/** Padding ranges of an encoded request/reply value (for round-trip comparison). */
export function controlPayloadPadRanges(opcode: number, direction: 'request' | 'reply', value: unknown): Array<[number, number]> {
  const def = registry[opcode]?.[direction];
  if (!def || (value as Partial<RawPayload>)?.raw instanceof Uint8Array) return [];
  return def.padRanges(value);
}
