// The contract between transportd and whatever carries packets to other
// nodes: the legacy tunnel through ctdbd, native WebSocket links, or an
// in-process hub. The router never sees which one it is.
//
// Semantics every uplink follows:
// - Datagrams: send() hands one complete transport packet (header + payload,
//   as bytes) to the carrier for one concrete remote node. Best effort: no
//   delivery guarantee, no error for a lost packet (the requester times out),
//   order kept per destination when the carrier keeps it. send() returns
//   false when the packet was not handed over (node unknown or unreachable).
// - No broadcast: ctdbd drops tunnel broadcasts, so uplinks only do unicast.
//   transportd expands BROADCAST_NODE itself into one send() per node whose
//   transportd announced itself. Discovery hellos go to every reachable node.
// - No relaying: a packet handed to onPacket is for this node; transportd
//   drops packets whose destination node is another one.
// - Membership: knownNodes() lists the nodes that exist in the cluster (the
//   nodes file / ctdbd node map), whether or not they run a transportd, and
//   whether the carrier can currently reach them. Nodes not running a
//   transportd are found by discovery (they never answer hello) and shown as
//   legacy-only, never as failed.
// - onNodeReachability fires whenever a node becomes reachable or not, and
//   when the node list changes (transportd then re-reads knownNodes()).
// - Handlers are set once, before start(); setting again replaces them.

export interface UplinkNode {
  node: number;
  reachable: boolean;
}

/** `fromNode` when the carrier knows the sender: the WebSocket link's peer, the
 * in-process hub's sender, the tunnel envelope's source node (ctdbd itself
 * rewrites the tunnel header's source node, so the envelope carries it; it is
 * the sender's claim, not checked by ctdbd). */
export type UplinkPacketHandler = (bytes: Buffer, fromNode: number | undefined) => void;
export type UplinkReachabilityHandler = (node: number, reachable: boolean) => void;

export interface Uplink {
  /** 'tunnel' | 'ws' | 'inproc' | ...: shown in status. */
  readonly kind: string;
  /** This node's number (PNN). */
  readonly localNode: number;
  /** Largest packet (header included) the carrier accepts; transportd bounds payloads by it. */
  readonly maxPacketSize?: number;
  start(): Promise<void>;
  /** Stops carrying packets and releases sockets/timers; no handler fires afterwards. */
  stop(): Promise<void>;
  send(destNode: number, bytes: Buffer): boolean;
  /** Free bytes the carrier wants in front of a packet for its own headers (see sendFrame). */
  readonly frameRoom?: number;
  /**
   * Optional send() for a packet encoded `frameRoom` bytes into `frame`: the
   * carrier writes its headers there instead of copying the packet again,
   * and owns `frame` afterwards.
   */
  sendFrame?(destNode: number, frame: Buffer): boolean;
  onPacket(handler: UplinkPacketHandler): void;
  onNodeReachability(handler: UplinkReachabilityHandler): void;
  knownNodes(): UplinkNode[];
}
