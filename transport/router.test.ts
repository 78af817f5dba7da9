import { describe, expect, it } from 'vitest';
import { Router, routeActions, type Origin, type RouteAction } from './router.ts';
import type { NodeState, NodeView } from './discovery.ts';
import { BROADCAST_NODE, LOCAL_NODE } from './endpoint.ts';
import { Flag, type TransportHeader } from './header.ts';
import type { Packet } from './packet.ts';
import { createRegistry } from './schemas.ts';
import { decodeEnvelope } from './message.ts';

class View implements NodeView {
  constructor(private readonly states: Record<number, NodeState>) {}
  stateOf(node: number): NodeState | 'unknown' {
    return this.states[node] ?? 'unknown';
  }
  transportNodes(): number[] {
    return Object.entries(this.states).filter(([, s]) => s === 'transport').map(([n]) => Number(n));
  }
}

function pkt(over: Partial<TransportHeader>): Packet {
  return {
    header: {
      protocolVersion: 1, payloadVersion: 1, flags: Flag.REQUEST, dest: { node: 0, service: 5 },
      src: { node: LOCAL_NODE, service: 100 }, requestId: 42, payloadLength: 2, ...over,
    },
    payload: Buffer.from('{}'),
  };
}

const route = (r: Router, p: Packet, origin: Origin): RouteAction[] => routeActions(r, p, origin);

const registry = createRegistry();
const errorCode = (a: RouteAction): string => (decodeEnvelope(a.packet.payload, registry).body as { code: string }).code;

function setup(): Router {
  const r = new Router(0, new View({ 1: 'transport', 2: 'legacy-only', 3: 'unreachable', 4: 'discovering', 5: 'transport' }));
  expect(r.claim('a', 100)).toBe(true);
  expect(r.claim('b', 5)).toBe(true);
  return r;
}

describe('Router', () => {
  it('delivers local traffic to the owner and rewrites the local node', () => {
    const [a] = route(setup(), pkt({ dest: { node: LOCAL_NODE, service: 5 } }), { kind: 'local', endpointId: 'a' });
    expect(a.kind).toBe('deliver');
    if (a.kind !== 'deliver') return;
    expect(a.endpointId).toBe('b');
    expect(a.packet.header.src).toEqual({ node: 0, service: 100 });
    expect(a.packet.header.dest).toEqual({ node: 0, service: 5 });
  });

  it('sends traffic for transport and discovering nodes to the uplink', () => {
    const r = setup();
    for (const node of [1, 4]) {
      const [a] = route(r, pkt({ dest: { node, service: 5 } }), { kind: 'local', endpointId: 'a' });
      expect(a).toMatchObject({ kind: 'uplink', node });
    }
  });

  it('answers requests for legacy-only, unreachable and unknown nodes with unreachable-node', () => {
    const r = setup();
    for (const node of [2, 3, 9]) {
      const actions = route(r, pkt({ dest: { node, service: 5 } }), { kind: 'local', endpointId: 'a' });
      const reply = actions.find((x) => x.kind === 'deliver');
      expect(reply).toMatchObject({ endpointId: 'a' });
      expect(reply!.packet.header.flags).toBe(Flag.REPLY | Flag.ERROR);
      expect(reply!.packet.header.requestId).toBe(42);
      expect(errorCode(reply!)).toBe('unreachable-node');
    }
  });

  it('drops one-way messages it cannot deliver without replying', () => {
    const actions = route(setup(), pkt({ flags: Flag.NOREPLY, requestId: 0, dest: { node: 2, service: 5 } }), { kind: 'local', endpointId: 'a' });
    expect(actions.map((a) => a.kind)).toEqual(['drop']);
  });

  it('answers a request for a missing service with no-such-service, back over the uplink', () => {
    const actions = route(setup(), pkt({ src: { node: 1, service: 7 }, dest: { node: 0, service: 77 } }), { kind: 'uplink', node: 1 });
    const reply = actions.find((a) => a.kind === 'uplink');
    expect(reply).toMatchObject({ node: 1 });
    expect(reply!.packet.header.dest).toEqual({ node: 1, service: 7 });
    expect(errorCode(reply!)).toBe('no-such-service');
  });

  it('expands broadcasts to the local owner and every transport node', () => {
    const actions = route(setup(), pkt({ flags: Flag.NOREPLY, requestId: 0, dest: { node: BROADCAST_NODE, service: 5 } }),
      { kind: 'local', endpointId: 'a' });
    expect(actions.map((a) => (a.kind === 'uplink' ? `uplink:${a.node}` : a.kind === 'deliver' ? `deliver:${a.endpointId}` : a.kind)))
      .toEqual(['deliver:b', 'uplink:1', 'uplink:5']);
    for (const a of actions) expect(a.packet.header.dest.node).not.toBe(BROADCAST_NODE);
  });

  it('refuses spoofed sources and transit traffic', () => {
    const r = setup();
    expect(route(r, pkt({ src: { node: 0, service: 5 } }), { kind: 'local', endpointId: 'a' })[0].kind).toBe('drop');
    expect(route(r, pkt({ src: { node: 3, service: 100 } }), { kind: 'local', endpointId: 'a' })[0].kind).toBe('drop');
    expect(route(r, pkt({ src: { node: 1, service: 1 }, dest: { node: 5, service: 5 } }), { kind: 'uplink', node: 1 })[0].kind).toBe('drop');
    expect(route(r, pkt({ src: { node: 5, service: 1 } }), { kind: 'uplink', node: 1 })[0].kind).toBe('drop');
    // A carrier that does not know the sender: the header's source is used (it must still be a member).
    expect(route(r, pkt({ src: { node: 5, service: 1 } }), { kind: 'uplink' })[0].kind).toBe('deliver');
  });

  it('answers a local request with a forged source with bad-request, at the client\'s real endpoint', () => {
    const r = setup();
    for (const src of [{ node: 0, service: 5 }, { node: 3, service: 100 }, { node: LOCAL_NODE, service: 0 }]) {
      const actions = route(r, pkt({ src, dest: { node: 1, service: 1 } }), { kind: 'local', endpointId: 'a' });
      expect(actions.map((a) => a.kind)).toEqual(['drop', 'deliver']);
      expect(actions[0]).toMatchObject({ level: 'warn' });
      expect(actions[1]).toMatchObject({ endpointId: 'a' });
      expect(actions[1].packet.header).toMatchObject({ flags: Flag.REPLY | Flag.ERROR, requestId: 42, dest: { node: 0, service: 100 } });
      expect(errorCode(actions[1])).toBe('bad-request');
    }
  });

  it('lets no local client send to service 0, on any node (hello and bye speak for transportd)', () => {
    const r = setup();
    for (const node of [LOCAL_NODE, 0, 1, BROADCAST_NODE]) {
      const message = route(r, pkt({ flags: Flag.NOREPLY, requestId: 0, dest: { node, service: 0 } }), { kind: 'local', endpointId: 'a' });
      expect(message.map((a) => a.kind)).toEqual(['drop']);
      const request = route(r, pkt({ dest: { node, service: 0 } }), { kind: 'local', endpointId: 'a' });
      expect(request.map((a) => a.kind)).toEqual(['drop', 'deliver']);
      expect(errorCode(request[1])).toBe('bad-request');
    }
    // transportd's own control service (holder of 0) may.
    r.claim('control', 0);
    const own = route(r, pkt({ flags: Flag.REPLY, src: { node: 0, service: 0 }, dest: { node: 1, service: 0 } }), { kind: 'local', endpointId: 'control' });
    expect(own.map((a) => a.kind)).toEqual(['uplink']);
  });

  it('refuses uplink packets from non-members, from this node, or without a concrete source', () => {
    const r = setup();
    const refusal = (src: number, from?: number) => r.uplinkRefusal(pkt({ src: { node: src, service: 0 } }).header, from);
    expect(refusal(1, 1)).toBeUndefined();
    expect(refusal(9, 9)).toMatch(/not a cluster member/);
    expect(refusal(0, 0)).toMatch(/this node/);
    expect(refusal(LOCAL_NODE)).toMatch(/concrete/);
    expect(refusal(1, 2)).toMatch(/does not match/);
    expect(route(r, pkt({ src: { node: 9, service: 1 } }), { kind: 'uplink', node: 9 }).map((a) => a.kind)).toEqual(['drop']);
  });

  it('keeps service ownership exclusive and releases it on disconnect', () => {
    const r = setup();
    expect(r.claim('c', 5)).toBe(false);
    expect(r.releaseAll('b')).toEqual([5]);
    expect(r.claim('c', 5)).toBe(true);
    expect(r.ownerOf(5)).toBe('c');
  });

  it('sends replies even to a node it took for legacy-only (it asked, so it speaks the protocol)', () => {
    const actions = route(setup(), pkt({ flags: Flag.REPLY, src: { node: 0, service: 5 }, dest: { node: 2, service: 7 } }), { kind: 'local', endpointId: 'b' });
    expect(actions).toMatchObject([{ kind: 'uplink', node: 2 }]);
  });

  it('drops replies whose requester has gone', () => {
    const actions = route(setup(), pkt({ flags: Flag.REPLY, src: { node: 1, service: 1 }, dest: { node: 0, service: 999 } }), { kind: 'uplink', node: 1 });
    expect(actions.map((a) => a.kind)).toEqual(['drop']);
  });
});
