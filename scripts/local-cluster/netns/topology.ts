import { clientNamespace, nodeNamespace } from './names.ts';
import { InvalidAddressError } from '../errors.ts';

/**
 * Addresses and names of a netns cluster, derived from its id and subnet
 * (pure). Everything lives inside our namespaces: the bridge `br0` in the
 * client namespace, one veth pair per node (`n<pnn>` on the bridge, `eth0`
 * in the node's namespace). Node addresses are 10.x.0.<pnn+1>/24, public
 * addresses 10.x.1.1..K/24, the client has .254 on both subnets.
 */

export const NODE_INTERFACE = 'eth0';
export const BRIDGE = 'br0';
export const PREFIX_LENGTH = 24;
export const CLIENT_OCTET = 254;
export const DEFAULT_RESPONDER_PORT = 4390;

export interface NetnsTopology {
  id: string;
  subnet: number;
  clientNamespace: string;
  nodeNamespaces: string[];
  /** By PNN: what the nodes file lists. */
  privateAddresses: string[];
  publicAddresses: string[];
  /** The client's address on the private and on the public subnet. */
  clientAddresses: [string, string];
  responderPort: number;
}

export interface TopologyInput {
  id: string;
  subnet: number;
  nodes: number;
  publicAddresses: number;
  responderPort?: number;
}

/** The bridge port of node `pnn` (in the client namespace). */
export function bridgePort(pnn: number): string {
  return `n${pnn}`;
}

export function netnsTopology(input: TopologyInput): NetnsTopology {
  const { id, subnet, nodes, publicAddresses } = input;
  if (!Number.isInteger(subnet) || subnet < 0 || subnet > 255) throw new InvalidAddressError(`10.${subnet}.0.0`, 'subnet octet out of range');
  if (nodes < 1 || nodes >= CLIENT_OCTET) throw new InvalidAddressError(`10.${subnet}.0.0/24`, `no room for ${nodes} nodes`);
  if (publicAddresses < 0 || publicAddresses >= CLIENT_OCTET) {
    throw new InvalidAddressError(`10.${subnet}.1.0/24`, `no room for ${publicAddresses} public addresses`);
  }
  const pnns = Array.from({ length: nodes }, (_, pnn) => pnn);
  return {
    id, subnet,
    clientNamespace: clientNamespace(id),
    nodeNamespaces: pnns.map((pnn) => nodeNamespace(id, pnn)),
    privateAddresses: pnns.map((pnn) => `10.${subnet}.0.${pnn + 1}`),
    publicAddresses: Array.from({ length: publicAddresses }, (_, i) => `10.${subnet}.1.${i + 1}`),
    clientAddresses: [`10.${subnet}.0.${CLIENT_OCTET}`, `10.${subnet}.1.${CLIENT_OCTET}`],
    responderPort: input.responderPort ?? DEFAULT_RESPONDER_PORT,
  };
}

/** Every node's public_addresses file: all addresses, each on the node's veth. */
export function renderPublicAddresses(topology: NetnsTopology): string {
  return topology.publicAddresses.map((a) => `${a}/${PREFIX_LENGTH} ${NODE_INTERFACE}\n`).join('');
}
