/**
 * The data each `ctdb` formatter needs, already decoded from the wire.
 * The legacy command maps control replies onto these so the formatters
 * stay pure (string in, string out) and testable.
 */

export interface NodeView {
  pnn: number;
  flags: number;
  /** Address as ctdb prints it (inet_ntop, no port). */
  address: string;
}

export interface VnnMapView {
  generation: number;
  map: number[];
}

export interface IfaceView {
  name: string;
  linkState: number;
  references: number;
}

export interface PublicIpView {
  pnn: number;
  address: string;
  /** Raw address bytes + family for ctdb's sort order (family, address bytes, port). */
  sortKey: Buffer;
  /** GET_PUBLIC_IP_INFO answer; undefined when the IP is unassigned (not asked). */
  info?: { activeIdx: number; ifaces: IfaceView[] };
}

export interface DbView {
  dbId: number;
  flags: number;
  name: string;
  path: string;
  /** DB_GET_HEALTH reason; empty = healthy. */
  health: string;
}
