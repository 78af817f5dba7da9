// Well-known transport service ids of the components (one home for them).
// 0 and 1 are transportd's own; ephemeral ids start at 0x80000000.

export const CLUSTERD_SERVICE = 16;
export const FAILOVERD_SERVICE = 17;

/** The default transportd socket of a host (systemd units and the CLI agree on it). */
export const DEFAULT_TRANSPORT_SOCKET = process.env.CTDB_BRIDGE_TRANSPORT_SOCKET ?? '/run/ctdb-bridge/transportd.sock';
