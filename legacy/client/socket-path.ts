/** Where `ctdb` 4.17 looks for things, so our tools find the same daemon. */

export const DEFAULT_SOCKET_PATH = '/run/ctdb/ctdbd.socket';
export const DEFAULT_ETC_DIR = '/etc/ctdb';

type Env = Record<string, string | undefined>;

/**
 * The ctdbd socket as ctdb resolves it: CTDB_SOCKET if set; else in test
 * mode (CTDB_TEST_MODE set, any value) $CTDB_BASE/run/ctdbd.socket; else the
 * packaged run directory. An explicit path wins over all of them.
 */
export function resolveSocketPath(explicit?: string, env: Env = process.env): string {
  if (explicit) return explicit;
  if (env.CTDB_SOCKET !== undefined) return env.CTDB_SOCKET;
  if (env.CTDB_TEST_MODE !== undefined && env.CTDB_BASE) return `${env.CTDB_BASE}/run/ctdbd.socket`;
  return DEFAULT_SOCKET_PATH;
}

/** The nodes list `ctdb listnodes` reads: $CTDB_BASE/nodes, else /etc/ctdb/nodes. */
export function resolveNodesFile(env: Env = process.env): string {
  return `${env.CTDB_BASE ?? DEFAULT_ETC_DIR}/nodes`;
}
