/**
 * The shape every local test cluster has, whatever runs its nodes: real
 * Samba ctdbd processes ('real') or our wire-compatible daemon ('embedded').
 * Tests and the CLI only talk to this interface, so the embedded kind can be
 * plugged in later without touching them.
 */

export type LocalClusterKind = 'real' | 'embedded';

/** One node as clients see it: where to connect and where its files live. */
export interface LocalClusterNode {
  pnn: number;
  /** Loopback address the node listens on (port 4379). */
  address: string;
  /** The node's CTDB_BASE directory. */
  base: string;
  /** The node's unix client socket (DIR/node.N/run/ctdbd.socket). */
  socketPath: string;
}

/** What status() reports about one node. */
export interface LocalClusterNodeStatus extends LocalClusterNode {
  /** Main daemon PID, null when the node is not running. */
  pid: number | null;
  running: boolean;
  socketPresent: boolean;
  /**
   * Node flags as reported by a running node (`ctdb nodestatus all`), e.g.
   * [] for OK, ['DISCONNECTED','UNHEALTHY','INACTIVE'] for a dead node; null
   * when no running node could answer.
   */
  flags: string[] | null;
  ok: boolean;
}

export interface LocalClusterStatus {
  kind: LocalClusterKind;
  dir: string;
  nodes: LocalClusterNodeStatus[];
  /** True when every node is running and reported OK. */
  allOk: boolean;
}

export interface LocalCluster {
  readonly kind: LocalClusterKind;
  /** Directory holding cluster.json, the shared lock file and node.N dirs. */
  readonly dir: string;
  readonly nodes: readonly LocalClusterNode[];
  /** Start every node and resolve once all report OK (or throw). */
  up(): Promise<void>;
  /** Stop every node and resolve once no node process remains. */
  down(): Promise<void>;
  status(): Promise<LocalClusterStatus>;
  /** Orderly shutdown of one node. */
  stopNode(pnn: number): Promise<void>;
  /** Start one stopped node and resolve once it reports itself OK. */
  startNode(pnn: number): Promise<void>;
  /** Crash one node (SIGKILL) and resolve once its processes are gone. */
  killNode(pnn: number): Promise<void>;
  /** killNode + startNode. */
  restartNode(pnn: number): Promise<void>;
  /** Every live process that belongs to the cluster (for cleanup by PID). */
  pids(): number[];
}
