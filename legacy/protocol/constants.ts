/** Constants of the legacy CTDB protocol (reference/wire.md). */

export const CTDB_MAGIC = 0x43544442;
export const CTDB_PROTOCOL = 1;
export const HEADER_SIZE = 32;
export const CTDB_PORT = 4379;
/** Samba 4.17: major << 16 | minor, carried in keepalives. */
export const KEEPALIVE_VERSION_4_17 = 0x00040011;
export const INVALID_GENERATION = 1;
/** First request id used by ctdbd and the client library (INT_MAX - 199). */
export const FIRST_REQID = 2147483448;

export const Operation = {
  REQ_CALL: 0,
  REPLY_CALL: 1,
  REQ_DMASTER: 2,
  REPLY_DMASTER: 3,
  REPLY_ERROR: 4,
  REQ_MESSAGE: 5,
  REQ_CONTROL: 7,
  REPLY_CONTROL: 8,
  REQ_KEEPALIVE: 9,
  REQ_TUNNEL: 10,
} as const;
export type OperationName = keyof typeof Operation;
export type OperationCode = (typeof Operation)[OperationName];

export const operationNames: Record<number, OperationName> = Object.fromEntries(
  Object.entries(Operation).map(([name, code]) => [code, name as OperationName]),
);

/** Special node numbers (wire.md §5). */
export const Node = {
  CURRENT: 0xf0000001,
  BROADCAST_ALL: 0xf0000002,
  BROADCAST_ACTIVE: 0xf0000003,
  BROADCAST_CONNECTED: 0xf0000004,
  MULTICAST: 0xf0000005,
  UNKNOWN_PNN: 0xffffffff,
  LMASTER_ANY: 0xffffffff,
} as const;

export function isBroadcastNode(pnn: number): boolean {
  return pnn === Node.BROADCAST_ALL || pnn === Node.BROADCAST_ACTIVE
    || pnn === Node.BROADCAST_CONNECTED || pnn === Node.MULTICAST;
}

export function nodeName(pnn: number): string | undefined {
  switch (pnn) {
    case Node.CURRENT: return 'CURRENT_NODE';
    case Node.BROADCAST_ALL: return 'BROADCAST_ALL';
    case Node.BROADCAST_ACTIVE: return 'BROADCAST_ACTIVE';
    case Node.BROADCAST_CONNECTED: return 'BROADCAST_CONNECTED';
    case Node.MULTICAST: return 'MULTICAST';
    case Node.UNKNOWN_PNN: return 'UNKNOWN_PNN';
    default: return undefined;
  }
}

/** REQ_CONTROL flags (wire.md §4.1). */
export const ControlFlag = {
  NOREPLY: 0x00000001,
  OPCODE_SPECIFIC_MASK: 0xffff0000,
  PUBLIC_IP_ONLY_AVAILABLE: 0x00010000,
  ATTACH_RECOVERY: 0x00020000,
} as const;

/** REQ_TUNNEL flags (wire.md §4.2). */
export const TunnelFlag = { REQUEST: 0x1, REPLY: 0x2, NOREPLY: 0x10 } as const;
export const TUNNEL_ID_TEST_PREFIX = 0xffffffff00000000n;

/** Node flags (types.md §3). */
export const NodeFlag = {
  DISCONNECTED: 0x01,
  UNHEALTHY: 0x02,
  PERMANENTLY_DISABLED: 0x04,
  BANNED: 0x08,
  DELETED: 0x10,
  STOPPED: 0x20,
  DISABLED: 0x06,
  INACTIVE: 0x39,
} as const;

/** Capabilities (GET_CAPABILITIES). */
export const Capability = {
  RECMASTER: 0x1,
  LMASTER: 0x2,
  LVS: 0x4,
  NATGW: 0x8,
  PARALLEL_RECOVERY: 0x10000,
  FRAGMENTED_CONTROLS: 0x20000,
  DEFAULT: 0x30003,
} as const;

/** ltdb record flags (wire.md §6). */
export const RecordFlag = {
  DEFAULT: 0,
  PERSISTENT: 0x1,
  PERSISTENT_IN_PROGRESS: 0x2,
  MIGRATED_WITH_DATA: 0x10000,
  VACUUM_MIGRATED: 0x20000,
  AUTOMATIC: 0x40000,
  RO_HAVE_DELEGATIONS: 0x01000000,
  RO_HAVE_READONLY: 0x02000000,
  RO_REVOKING_READONLY: 0x04000000,
  RO_REVOKE_COMPLETE: 0x08000000,
  RO_MASK: 0x0f000000,
} as const;

/** Call ids and REQ_CALL flags (wire.md §7). */
export const CallId = { NULL_FUNC: 0xff000001, FETCH_FUNC: 0xff000002, FETCH_WITH_HEADER_FUNC: 0xff000003 } as const;
export const CallFlag = { IMMEDIATE_MIGRATION: 0x1, VACUUM_MIGRATION: 0x2, WANT_READONLY: 0x4 } as const;

/** Database flags (ctdb_dbid). */
export const DbFlag = { PERSISTENT: 0x1, READONLY: 0x2, STICKY: 0x4, REPLICATED: 0x8 } as const;

export const RecoveryMode = { NORMAL: 0, ACTIVE: 1 } as const;

export const RunState = {
  UNKNOWN: 0, INIT: 1, SETUP: 2, FIRST_RECOVERY: 3, STARTUP: 4, RUNNING: 5, SHUTDOWN: 6,
} as const;
export const runStateNames: Record<number, string> = Object.fromEntries(
  Object.entries(RunState).map(([name, code]) => [code, name]),
);
