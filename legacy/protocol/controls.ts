/**
 * The control opcode table 0..162 (reference/controls.md): names, state,
 * what is new in master, which controls answer in `status`.
 */

export type ControlState =
  /** implemented by 4.17 and master */
  | 'active'
  /** still numbered; ctdbd answers -1 without doing anything */
  | 'obsolete'
  /** number retired (no name in Samba's enum), ctdbd answers -1 */
  | 'removed'
  /** never assigned */
  | 'undefined';

export interface ControlInfo {
  opcode: number;
  /** Name as in controls.md (e.g. GET_PNN); CONTROL_<n> when the number has no name. */
  name: string;
  state: ControlState;
  /** Does not exist in 4.17.12 (a 4.17 daemon answers -1). */
  newInMaster: boolean;
  /** The answer is carried in the REPLY_CONTROL status field; the data is empty. */
  statusReply: boolean;
  /** What `status` means for statusReply controls. */
  statusMeaning?: string;
  /** The daemon answers later (event script, lock child); replies may come out of order. */
  async: boolean;
  /** Always sent with CTRL_FLAG_NOREPLY (node to node). */
  noReply: boolean;
  /** Depends on the sender's client_id: only works from a unix-socket client to its own daemon. */
  clientOnly: boolean;
  /** The argument travels in the REQ_CONTROL srvid header field. */
  headerSrvid?: 'srvid' | 'tunnelId' | 'priority';
  /** Marked obsolete but still implemented by ctdbd (81, 82). */
  stillImplemented?: boolean;
  /** Request data, in words. */
  request: string;
  /** Reply data, in words. */
  reply: string;
}

type Row = [opcode: number, name: string | null, state: ControlState, newInMaster: boolean, request: string, reply: string];

// prettier-ignore
const rows: Row[] = [
  [0, "PROCESS_EXISTS", 'active', false, "pid (i32)", "status: 0 if a client with that pid is connected and alive, -1 otherwise"],
  [1, "STATISTICS", 'active', false, "-", "ctdb_statistics (488 B)"],
  [2, null, 'removed', false, "", ""],
  [3, "PING", 'active', false, "- (size-checked)", "status = number of connected Unix-socket clients"],
  [4, "GETDBPATH", 'active', false, "u32 db_id", "string (local TDB path + NUL, e.g. .../name.tdb.<pnn>)"],
  [5, "GETVNNMAP", 'active', false, "-", "ctdb_vnn_map"],
  [6, "SETVNNMAP", 'active', false, "ctdb_vnn_map", "status"],
  [7, "GET_DEBUG", 'active', false, "-", "i32 debug level"],
  [8, "SET_DEBUG", 'active', false, "i32 level", "status"],
  [9, "GET_DBMAP", 'active', false, "-", "ctdb_dbid_map"],
  [10, "GET_NODEMAPv4", 'obsolete', false, "", ""],
  [11, "SET_DMASTER", 'obsolete', false, "", ""],
  [12, null, 'removed', false, "", ""],
  [13, "PULL_DB", 'obsolete', false, "", ""],
  [14, "PUSH_DB", 'obsolete', false, "", ""],
  [15, "GET_RECMODE", 'active', false, "- (not checked)", "status = recovery mode (0 NORMAL, 1 ACTIVE)"],
  [16, "SET_RECMODE", 'active', false, "u32 mode", "status"],
  [17, "STATISTICS_RESET", 'active', false, "-", "status"],
  [18, "DB_ATTACH", 'active', false, "string (name+NUL)", "u32 db_id"],
  [19, "SET_CALL", 'obsolete', false, "", ""],
  [20, "TRAVERSE_START", 'active', false, "ctdb_traverse_start (16 B)", "status"],
  [21, "TRAVERSE_ALL", 'active', false, "ctdb_traverse_all (24 B), NOREPLY", "-"],
  [22, "TRAVERSE_DATA", 'active', false, "one ctdb_rec_data (its length must equal datalen), NOREPLY", "-"],
  [23, "REGISTER_SRVID", 'active', false, "- ; hdr.srvid = SRVID", "status (0, or errno)"],
  [24, "DEREGISTER_SRVID", 'active', false, "- ; hdr.srvid = SRVID", "status 0; 2 (ENOENT) if not registered (verified)"],
  [25, "GET_DBNAME", 'active', false, "u32 db_id", "string (name+NUL)"],
  [26, "ENABLE_SEQNUM", 'active', false, "u32 db_id", "status"],
  [27, "UPDATE_SEQNUM", 'active', false, "u32 db_id", "status"],
  [28, null, 'removed', false, "", ""],
  [29, "DUMP_MEMORY", 'active', false, "-", "text report without NUL"],
  [30, "GET_PID", 'active', false, "-", "status = ctdbd process id"],
  [31, "GET_RECMASTER", 'obsolete', false, "", ""],
  [32, "SET_RECMASTER", 'obsolete', false, "", ""],
  [33, "FREEZE", 'active', false, "- ; hdr.srvid = priority (ignored, 0)", "status, async (when all DBs are frozen)"],
  [34, "THAW", 'obsolete', false, "", ""],
  [35, "GET_PNN", 'active', false, "-", "status = PNN"],
  [36, "SHUTDOWN", 'active', false, "- (client library sends NOREPLY)", "status"],
  [37, "GET_MONMODE", 'obsolete', false, "", ""],
  [38, null, 'removed', false, "", ""],
  [39, null, 'removed', false, "", ""],
  [40, null, 'removed', false, "", ""],
  [41, null, 'removed', false, "", ""],
  [42, "TAKEOVER_IPv4", 'obsolete', false, "", ""],
  [43, "RELEASE_IPv4", 'obsolete', false, "", ""],
  [44, "TCP_CLIENT", 'active', false, "ctdb_connection (56 B)", "status"],
  [45, "TCP_ADD", 'active', false, "ctdb_connection", "status"],
  [46, "TCP_REMOVE", 'active', false, "ctdb_connection", "status"],
  [47, "STARTUP", 'active', false, "-", "status"],
  [48, "SET_TUNABLE", 'active', false, "ctdb_tunable", "status 0; 1 = tunable is obsolete; -1 unknown/bad"],
  [49, "GET_TUNABLE", 'active', false, "stringn name (\u2265 8 B total)", "u32 value; status -22 unknown name (verified)"],
  [50, "LIST_TUNABLES", 'active', false, "-", "ctdb_var_list (leading :)"],
  [51, "GET_PUBLIC_IPSv4", 'obsolete', false, "", ""],
  [52, "MODIFY_FLAGS", 'active', false, "ctdb_node_flag_change (12 B)", "status"],
  [53, "GET_ALL_TUNABLES", 'active', false, "-", "ctdb_tunable_list (248 B)"],
  [54, "KILL_TCP", 'obsolete', false, "", ""],
  [55, "GET_TCP_TICKLE_LIST", 'active', false, "ctdb_sock_addr (28 B)", "ctdb_tickle_list"],
  [56, "SET_TCP_TICKLE_LIST", 'active', false, "ctdb_tickle_list", "status"],
  [57, "REGISTER_SERVER_ID", 'obsolete', false, "", ""],
  [58, "UNREGISTER_SERVER_ID", 'obsolete', false, "", ""],
  [59, "CHECK_SERVER_ID", 'obsolete', false, "", ""],
  [60, "GET_SERVER_ID_LIST", 'obsolete', false, "", ""],
  [61, "DB_ATTACH_PERSISTENT", 'active', false, "string", "u32 db_id"],
  [62, "PERSISTENT_STORE", 'obsolete', false, "", ""],
  [63, "UPDATE_RECORD", 'active', false, "ctdb_rec_buffer (records incl. ltdb header)", "status, async"],
  [64, "SEND_GRATUITOUS_ARP", 'active', false, "ctdb_addr_info", "status"],
  [65, "TRANSACTION_START", 'obsolete', false, "", ""],
  [66, "TRANSACTION_COMMIT", 'obsolete', false, "", ""],
  [67, "WIPE_DATABASE", 'active', false, "ctdb_transdb (8 B)", "status"],
  [68, null, 'removed', false, "", ""],
  [69, "UPTIME", 'active', false, "-", "ctdb_uptime (64 B)"],
  [70, "START_RECOVERY", 'active', false, "-", "status, async"],
  [71, "END_RECOVERY", 'active', false, "-", "status, async"],
  [72, "RELOAD_NODES_FILE", 'active', false, "-", "status"],
  [73, null, 'removed', false, "", ""],
  [74, "TRY_DELETE_RECORDS", 'active', false, "ctdb_rec_buffer", "ctdb_rec_buffer of records that could *not* be deleted"],
  [75, "ENABLE_MONITOR", 'obsolete', false, "", ""],
  [76, "DISABLE_MONITOR", 'obsolete', false, "", ""],
  [77, "ADD_PUBLIC_IP", 'active', false, "ctdb_addr_info (exact size)", "status"],
  [78, "DEL_PUBLIC_IP", 'active', false, "ctdb_addr_info", "status"],
  [79, "RUN_EVENTSCRIPTS", 'obsolete', false, "", ""],
  [80, "GET_CAPABILITIES", 'active', false, "-", "u32 capabilities"],
  [81, "START_PERSISTENT_UPDATE", 'obsolete', false, "ignored", "status"],
  [82, "CANCEL_PERSISTENT_UPDATE", 'obsolete', false, "ignored", "status"],
  [83, "TRANS2_COMMIT", 'obsolete', false, "", ""],
  [84, "TRANS2_FINISHED", 'obsolete', false, "", ""],
  [85, "TRANS2_ERROR", 'obsolete', false, "", ""],
  [86, "TRANS2_COMMIT_RETRY", 'obsolete', false, "", ""],
  [87, "RECD_PING", 'active', false, "-", "status"],
  [88, "RELEASE_IP", 'active', false, "ctdb_public_ip (32 B)", "status, async"],
  [89, "TAKEOVER_IP", 'active', false, "ctdb_public_ip (32 B)", "status, async"],
  [90, "GET_PUBLIC_IPS", 'active', false, "- ; flags may contain PUBLIC_IP_FLAGS_ONLY_AVAILABLE", "ctdb_public_ip_list"],
  [91, "GET_NODEMAP", 'active', false, "-", "ctdb_node_map"],
  [92, null, 'undefined', false, "", ""],
  [93, null, 'undefined', false, "", ""],
  [94, null, 'undefined', false, "", ""],
  [95, null, 'undefined', false, "", ""],
  [96, "GET_EVENT_SCRIPT_STATUS", 'obsolete', false, "", ""],
  [97, "TRAVERSE_KILL", 'active', false, "ctdb_traverse_start (16 B)", "status"],
  [98, "RECD_RECLOCK_LATENCY", 'active', false, "f64 seconds", "status"],
  [99, "GET_RECLOCK_FILE", 'active', false, "-", "string, or empty (0 bytes) when no cluster lock is configured"],
  [100, "SET_RECLOCK_FILE", 'obsolete', false, "", ""],
  [101, "STOP_NODE", 'active', false, "-", "status"],
  [102, "CONTINUE_NODE", 'active', false, "-", "status"],
  [103, "SET_NATGWSTATE", 'obsolete', false, "", ""],
  [104, "SET_LMASTERROLE", 'active', false, "u32 (0 = drop LMASTER capability, else set)", "status"],
  [105, "SET_RECMASTERROLE", 'active', false, "u32 (0 = drop RECMASTER capability)", "status"],
  [106, null, 'undefined', false, "", ""],
  [107, "ENABLE_SCRIPT", 'obsolete', false, "", ""],
  [108, "DISABLE_SCRIPT", 'obsolete', false, "", ""],
  [109, "SET_BAN_STATE", 'active', false, "ctdb_ban_state (8 B)", "status"],
  [110, "GET_BAN_STATE", 'active', false, "-", "ctdb_ban_state (8 B)"],
  [111, "SET_DB_PRIORITY", 'obsolete', false, "", ""],
  [112, "GET_DB_PRIORITY", 'obsolete', false, "", ""],
  [113, "TRANSACTION_CANCEL", 'obsolete', false, "", ""],
  [114, "REGISTER_NOTIFY", 'active', false, "ctdb_notify_data", "status"],
  [115, "DEREGISTER_NOTIFY", 'active', false, "u64 srvid", "status"],
  [116, "TRANS2_ACTIVE", 'obsolete', false, "", ""],
  [117, "GET_LOG", 'obsolete', false, "", ""],
  [118, "CLEAR_LOG", 'obsolete', false, "", ""],
  [119, "TRANS3_COMMIT", 'active', false, "ctdb_rec_buffer", "status, async"],
  [120, "GET_DB_SEQNUM", 'active', false, "u32 db_id + u32 0 (8 B)", "u64 seqnum"],
  [121, "DB_SET_HEALTHY", 'active', false, "u32 db_id", "status"],
  [122, "DB_GET_HEALTH", 'active', false, "u32 db_id", "string reason; empty = healthy"],
  [123, "GET_PUBLIC_IP_INFO", 'active', false, "ctdb_sock_addr (28 B)", "ctdb_public_ip_info"],
  [124, "GET_IFACES", 'active', false, "-", "ctdb_iface_list"],
  [125, "SET_IFACE_LINK_STATE", 'active', false, "ctdb_iface (24 B)", "status"],
  [126, "TCP_ADD_DELAYED_UPDATE", 'active', false, "ctdb_connection", "status"],
  [127, "GET_STAT_HISTORY", 'active', false, "-", "ctdb_statistics_list"],
  [128, "SCHEDULE_FOR_DELETION", 'active', false, "ctdb_key_data (36 + keylen, exact)", "status"],
  [129, "SET_DB_READONLY", 'active', false, "u32 db_id", "status"],
  [130, "CHECK_SRVIDS", 'obsolete', false, "", ""],
  [131, "TRAVERSE_START_EXT", 'active', false, "ctdb_traverse_start_ext (24 B)", "status"],
  [132, "GET_DB_STATISTICS", 'active', false, "u32 db_id", "ctdb_db_statistics"],
  [133, "SET_DB_STICKY", 'active', false, "u32 db_id", "status"],
  [134, "RELOAD_PUBLIC_IPS", 'active', false, "-", "status, async"],
  [135, "TRAVERSE_ALL_EXT", 'active', false, "ctdb_traverse_all_ext (32 B), NOREPLY", "-"],
  [136, "RECEIVE_RECORDS", 'obsolete', false, "", ""],
  [137, "IPREALLOCATED", 'active', false, "-", "status, async"],
  [138, "GET_RUNSTATE", 'active', false, "-", "u32 run state"],
  [139, "DB_DETACH", 'active', false, "u32 db_id", "status"],
  [140, "GET_NODES_FILE", 'active', false, "-", "ctdb_node_map (as read from the nodes list; flags 0 or DELETED)"],
  [141, "DB_FREEZE", 'active', false, "u32 db_id", "status, async (when locked)"],
  [142, "DB_THAW", 'active', false, "u32 db_id", "status"],
  [143, "DB_TRANSACTION_START", 'active', false, "ctdb_transdb", "status"],
  [144, "DB_TRANSACTION_COMMIT", 'active', false, "ctdb_transdb", "status"],
  [145, "DB_TRANSACTION_CANCEL", 'active', false, "u32 db_id", "status"],
  [146, "DB_PULL", 'active', false, "ctdb_pulldb_ext (16 B)", "u32 number of records sent"],
  [147, "DB_PUSH_START", 'active', false, "ctdb_pulldb_ext (16 B)", "status"],
  [148, "DB_PUSH_CONFIRM", 'active', false, "u32 db_id", "u32 number of records received"],
  [149, "DB_OPEN_FLAGS", 'active', false, "u32 db_id", "i32 TDB open flags"],
  [150, "DB_ATTACH_REPLICATED", 'active', false, "string", "u32 db_id"],
  [151, "CHECK_PID_SRVID", 'active', false, "ctdb_pid_srvid (12 B)", "status 0 if a client with that pid registered that srvid, else -1"],
  [152, "TUNNEL_REGISTER", 'active', false, "- ; hdr.srvid = tunnel id", "status; -1 if any client of this daemon already registered it (verified)"],
  [153, "TUNNEL_DEREGISTER", 'active', false, "- ; hdr.srvid = tunnel id", "status"],
  [154, "VACUUM_FETCH", 'active', false, "ctdb_rec_buffer", "status"],
  [155, "DB_VACUUM", 'active', false, "ctdb_db_vacuum (5 B)", "status, async"],
  [156, "ECHO_DATA", 'active', false, "ctdb_echo_data", "ctdb_echo_data (identical copy)"],
  [157, "DISABLE_NODE", 'active', false, "-", "status"],
  [158, "ENABLE_NODE", 'active', false, "-", "status"],
  [159, "TCP_CLIENT_DISCONNECTED", 'active', true, "ctdb_connection", "status"],
  [160, "TCP_CLIENT_PASSED", 'active', true, "ctdb_connection", "status"],
  [161, "START_IPREALLOCATE", 'active', true, "-", "status, async"],
  [162, "PUSH_RECORD", 'active', true, "ctdb_push_record_data; always NOREPLY", "-"],
];

const ASYNC = new Set([16, 33, 63, 70, 71, 88, 89, 119, 134, 137, 141, 155, 161]);
const NO_REPLY = new Set([21, 22, 135, 162]);
const CLIENT_ONLY = new Set([20, 23, 24, 44, 81, 82, 114, 115, 131, 152, 153, 159, 160]);
const STATUS_REPLY: Record<number, string> = {
  0: "0 if a client with that pid is connected, -1 otherwise",
  3: "number of connected unix-socket clients",
  15: "recovery mode (0 NORMAL, 1 ACTIVE)",
  30: "ctdbd process id",
  35: "PNN of the daemon",
  151: "0 if a client with that pid registered that srvid, -1 otherwise",
};
const HEADER_SRVID: Record<number, ControlInfo['headerSrvid']> = { 23: 'srvid', 24: 'srvid', 152: 'tunnelId', 153: 'tunnelId', 33: 'priority' };
const STILL_IMPLEMENTED = new Set([81, 82]);

export const CONTROL_COUNT = rows.length;

const table: readonly ControlInfo[] = rows.map(([opcode, name, state, newInMaster, request, reply]) => {
  const info: ControlInfo = {
    opcode,
    name: name ?? `CONTROL_${opcode}`,
    state,
    newInMaster,
    statusReply: opcode in STATUS_REPLY,
    async: ASYNC.has(opcode),
    noReply: NO_REPLY.has(opcode),
    clientOnly: CLIENT_ONLY.has(opcode),
    request,
    reply,
  };
  if (opcode in STATUS_REPLY) info.statusMeaning = STATUS_REPLY[opcode];
  if (HEADER_SRVID[opcode]) info.headerSrvid = HEADER_SRVID[opcode];
  if (STILL_IMPLEMENTED.has(opcode)) info.stillImplemented = true;
  return Object.freeze(info);
});

/** Control opcodes by name, e.g. `Control.GET_PNN === 35`. */
export const Control = {
  PROCESS_EXISTS: 0,
  STATISTICS: 1,
  PING: 3,
  GETDBPATH: 4,
  GETVNNMAP: 5,
  SETVNNMAP: 6,
  GET_DEBUG: 7,
  SET_DEBUG: 8,
  GET_DBMAP: 9,
  GET_NODEMAPv4: 10,
  SET_DMASTER: 11,
  PULL_DB: 13,
  PUSH_DB: 14,
  GET_RECMODE: 15,
  SET_RECMODE: 16,
  STATISTICS_RESET: 17,
  DB_ATTACH: 18,
  SET_CALL: 19,
  TRAVERSE_START: 20,
  TRAVERSE_ALL: 21,
  TRAVERSE_DATA: 22,
  REGISTER_SRVID: 23,
  DEREGISTER_SRVID: 24,
  GET_DBNAME: 25,
  ENABLE_SEQNUM: 26,
  UPDATE_SEQNUM: 27,
  DUMP_MEMORY: 29,
  GET_PID: 30,
  GET_RECMASTER: 31,
  SET_RECMASTER: 32,
  FREEZE: 33,
  THAW: 34,
  GET_PNN: 35,
  SHUTDOWN: 36,
  GET_MONMODE: 37,
  TAKEOVER_IPv4: 42,
  RELEASE_IPv4: 43,
  TCP_CLIENT: 44,
  TCP_ADD: 45,
  TCP_REMOVE: 46,
  STARTUP: 47,
  SET_TUNABLE: 48,
  GET_TUNABLE: 49,
  LIST_TUNABLES: 50,
  GET_PUBLIC_IPSv4: 51,
  MODIFY_FLAGS: 52,
  GET_ALL_TUNABLES: 53,
  KILL_TCP: 54,
  GET_TCP_TICKLE_LIST: 55,
  SET_TCP_TICKLE_LIST: 56,
  REGISTER_SERVER_ID: 57,
  UNREGISTER_SERVER_ID: 58,
  CHECK_SERVER_ID: 59,
  GET_SERVER_ID_LIST: 60,
  DB_ATTACH_PERSISTENT: 61,
  PERSISTENT_STORE: 62,
  UPDATE_RECORD: 63,
  SEND_GRATUITOUS_ARP: 64,
  TRANSACTION_START: 65,
  TRANSACTION_COMMIT: 66,
  WIPE_DATABASE: 67,
  UPTIME: 69,
  START_RECOVERY: 70,
  END_RECOVERY: 71,
  RELOAD_NODES_FILE: 72,
  TRY_DELETE_RECORDS: 74,
  ENABLE_MONITOR: 75,
  DISABLE_MONITOR: 76,
  ADD_PUBLIC_IP: 77,
  DEL_PUBLIC_IP: 78,
  RUN_EVENTSCRIPTS: 79,
  GET_CAPABILITIES: 80,
  START_PERSISTENT_UPDATE: 81,
  CANCEL_PERSISTENT_UPDATE: 82,
  TRANS2_COMMIT: 83,
  TRANS2_FINISHED: 84,
  TRANS2_ERROR: 85,
  TRANS2_COMMIT_RETRY: 86,
  RECD_PING: 87,
  RELEASE_IP: 88,
  TAKEOVER_IP: 89,
  GET_PUBLIC_IPS: 90,
  GET_NODEMAP: 91,
  GET_EVENT_SCRIPT_STATUS: 96,
  TRAVERSE_KILL: 97,
  RECD_RECLOCK_LATENCY: 98,
  GET_RECLOCK_FILE: 99,
  SET_RECLOCK_FILE: 100,
  STOP_NODE: 101,
  CONTINUE_NODE: 102,
  SET_NATGWSTATE: 103,
  SET_LMASTERROLE: 104,
  SET_RECMASTERROLE: 105,
  ENABLE_SCRIPT: 107,
  DISABLE_SCRIPT: 108,
  SET_BAN_STATE: 109,
  GET_BAN_STATE: 110,
  SET_DB_PRIORITY: 111,
  GET_DB_PRIORITY: 112,
  TRANSACTION_CANCEL: 113,
  REGISTER_NOTIFY: 114,
  DEREGISTER_NOTIFY: 115,
  TRANS2_ACTIVE: 116,
  GET_LOG: 117,
  CLEAR_LOG: 118,
  TRANS3_COMMIT: 119,
  GET_DB_SEQNUM: 120,
  DB_SET_HEALTHY: 121,
  DB_GET_HEALTH: 122,
  GET_PUBLIC_IP_INFO: 123,
  GET_IFACES: 124,
  SET_IFACE_LINK_STATE: 125,
  TCP_ADD_DELAYED_UPDATE: 126,
  GET_STAT_HISTORY: 127,
  SCHEDULE_FOR_DELETION: 128,
  SET_DB_READONLY: 129,
  CHECK_SRVIDS: 130,
  TRAVERSE_START_EXT: 131,
  GET_DB_STATISTICS: 132,
  SET_DB_STICKY: 133,
  RELOAD_PUBLIC_IPS: 134,
  TRAVERSE_ALL_EXT: 135,
  RECEIVE_RECORDS: 136,
  IPREALLOCATED: 137,
  GET_RUNSTATE: 138,
  DB_DETACH: 139,
  GET_NODES_FILE: 140,
  DB_FREEZE: 141,
  DB_THAW: 142,
  DB_TRANSACTION_START: 143,
  DB_TRANSACTION_COMMIT: 144,
  DB_TRANSACTION_CANCEL: 145,
  DB_PULL: 146,
  DB_PUSH_START: 147,
  DB_PUSH_CONFIRM: 148,
  DB_OPEN_FLAGS: 149,
  DB_ATTACH_REPLICATED: 150,
  CHECK_PID_SRVID: 151,
  TUNNEL_REGISTER: 152,
  TUNNEL_DEREGISTER: 153,
  VACUUM_FETCH: 154,
  DB_VACUUM: 155,
  ECHO_DATA: 156,
  DISABLE_NODE: 157,
  ENABLE_NODE: 158,
  TCP_CLIENT_DISCONNECTED: 159,
  TCP_CLIENT_PASSED: 160,
  START_IPREALLOCATE: 161,
  PUSH_RECORD: 162,
} as const;
export type ControlName = keyof typeof Control;
export type ControlOpcode = (typeof Control)[ControlName];

/** The name of an opcode; `CONTROL_<n>` for numbers without a name (removed, undefined, unknown). */
export function controlName(opcode: number): string {
  return table[opcode]?.name ?? `CONTROL_${opcode}`;
}

/** Everything known about an opcode; numbers beyond the table are reported as 'undefined'. */
export function controlInfo(opcode: number): ControlInfo {
  const known = Number.isInteger(opcode) ? table[opcode] : undefined;
  if (known) return known;
  return {
    opcode, name: `CONTROL_${opcode}`, state: 'undefined', newInMaster: false, statusReply: false,
    async: false, noReply: false, clientOnly: false, request: '', reply: '',
  };
}

/** All 163 entries, opcode order. */
export function allControls(): readonly ControlInfo[] {
  return table;
}

/** Opcode for a name (case-insensitive), or undefined. */
export function controlByName(name: string): number | undefined {
  const upper = name.toUpperCase();
  const hit = table.find((c) => c.name.toUpperCase() === upper);
  return hit?.opcode;
}

/** The controls whose answer is carried in `status` (controls.md). */
export const STATUS_REPLY_CONTROLS: readonly number[] = Object.keys(STATUS_REPLY).map(Number);
