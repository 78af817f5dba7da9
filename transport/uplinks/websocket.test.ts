import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { WebSocketUplink, WS_PATH, type WsPeer } from './websocket.ts';
import { handshakeMac, newNonce, parseHandshake } from './ws-auth.ts';
import { Transportd } from '../transportd.ts';
import { silentLogger } from '../../legacy/common/log.ts';
import { waitFor } from '../testing/inproc-cluster.ts';
import { createRegistry } from '../schemas.ts';
import { BUILTIN_SERVICE } from '../endpoint.ts';
import { UnreachableNodeError } from '../errors.ts';
import type { TransportClient } from '../api.ts';

const SECRET = Buffer.from('correct horse battery staple, cluster A');
const host = (node: number): string => `127.0.0.${node + 11}`;
const fast = { reconnectMinMs: 50, reconnectMaxMs: 300, handshakeTimeoutMs: 2000, pingIntervalMs: 1000 };

function makeNode(node: number, port = 0, secret = SECRET): { uplink: WebSocketUplink; daemon: Transportd } {
  const uplink = new WebSocketUplink({ node, listen: { host: host(node), port }, peers: [], secret, logger: silentLogger('ws'), ...fast });
  const daemon = new Transportd({ node, uplink, logger: silentLogger('transportd'), helloTimeoutMs: 500, rehelloIntervalMs: 1000 });
  return { uplink, daemon };
}

const stateOf = (d: Transportd, node: number): string | undefined => d.status().nodes.find((n) => n.node === node)?.state;

describe('WebSocket uplink between transportds on 127.0.0.11-14', () => {
  const nodes = new Map<number, { uplink: WebSocketUplink; daemon: Transportd }>();
  let peers: WsPeer[];
  let client: TransportClient;
  const registry = createRegistry([{ type: 'demo.where', versions: { 1: { body: { type: 'object' }, reply: { type: 'integer' } } } }]);

  beforeAll(async () => {
    for (const n of [0, 1, 2]) {
      const x = makeNode(n);
      await x.daemon.start();
      nodes.set(n, x);
    }
    // Node 3 holds a different secret: the others must refuse it.
    const rogue = makeNode(3, 0, Buffer.from('some other cluster secret value'));
    await rogue.daemon.start();
    nodes.set(3, rogue);
    peers = [...nodes].map(([node, x]) => ({ node, ...x.uplink.address }));
    for (const x of nodes.values()) x.uplink.setPeers(peers);
    for (const n of [0, 1, 2]) {
      await nodes.get(n)!.daemon.connectClient({ service: 60, name: 'where', registry }, (c) => c.handle('demo.where', () => n));
    }
    client = await nodes.get(0)!.daemon.connectClient({ name: 'tester', registry, defaultTimeoutMs: 2000 });
    await waitFor(() => [0, 1, 2].every((a) => [0, 1, 2].every((b) => a === b || stateOf(nodes.get(a)!.daemon, b) === 'transport')), 8000, 'discovery');
  });
  afterAll(async () => {
    await client?.close();
    for (const x of nodes.values()) await x.daemon.stop();
  });

  it('links every pair once, dialled by the lower node from its own node address', () => {
    const links2 = nodes.get(2)!.uplink.links();
    expect(links2.map((l) => [l.node, l.direction, l.remoteAddress])).toEqual([
      [0, 'accepted', host(0)],
      [1, 'accepted', host(1)],
    ]);
    expect(nodes.get(0)!.uplink.links().map((l) => [l.node, l.direction, l.localAddress])).toEqual([
      [1, 'dialed', host(0)],
      [2, 'dialed', host(0)],
    ]);
  });

  it('carries requests between the nodes', async () => {
    for (const n of [0, 1, 2]) expect(await client.request({ node: n, service: 60 }, 'demo.where', {})).toBe(n);
    const status = await client.request<{ nodes: Array<{ node: number; state: string }>; uplink: string }>({ node: 2, service: BUILTIN_SERVICE }, 'transport.status', {});
    expect(status.uplink).toBe('ws');
  });

  it('keeps a node with a wrong secret out (links refused, node unreachable)', async () => {
    expect(nodes.get(0)!.uplink.links().some((l) => l.node === 3)).toBe(false);
    expect(nodes.get(3)!.uplink.links()).toEqual([]);
    expect(stateOf(nodes.get(0)!.daemon, 3)).toBe('unreachable');
    const err = await client.request({ node: 3, service: BUILTIN_SERVICE }, 'transport.ping', {}).catch((e) => e);
    expect(err).toBeInstanceOf(UnreachableNodeError);
  });

  it('refuses raw clients that do not prove the secret, without the secret on the wire', async () => {
    const target = nodes.get(2)!.uplink.address;
    const attempt = (answer: (challenge: { nonce: string }) => string | Buffer) => new Promise<{ code: number; frames: string[] }>((resolve) => {
      const ws = new WebSocket(`ws://${target.host}:${target.port}${WS_PATH}`);
      const frames: string[] = [];
      ws.on('message', (data) => {
        frames.push(data.toString());
        const msg = parseHandshake(data.toString());
        if (msg?.t === 'challenge') ws.send(answer(msg));
      });
      ws.on('close', (code) => resolve({ code, frames }));
      ws.on('error', () => undefined);
    });
    const wrongMac = await attempt((c) => JSON.stringify({ t: 'auth', node: 0, nonce: newNonce(), mac: handshakeMac(Buffer.from('guess the secret!!'), 'auth', 0, 2, c.nonce, newNonce()) }));
    expect(wrongMac.code).toBe(4001);
    expect(wrongMac.frames.join('')).not.toContain(SECRET.toString());
    expect(wrongMac.frames.join('')).not.toContain(SECRET.toString('base64'));
    const unknownNode = await attempt((c) => {
      const nonce = newNonce();
      return JSON.stringify({ t: 'auth', node: 77, nonce, mac: handshakeMac(SECRET, 'auth', 77, 2, c.nonce, nonce) });
    });
    expect(unknownNode.code).toBe(4003);
    const higherNode = await attempt((c) => {
      const nonce = newNonce();
      return JSON.stringify({ t: 'auth', node: 3, nonce, mac: handshakeMac(SECRET, 'auth', 3, 2, c.nonce, nonce) });
    });
    expect(higherNode.code).toBe(4003);
    const binaryFirst = await attempt(() => Buffer.from('CTBT'));
    expect(binaryFirst.code).toBe(4004);
    // The real links are unaffected.
    expect(await client.request({ node: 2, service: 60 }, 'demo.where', {})).toBe(2);
  });

  it('reconnects after one transportd restarts', async () => {
    const old = nodes.get(1)!;
    const port = old.uplink.address.port;
    const oldBoot = old.daemon.bootId;
    await old.daemon.stop();
    await waitFor(() => stateOf(nodes.get(0)!.daemon, 1) !== 'transport' && stateOf(nodes.get(2)!.daemon, 1) !== 'transport', 3000, 'node 1 gone');
    expect(await client.request({ node: 1, service: 60 }, 'demo.where', {}).catch((e) => e)).toBeInstanceOf(UnreachableNodeError);

    const fresh = makeNode(1, port);
    fresh.uplink.setPeers(peers);
    await fresh.daemon.start();
    nodes.set(1, fresh);
    await fresh.daemon.connectClient({ service: 60, name: 'where', registry }, (c) => c.handle('demo.where', () => 1));
    await waitFor(() => [0, 2].every((n) => stateOf(nodes.get(n)!.daemon, 1) === 'transport') && [0, 2].every((n) => stateOf(fresh.daemon, n) === 'transport'), 8000, 'node 1 back');
    const info = nodes.get(0)!.daemon.status().nodes.find((n) => n.node === 1)!;
    expect(info.bootId).not.toBe(oldBoot);
    expect(await client.request({ node: 1, service: 60 }, 'demo.where', {})).toBe(1);
    const fromNew = await fresh.daemon.connectClient({ registry });
    expect(await fromNew.request({ node: 2, service: 60 }, 'demo.where', {})).toBe(2);
    await fromNew.close();
  });
});

describe('WebSocket uplink as dialer', () => {
  /** A fake acceptor: sends a challenge as `claims`, answers auth with an ok MAC made with `secret`. */
  async function fakeAcceptor(claims: number, secret: Buffer): Promise<{ port: number; closeCodes: number[]; server: WebSocketServer }> {
    const server = new WebSocketServer({ host: '127.0.0.15', port: 0, path: WS_PATH });
    await new Promise((r) => server.once('listening', r));
    const closeCodes: number[] = [];
    server.on('connection', (ws) => {
      const na = newNonce();
      ws.on('close', (code) => closeCodes.push(code));
      ws.send(JSON.stringify({ t: 'challenge', v: 1, node: claims, nonce: na }));
      ws.on('message', (data) => {
        const m = parseHandshake(data.toString());
        if (m?.t === 'auth') ws.send(JSON.stringify({ t: 'ok', mac: handshakeMac(secret, 'ok', 9, m.node, na, m.nonce) }));
      });
    });
    return { port: (server.address() as AddressInfo).port, closeCodes, server };
  }

  for (const [what, claims, secret, code] of [
    ['an acceptor that cannot prove the secret', 9, Buffer.from('not the cluster secret at all'), 4001],
    ['an acceptor claiming another node number', 8, SECRET, 4002],
  ] as const) {
    it(`hangs up on ${what} and keeps retrying`, async () => {
      const fake = await fakeAcceptor(claims, secret);
      const uplink = new WebSocketUplink({
        node: 5, listen: { host: '127.0.0.16', port: 0 }, peers: [{ node: 9, host: '127.0.0.15', port: fake.port }],
        secret: SECRET, logger: silentLogger('ws'), ...fast,
      });
      const reach: boolean[] = [];
      uplink.onNodeReachability((_n, r) => reach.push(r));
      await uplink.start();
      try {
        await waitFor(() => fake.closeCodes.length >= 2, 3000, 'two attempts');
        expect(fake.closeCodes[0]).toBe(code);
        expect(uplink.links()).toEqual([]);
        expect(reach).not.toContain(true);
        expect(uplink.send(9, Buffer.from('x'))).toBe(false);
      } finally {
        await uplink.stop();
        await new Promise((r) => fake.server.close(r));
      }
    });
  }
});

describe('ws-auth', () => {
  it('binds the MAC to role, direction, nodes and both nonces', () => {
    const a = newNonce();
    const d = newNonce();
    const base = handshakeMac(SECRET, 'auth', 0, 1, a, d);
    expect(base).toHaveLength(44);
    for (const other of [
      handshakeMac(SECRET, 'ok', 0, 1, a, d), handshakeMac(SECRET, 'auth', 1, 0, a, d), handshakeMac(SECRET, 'auth', 0, 1, d, a),
      handshakeMac(Buffer.from('x'.repeat(20)), 'auth', 0, 1, a, d),
    ]) expect(other).not.toBe(base);
  });

  it('parses only well-formed handshake frames', () => {
    const nonce = newNonce();
    expect(parseHandshake(JSON.stringify({ t: 'challenge', v: 1, node: 2, nonce }))).toEqual({ t: 'challenge', v: 1, node: 2, nonce });
    for (const bad of ['', 'null', '{"t":"challenge","v":2,"node":2}', JSON.stringify({ t: 'auth', node: -1, nonce, mac: nonce }),
      JSON.stringify({ t: 'ok', mac: 'short' }), JSON.stringify({ t: 'other' })]) {
      expect(parseHandshake(bad)).toBeUndefined();
    }
  });

  it('insists on a secret of at least 16 bytes', () => {
    expect(() => new WebSocketUplink({ node: 0, listen: { host: '127.0.0.1', port: 0 }, peers: [], secret: 'short' })).toThrow(/16 bytes/);
  });
});
