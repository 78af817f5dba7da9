// Uplink names, apart from the uplinks: the transportd command lists them
// in its options without loading any uplink (ws, tunnel) it will not use.

export type UplinkKind = 'tunnel' | 'ws' | 'inproc';
export const UPLINK_KINDS: readonly UplinkKind[] = ['tunnel', 'ws', 'inproc'];
