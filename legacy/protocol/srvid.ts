/** Well-known SRVIDs (message ports), wire.md §9. SRVIDs are u64, kept as bigint. */

export const Srvid = {
  ALL: 0xffffffffffffffffn,
  RECOVERY: 0xf001000000000000n,
  BANNING: 0xf002000000000000n,
  ELECTION: 0xf100000000000000n,
  LEADER: 0xf101000000000000n,
  RECONFIGURE: 0xf200000000000000n,
  RELEASE_IP: 0xf300000000000000n,
  TAKE_IP: 0xf301000000000000n,
  IPREALLOCATED: 0xf302000000000000n,
  START_IPREALLOCATE: 0xf303000000000000n,
  SET_NODE_FLAGS: 0xf400000000000000n,
  RECD_UPDATE_IP: 0xf500000000000000n,
  VACUUM_FETCH: 0xf700000000000000n,
  DETACH_DATABASE: 0xf701000000000000n,
  MEM_DUMP: 0xf800000000000000n,
  GETLOG: 0xf801000000000000n,
  CLEARLOG: 0xf802000000000000n,
  PUSH_NODE_FLAGS: 0xf900000000000000n,
  RELOAD_NODES: 0xfa00000000000000n,
  TAKEOVER_RUN: 0xfb00000000000000n,
  REBALANCE_NODE: 0xfb01000000000000n,
  DISABLE_TAKEOVER_RUNS: 0xfb03000000000000n,
  DISABLE_RECOVERIES: 0xfb04000000000000n,
  DISABLE_IP_CHECK: 0xfc00000000000000n,
  SAMBA_NOTIFY: 0xfe00000000000000n,
  SAMBA_NOTIFY_PROXY: 0xfe00000000000001n,
  SAMBA_PROCESS: 0xfe00000000000002n,
} as const;
export type SrvidName = keyof typeof Srvid;

/**
 * ctdb-bridge's own ports, in the range ctdb reserves for server daemons:
 * the embedded daemon hands public IP events to the host executor
 * (failoverd native) and hears back on these (legacy/daemon/ip-event-relay.ts).
 */
export const BridgeSrvid = {
  IP_EVENT: 0x9e00000000000001n,
  IP_EVENT_DONE: 0x9e00000000000002n,
} as const;

/** Reserved ranges by top byte. */
export const SrvidRange = {
  PID: 0x00n,
  SAMBA: 0xfen,
  NFSD: 0xeen,
  ISCSID: 0xden,
  TOOL: 0xcen,
  CLIENT: 0xben,
  TEST: 0xaen,
  SERVER: 0x9en,
} as const;

const exactNames = new Map<bigint, string>(Object.entries(Srvid).map(([n, v]) => [v, n]));

/** Reply port the real `ctdb` tool uses: 0xCE01... | (pid & 0xFFFF) << 16. */
export function toolReplySrvid(pid: number): bigint {
  return 0xce01000000000000n | (BigInt(pid & 0xffff) << 16n);
}

/** A readable name for any SRVID: the well-known name, a range, or undefined. */
export function srvidName(srvid: bigint): string | undefined {
  const exact = exactNames.get(srvid);
  if (exact) return exact;
  if ((srvid & 0xffff000000000000n) === Srvid.RECOVERY) return `RECOVERY+${srvid & 0xffffffffffffn}`;
  const top = srvid >> 56n;
  for (const [name, prefix] of Object.entries(SrvidRange)) {
    if (prefix !== 0n && top === prefix) return `${name}_RANGE`;
  }
  if (top === 0n) return 'PID_RANGE';
  return undefined;
}
