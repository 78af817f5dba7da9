// Routing decisions, without I/O: for each packet, whether it goes to a
// local endpoint, out through the uplink, or back to its sender as an error
// reply. The router tells a RouteSink (transportd) what to do, one call per
// action: no lists or action objects on the per-packet path.
// Who may say what (PROTOCOL.md, Trust and bounds): a local client speaks only
// for the service it holds on this node and never to service 0; a packet from
// the uplink must come from a member node other than this one, as the sender
// the carrier knows.

import { BROADCAST_NODE, CONTROL_SERVICE, LOCAL_NODE, formatEndpoint, isConcreteNode } from './endpoint.ts';
import { kindOf, type TransportHeader } from './header.ts';
import { BadRequestError, NoSuchServiceError, UnreachableNodeError, toWireError, type TransportError } from './errors.ts';
import { buildErrorReply } from './message.ts';
import { sharingPayload, withHeader, type Packet } from './packet.ts';
import type { NodeView } from './discovery.ts';

/** Where a packet came from: a local endpoint (by id) or the uplink (sending node if the uplink knows it). */
export type Origin = { kind: 'local'; endpointId: string } | { kind: 'uplink'; node?: number };

/** What transportd does with a routed packet. */
export interface RouteSink {
  deliver(endpointId: string, packet: Packet): void;
  uplink(node: number, packet: Packet): void;
  /** `level`: warn for packets that break the rules, debug for expected losses. */
  drop(reason: string, packet: Packet, level: 'warn' | 'debug'): void;
}

/** One sink call, as data (tests and tools: see routeActions). */
export type RouteAction =
  | { kind: 'deliver'; endpointId: string; packet: Packet }
  | { kind: 'uplink'; node: number; packet: Packet }
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

  route(packet: Packet, origin: Origin, out: RouteSink): void {
    if (origin.kind === 'local') return this.fromLocal(packet, origin.endpointId, out);
    const refusal = this.uplinkRefusal(packet.header, origin.node);
    if (refusal !== undefined) return out.drop(refusal, packet, 'warn');
    this.forward(packet, out);
  }

  /**
   * Why a packet from the uplink is refused, or undefined when it is taken.
   * `from`: the sending node when the carrier knows it. transportd asks before
   * it counts the packet as life of its source node, then calls routeAccepted().
   */
  uplinkRefusal(h: TransportHeader, from: number | undefined): string | undefined {
    if (h.dest.node !== this.node) return `addressed to node ${h.dest.node}; transportd does not relay`;
    if (!isConcreteNode(h.src.node)) return 'uplink packet without a concrete source node';
    if (from !== undefined && from !== h.src.node) return `source node ${h.src.node} does not match the sending node ${from}`;
    if (h.src.node === this.node) return 'uplink packet claiming to come from this node';
    if (this.view.stateOf(h.src.node) === 'unknown') return `source node ${h.src.node} is not a cluster member`;
    return undefined;
  }

  /** Routes a packet from the uplink that uplinkRefusal() accepted. */
  routeAccepted(packet: Packet, out: RouteSink): void {
    this.forward(packet, out);
  }

  /** A local client (or transportd's own services) sends: only as the service it holds, on this node. */
  private fromLocal(packet: Packet, endpointId: string, out: RouteSink): void {
    const h = packet.header;
    if (h.src.node !== LOCAL_NODE && h.src.node !== this.node) {
      return this.refuseLocal(packet, endpointId, `source node ${h.src.node} is not this node`, out);
    }
    if (this.owners.get(h.src.service) !== endpointId) {
      return this.refuseLocal(packet, endpointId, `source service ${h.src.service} is not held by this client`, out);
    }
    // Service 0 speaks for transportd (hello, bye): only transportd itself sends to it, straight to the uplink.
    if (h.dest.service === CONTROL_SERVICE && h.src.service !== CONTROL_SERVICE) {
      return this.refuseLocal(packet, endpointId, 'service 0 belongs to transportd; a client may only attach to it', out);
    }
    // Clients that know their node already address it concretely: nothing to rewrite.
    if (h.src.node === this.node && h.dest.node !== LOCAL_NODE) return this.forward(packet, out);
    const dest = h.dest.node === LOCAL_NODE ? { ...h.dest, node: this.node } : h.dest;
    return this.forward(withHeader(packet, { src: { ...h.src, node: this.node }, dest }), out);
  }

  /**
   * Drops (logged) a local packet that breaks the rules; a request is answered
   * with bad-request at the client's real endpoint, not the one it claimed.
   */
  private refuseLocal(packet: Packet, endpointId: string, reason: string, out: RouteSink): void {
    out.drop(`refused from local client ${endpointId}: ${reason}`, packet, 'warn');
    const h = packet.header;
    const held = this.serviceOf(endpointId);
    if (kindOf(h.flags) !== 'request' || held === undefined) return;
    const request: TransportHeader = {
      ...h, src: { node: this.node, service: held }, dest: { node: isConcreteNode(h.dest.node) ? h.dest.node : this.node, service: h.dest.service },
    };
    out.deliver(endpointId, buildErrorReply(request, toWireError(new BadRequestError(reason), this.node)));
  }

  /** The service an endpoint holds (one per client; only looked up for refused packets). */
  private serviceOf(endpointId: string): number | undefined {
    for (const [service, owner] of this.owners) if (owner === endpointId) return service;
    return undefined;
  }

  /** Requests get an error reply routed back to their source; other packets are dropped. */
  reject(packet: Packet, error: TransportError, out: RouteSink): void {
    if (kindOf(packet.header.flags) !== 'request') {
      return out.drop(`${error.message} (${kindOf(packet.header.flags)} to ${formatEndpoint(packet.header.dest)})`, packet, 'warn');
    }
    const reply = buildErrorReply(packet.header, toWireError(error, this.node));
    const back = reply.header.dest;
    out.drop(`${error.message}; error reply sent`, packet, 'debug');
    if (back.node === this.node) {
      const owner = this.owners.get(back.service);
      if (owner !== undefined) out.deliver(owner, reply);
      return;
    }
    if (this.view.stateOf(back.node) !== 'unknown') out.uplink(back.node, reply);
  }

  private forward(packet: Packet, out: RouteSink): void {
    const dest = packet.header.dest;
    if (dest.node === BROADCAST_NODE) return this.broadcast(packet, out);
    if (dest.node === this.node) return this.deliverLocal(packet, out);
    switch (this.view.stateOf(dest.node)) {
      case 'transport':
      case 'discovering': // optimistic: the hello may still be on its way
        return out.uplink(dest.node, packet);
      case 'legacy-only':
        // A reply answers someone who asked us, so something there does speak the protocol.
        if (kindOf(packet.header.flags) === 'reply') return out.uplink(dest.node, packet);
        return this.reject(packet, new UnreachableNodeError(dest.node, 'no transportd runs there (legacy-only node)'), out);
      case 'unreachable':
        return this.reject(packet, new UnreachableNodeError(dest.node, 'the uplink cannot reach it'), out);
      default:
        return this.reject(packet, new UnreachableNodeError(dest.node, 'not a known cluster node'), out);
    }
  }

  private deliverLocal(packet: Packet, out: RouteSink): void {
    const owner = this.owners.get(packet.header.dest.service);
    if (owner !== undefined) return out.deliver(owner, packet);
    this.reject(packet, new NoSuchServiceError({ ...packet.header.dest }), out);
  }

  private broadcast(packet: Packet, out: RouteSink): void {
    const owner = this.owners.get(packet.header.dest.service);
    if (owner !== undefined) out.deliver(owner, sharingPayload(packet, { dest: { ...packet.header.dest, node: this.node } }));
    for (const node of this.view.transportNodes()) {
      if (node === this.node) continue;
      out.uplink(node, sharingPayload(packet, { dest: { ...packet.header.dest, node } }));
    }
  }
}

/** The sink calls route() (or reject(), when `error` is given) makes, as a list. */
export function routeActions(router: Router, packet: Packet, origin: Origin, error?: TransportError): RouteAction[] {
  const actions: RouteAction[] = [];
  const sink: RouteSink = {
    deliver: (endpointId, p) => void actions.push({ kind: 'deliver', endpointId, packet: p }),
    uplink: (node, p) => void actions.push({ kind: 'uplink', node, packet: p }),
    drop: (reason, p, level) => void actions.push({ kind: 'drop', reason, packet: p, level }),
  };
  if (error) router.reject(packet, error, sink);
  else router.route(packet, origin, sink);
  return actions;
}
