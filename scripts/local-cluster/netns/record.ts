/**
 * What DIR/cluster.json records about a netns cluster: enough to rebuild
 * its topology (topology.ts) and to clean it up from another process.
 */
export interface NetnsRecord {
  id: string;
  /** x in 10.x.0.0/24 (node addresses) and 10.x.1.0/24 (public addresses). */
  subnet: number;
  publicAddressCount: number;
  /** TCP port of every node's responder. */
  responderPort: number;
  /** Client namespace first, then one per node by PNN. */
  namespaces: string[];
  /** Processes we started in the namespaces besides the node daemons (responders, client agent, extra per-node processes). */
  helpers: NetnsHelperRecord[];
}

export interface NetnsHelperRecord {
  pid: number;
  /** 'responder', 'client-agent', or the role given to startNodeProcess. */
  role: string;
  pnn?: number;
}
