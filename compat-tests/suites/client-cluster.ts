import type { CtdbRunResult } from '../../scripts/local-cluster/index.ts';

/**
 * What the legacy-client suite needs from a cluster, whatever runs it (real
 * Samba ctdbd now, the embedded daemon later).
 */
export interface ClientSuiteNode {
  pnn: number;
  address: string;
  /** CTDB_BASE of the node (test mode: nodes file, socket). */
  base: string;
  socketPath: string;
}

export interface ClientSuiteCluster {
  readonly nodes: readonly ClientSuiteNode[];
  /** The cluster lock file the nodes were configured with (GET_RECLOCK_FILE answer). */
  readonly clusterLock: string;
  /**
   * False for the embedded daemon, which has no databases yet: database
   * controls must then fail with its clear error instead (default true).
   */
  readonly hasDatabases?: boolean;
  /** Run Debian's real `ctdb` CLI against node `pnn`: the reference our output is diffed with. */
  ctdb(pnn: number, args: string[]): Promise<CtdbRunResult>;
  /** Crash the node (its client socket goes away) and wait until its processes are gone. */
  killNode(pnn: number): Promise<void>;
  /** Start a killed node again and wait until every node sees it OK. */
  startNode(pnn: number): Promise<void>;
  /** Freeze the node's daemon: it stops reading and answering (SIGSTOP for a real ctdbd). */
  pauseNode(pnn: number): Promise<void>;
  resumeNode(pnn: number): Promise<void>;
  teardown(): Promise<void>;
}

export type ClientSuiteClusterFactory = () => Promise<ClientSuiteCluster>;
