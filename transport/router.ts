// The routing core of transportd, without I/O: decides for each packet
// whether it goes to a local endpoint, out through the uplink, or back to
// its sender as an error reply. transportd carries out the actions.

import { BROADCAST_NODE, LOCAL_NODE, formatEndpoint } from './endpoint.ts';
import { kindOf } from './header.ts';
import { NoSuchServiceError, UnreachableNodeError, toWireError, type TransportError } from './errors.ts';
import { buildErrorReply } from './message.ts';
import { sharingPayload, withHeader, type Packet } from './packet.ts';
import type { NodeView } from './discovery.ts';

/** Where a packet came from: a local endpoint (by id) or the uplink (sending node if the uplink knows it). */
export type Origin = { kind: 'local'; endpointId: string } | { kind: 'uplink'; node?: number };

export type RouteAction =
  | { kind: 'deliver'; endpointId: string; packet: Packet }
  | { kind: 'uplink'; node: number; packet: Packet }
  /** `level`: warn for packets that break the rules, debug for expected losses. */
  | { kind: 'drop'; reason: string; packet: Packet; level: 'warn' | 'debug' };

export class Router {
  private readonly owners = new Map<number, string>();

  constructor(readonly node: number, private readonly view: NodeView) {}

  /** Binds a service id on this node to a local endpoint; false if another endpoint holds it. */
  claim(endpointId: string, service: number): boolean {
    const owner = this.owners.get(service);
    if (owner !== undefined && owner !== endpointId) return false;
    this.owners.set(service, endpointId);
    return true;
  }

  /** Releases every service of an endpoint (it disconnected); returns them. */
  releaseAll(endpointId: string): number[] {
    const released: number[] = [];
    for (const [service, owner] of this.owners) {
      if (owner === endpointId) {
        this.owners.delete(service);
        released.push(service);
      }
    }
    return released;
  }

  ownerOf(service: number): string | undefined {
    return this.owners.get(service);
  }

  services(): Array<{ service: number; endpointId: string }> {
    return [...this.owners].map(([service, endpointId]) => ({ service, endpointId })).sort((a, b) => a.service - b.service);
  }

  route(packet: Packet, origin: Origin): RouteAction[] {
    const h = packet.header;
    if (origin.kind === 'local') {
      if (h.src.node !== LOCAL_NODE && h.src.node !== this.node) return [drop(packet, `source node ${h.src.node} is not this node`)];
      if (this.owners.get(h.src.service) !== origin.endpointId) {
        return [drop(packet, `source service ${h.src.service} is not held by ${origin.endpointId}`)];
      }
      // Clients that know their node already address it concretely: nothing to rewrite.
      if (h.src.node === this.node && h.dest.node !== LOCAL_NODE) return this.forward(packet);
      const dest = h.dest.node === LOCAL_NODE ? { ...h.dest, node: this.node } : h.dest;
      return this.forward(withHeader(packet, { src: { ...h.src, node: this.node }, dest }));
    }
    if (h.dest.node !== this.node) return [drop(packet, `addressed to node ${h.dest.node}; transportd does not relay`)];
    if (h.src.node === LOCAL_NODE || h.src.node === BROADCAST_NODE) return [drop(packet, 'uplink packet without a concrete source node')];
    if (origin.node !== undefined && origin.node !== h.src.node) {
      return [drop(packet, `source node ${h.src.node} does not match the sending node ${origin.node}`)];
    }
    return this.forward(packet);
  }

  private forward(packet: Packet): RouteAction[] {
    const dest = packet.header.dest;
    if (dest.node === BROADCAST_NODE) return this.broadcast(packet);
    if (dest.node === this.node) return this.deliverLocal(packet);
    const state = this.view.stateOf(dest.node);
    switch (state) {
      case 'transport':
      case 'discovering': // optimistic: the hello may still be on its way
        return [{ kind: 'uplink', node: dest.node, packet }];
      case 'legacy-only':
        // A reply answers someone who asked us, so something there does speak the protocol.
        if (kindOf(packet.header.flags) === 'reply') return [{ kind: 'uplink', node: dest.node, packet }];
        return this.reject(packet, new UnreachableNodeError(dest.node, 'no transportd runs there (legacy-only node)'));
      case 'unreachable':
        return this.reject(packet, new UnreachableNodeError(dest.node, 'the uplink cannot reach it'));
      default:
        return this.reject(packet, new UnreachableNodeError(dest.node, 'not a known cluster node'));
    }
  }

  private deliverLocal(packet: Packet): RouteAction[] {
    const owner = this.owners.get(packet.header.dest.service);
    if (owner !== undefined) return [{ kind: 'deliver', endpointId: owner, packet }];
    return this.reject(packet, new NoSuchServiceError({ ...packet.header.dest }));
  }

  private broadcast(packet: Packet): RouteAction[] {
    const actions: RouteAction[] = [];
    const owner = this.owners.get(packet.header.dest.service);
    const here = sharingPayload(packet, { dest: { ...packet.header.dest, node: this.node } });
    if (owner !== undefined) actions.push({ kind: 'deliver', endpointId: owner, packet: here });
    for (const node of this.view.transportNodes()) {
      if (node === this.node) continue;
      actions.push({ kind: 'uplink', node, packet: sharingPayload(packet, { dest: { ...packet.header.dest, node } }) });
    }
    return actions;
  }

  /** Requests get an error reply routed back to their source; other packets are dropped. */
  reject(packet: Packet, error: TransportError): RouteAction[] {
    if (kindOf(packet.header.flags) !== 'request') {
      return [drop(packet, `${error.message} (${kindOf(packet.header.flags)} to ${formatEndpoint(packet.header.dest)})`)];
    }
    const reply = buildErrorReply(packet.header, toWireError(error, this.node));
    const back = reply.header.dest;
    const log = drop(packet, `${error.message}; error reply sent`, 'debug');
    if (back.node === this.node) {
      const owner = this.owners.get(back.service);
      return owner === undefined ? [log] : [log, { kind: 'deliver', endpointId: owner, packet: reply }];
    }
    return this.view.stateOf(back.node) === 'unknown' ? [log] : [log, { kind: 'uplink', node: back.node, packet: reply }];
  }
}

function drop(packet: Packet, reason: string, level: 'warn' | 'debug' = 'warn'): RouteAction {
  return { kind: 'drop', reason, packet, level };
}

