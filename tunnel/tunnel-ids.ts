/**
 * Tunnel ids used by ctdb-bridge. ctdbd allows one registration of a given id
 * per daemon, so every bridge channel gets its own id from one documented
 * range: 0xCB1D_0000_0000_0000 ("ctdb-bridge") + channel number.
 *
 * | channel | use                                   |
 * |--------:|---------------------------------------|
 * |       1 | transport protocol, version 1         |
 * | 0x100.. | tests (one id per test to run in parallel) |
 *
 * The range lies outside the SRVID ranges Samba reserves and outside
 * CTDB_TUNNEL_TEST (0xFFFFFFFF00000000).
 */
export const BRIDGE_TUNNEL_PREFIX = 0xcb1d000000000000n;
export const BRIDGE_TUNNEL_MASK = 0xffff000000000000n;

export const TunnelChannel = {
  TRANSPORT_V1: 1,
  TEST_BASE: 0x100,
} as const;

export function bridgeTunnelId(channel: number): bigint {
  if (!Number.isInteger(channel) || channel < 0 || channel > 0xffffffff) {
    throw new RangeError(`tunnel channel must be a u32, got ${channel}`);
  }
  return BRIDGE_TUNNEL_PREFIX | BigInt(channel);
}

export function isBridgeTunnelId(id: bigint): boolean {
  return (id & BRIDGE_TUNNEL_MASK) === BRIDGE_TUNNEL_PREFIX;
}
