import { CtdbEncodeError } from '../errors.ts';
import { f, struct } from '../struct.ts';

/** Tunable payloads (types.md §5). */

/** SET_TUNABLE request: value, then a counted name (>= 12 bytes in total). */
export interface Tunable { value: number; name: string }
export const tunableDef = struct<Tunable>('ctdb_tunable', [f.u32('value'), f.lengthOf('name'), f.stringn('name')]);

/** GET_TUNABLE request: a counted name (>= 8 bytes in total). */
export interface GetTunableRequest { name: string }
export const getTunableRequestDef = struct<GetTunableRequest>('get_tunable_request', [f.lengthOf('name'), f.stringn('name')]);

/**
 * LIST_TUNABLES reply: u32 n + a ':'-separated NUL-terminated name list.
 * ctdbd starts the list with a colon; the ctdb library's own marshalling
 * does not. `leadingColon` records which form was seen (default: ctdbd's).
 */
export interface VarList { names: string[]; leadingColon?: boolean }
export const varListDef = struct<VarList>('ctdb_var_list', [f.lengthOf('text'), f.stringn('text')], {
  decode(raw: { text: string }): VarList {
    return { names: parseVarList(raw.text), leadingColon: raw.text.startsWith(':') };
  },
  encode(v: VarList): { text: string } {
    if (!v || !Array.isArray(v.names)) throw new CtdbEncodeError('ctdb_var_list', 'names', 'expected an array of names');
    const joined = v.names.join(':');
    return { text: (v.leadingColon ?? true) && joined.length > 0 ? `:${joined}` : joined };
  },
});

/** Split a var_list string on ':' and drop empty tokens. */
export function parseVarList(text: string): string[] {
  return text.split(':').filter((s) => s.length > 0);
}

export interface TunableDefault { name: string; default: number; obsolete: boolean }

/**
 * ctdbd's tunable name table in its own order (the order of LIST_TUNABLES,
 * which leaves out the obsolete ones), with defaults; Samba 4.17.12
 * ctdb/common/tunable.c. Not the GET_ALL_TUNABLES slot order.
 */
export const tunableDefaults: readonly TunableDefault[] = [
  { name: 'MaxRedirectCount', default: 3, obsolete: true },
  { name: 'SeqnumInterval', default: 1000, obsolete: false },
  { name: 'ControlTimeout', default: 60, obsolete: false },
  { name: 'TraverseTimeout', default: 20, obsolete: false },
  { name: 'KeepaliveInterval', default: 5, obsolete: false },
  { name: 'KeepaliveLimit', default: 5, obsolete: false },
  { name: 'RecoverTimeout', default: 30, obsolete: false },
  { name: 'RecoverInterval', default: 1, obsolete: false },
  { name: 'ElectionTimeout', default: 3, obsolete: false },
  { name: 'TakeoverTimeout', default: 9, obsolete: false },
  { name: 'MonitorInterval', default: 15, obsolete: false },
  { name: 'TickleUpdateInterval', default: 20, obsolete: false },
  { name: 'EventScriptTimeout', default: 30, obsolete: false },
  { name: 'MonitorTimeoutCount', default: 20, obsolete: false },
  { name: 'EventScriptUnhealthyOnTimeout', default: 0, obsolete: true },
  { name: 'RecoveryGracePeriod', default: 120, obsolete: false },
  { name: 'RecoveryBanPeriod', default: 300, obsolete: false },
  { name: 'DatabaseHashSize', default: 100001, obsolete: false },
  { name: 'DatabaseMaxDead', default: 5, obsolete: false },
  { name: 'RerecoveryTimeout', default: 10, obsolete: false },
  { name: 'EnableBans', default: 1, obsolete: false },
  { name: 'DeterministicIPs', default: 0, obsolete: true },
  { name: 'LCP2PublicIPs', default: 1, obsolete: true },
  { name: 'ReclockPingPeriod', default: 60, obsolete: true },
  { name: 'NoIPFailback', default: 0, obsolete: false },
  { name: 'DisableIPFailover', default: 0, obsolete: true },
  { name: 'VerboseMemoryNames', default: 0, obsolete: false },
  { name: 'RecdPingTimeout', default: 60, obsolete: false },
  { name: 'RecdFailCount', default: 10, obsolete: false },
  { name: 'LogLatencyMs', default: 0, obsolete: false },
  { name: 'RecLockLatencyMs', default: 1000, obsolete: false },
  { name: 'RecoveryDropAllIPs', default: 120, obsolete: false },
  { name: 'VerifyRecoveryLock', default: 1, obsolete: true },
  { name: 'VacuumInterval', default: 10, obsolete: false },
  { name: 'VacuumMaxRunTime', default: 120, obsolete: false },
  { name: 'RepackLimit', default: 10000, obsolete: false },
  { name: 'VacuumLimit', default: 5000, obsolete: true },
  { name: 'VacuumFastPathCount', default: 60, obsolete: false },
  { name: 'MaxQueueDropMsg', default: 1000000, obsolete: false },
  { name: 'AllowUnhealthyDBRead', default: 0, obsolete: false },
  { name: 'StatHistoryInterval', default: 1, obsolete: false },
  { name: 'DeferredAttachTO', default: 120, obsolete: false },
  { name: 'AllowClientDBAttach', default: 1, obsolete: false },
  { name: 'RecoverPDBBySeqNum', default: 1, obsolete: true },
  { name: 'DeferredRebalanceOnNodeAdd', default: 300, obsolete: true },
  { name: 'FetchCollapse', default: 1, obsolete: false },
  { name: 'HopcountMakeSticky', default: 50, obsolete: false },
  { name: 'StickyDuration', default: 600, obsolete: false },
  { name: 'StickyPindown', default: 200, obsolete: false },
  { name: 'NoIPTakeover', default: 0, obsolete: false },
  { name: 'DBRecordCountWarn', default: 100000, obsolete: false },
  { name: 'DBRecordSizeWarn', default: 10000000, obsolete: false },
  { name: 'DBSizeWarn', default: 100000000, obsolete: false },
  { name: 'PullDBPreallocation', default: 10485760, obsolete: false },
  { name: 'NoIPHostOnAllDisabled', default: 1, obsolete: true },
  { name: 'Samba3AvoidDeadlocks', default: 0, obsolete: true },
  { name: 'TDBMutexEnabled', default: 1, obsolete: true },
  { name: 'LockProcessesPerDB', default: 200, obsolete: false },
  { name: 'RecBufferSizeLimit', default: 1000000, obsolete: false },
  { name: 'QueueBufferSize', default: 1024, obsolete: false },
  { name: 'IPAllocAlgorithm', default: 2, obsolete: false },
  { name: 'AllowMixedVersions', default: 0, obsolete: false },
];

/** Slot order of ctdb_tunable_list (GET_ALL_TUNABLES, 62 u32 = 248 bytes). */
export const tunableListOrder = [
  'MaxRedirectCount', 'SeqnumInterval', 'ControlTimeout', 'TraverseTimeout', 'KeepaliveInterval',
  'KeepaliveLimit', 'RecoverTimeout', 'RecoverInterval', 'ElectionTimeout', 'TakeoverTimeout',
  'MonitorInterval', 'TickleUpdateInterval', 'EventScriptTimeout', 'MonitorTimeoutCount',
  'EventScriptUnhealthyOnTimeout', 'RecoveryGracePeriod', 'RecoveryBanPeriod', 'DatabaseHashSize',
  'DatabaseMaxDead', 'RerecoveryTimeout', 'EnableBans', 'DeterministicIPs', 'ReclockPingPeriod',
  'NoIPFailback', 'DisableIPFailover', 'VerboseMemoryNames', 'RecdPingTimeout', 'RecdFailCount',
  'LogLatencyMs', 'RecLockLatencyMs', 'RecoveryDropAllIPs', 'VerifyRecoveryLock', 'VacuumInterval',
  'VacuumMaxRunTime', 'RepackLimit', 'VacuumLimit', 'MaxQueueDropMsg', 'AllowUnhealthyDBRead',
  'StatHistoryInterval', 'DeferredAttachTO', 'VacuumFastPathCount', 'LCP2PublicIPs', 'AllowClientDBAttach',
  'RecoverPDBBySeqNum', 'DeferredRebalanceOnNodeAdd', 'FetchCollapse', 'HopcountMakeSticky',
  'StickyDuration', 'StickyPindown', 'NoIPTakeover', 'DBRecordCountWarn', 'DBRecordSizeWarn', 'DBSizeWarn',
  'PullDBPreallocation', 'NoIPHostOnAllDisabled', 'Samba3AvoidDeadlocks', 'TDBMutexEnabled',
  'LockProcessesPerDB', 'RecBufferSizeLimit', 'QueueBufferSize', 'IPAllocAlgorithm', 'AllowMixedVersions',
] as const;
export type TunableName = (typeof tunableListOrder)[number];
export type TunableList = Record<TunableName, number>;

export const tunableListDef = struct<TunableList>('ctdb_tunable_list', tunableListOrder.map((n) => f.u32(n)));

/** The defaults as a ctdb_tunable_list value. */
export function defaultTunableList(): TunableList {
  const out = {} as TunableList;
  for (const t of tunableDefaults) out[t.name as TunableName] = t.default;
  return out;
}

/** Case-insensitive lookup, as ctdbd matches tunable names. */
export function findTunable(name: string): TunableDefault | undefined {
  const lower = name.toLowerCase();
  return tunableDefaults.find((t) => t.name.toLowerCase() === lower);
}

