import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { createCipheriv, randomBytes } from 'node:crypto';
import { WebSocketUplink, WS_PATH, type WsPeer } from './websocket.ts';
import {
  FRAME_TAG_BYTES, FrameOpener, FrameSealer, WS_AUTH_VERSION, deriveFrameKeys, frameSession, handshakeMac, newNonce, parseHandshake,
} from './ws-auth.ts';
import { Transportd } from '../transportd.ts';
import { silentLogger } from '../../legacy/common/log.ts';
import { waitFor } from '../testing/inproc-cluster.ts';
import { createRegistry } from '../schemas.ts';
import { BUILTIN_SERVICE } from '../endpoint.ts';
import { HEADER_SIZE } from '../header.ts';
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
      ws.send(JSON.stringify({ t: 'challenge', v: WS_AUTH_VERSION, node: claims, nonce: na }));
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

describe('WebSocket uplink frames', () => {
  /** A raw dialer that knows the secret: does the handshake as node 0, then sends frames it seals itself. */
  async function rawDialer(target: { host: string; port: number }): Promise<{ ws: WebSocket; seal: (parts: Buffer[]) => Buffer }> {
    const ws = new WebSocket(`ws://${target.host}:${target.port}${WS_PATH}`);
    const nd = newNonce();
    let session: ReturnType<typeof frameSession> | undefined;
    await new Promise<void>((resolve, reject) => {
      ws.on('error', reject);
      ws.on('message', (data) => {
        const msg = parseHandshake(data.toString());
        if (msg?.t === 'challenge') {
          session = frameSession(SECRET, 'dialer', msg.node, 0, msg.nonce, nd);
          ws.send(JSON.stringify({ t: 'auth', node: 0, nonce: nd, mac: handshakeMac(SECRET, 'auth', 0, msg.node, msg.nonce, nd) }));
        } else if (msg?.t === 'ok') resolve();
      });
    });
    const seal = (parts: Buffer[]): Buffer => {
      const frame = Buffer.concat([Buffer.alloc(FRAME_TAG_BYTES), ...parts]);
      session!.sealer.seal(frame);
      return frame;
    };
    return { ws, seal };
  }

  it('splits a frame into its packets by their header lengths; a remainder goes on as one packet', async () => {
    const acceptor = new WebSocketUplink({
      node: 1, listen: { host: '127.0.0.19', port: 0 }, peers: [{ node: 0, host: '127.0.0.20', port: 1 }], secret: SECRET,
      logger: silentLogger('ws'), ...fast,
    });
    const got: Array<[string, number | undefined]> = [];
    acceptor.onPacket((bytes, from) => got.push([bytes.toString('latin1'), from]));
    await acceptor.start();
    const { ws, seal } = await rawDialer(acceptor.address);
    try {
      const packet = (text: string): Buffer => {
        const p = Buffer.alloc(HEADER_SIZE + text.length);
        p.write('CTBT', 0, 'latin1');
        p.writeUInt32BE(text.length, 28);
        p.write(text, HEADER_SIZE, 'latin1');
        return p;
      };
      const [a, b, c] = [packet('{"a":1}'), packet(''), packet('{"c":333}')];
      ws.send(seal([a]));
      ws.send(seal([b, c, a]));
      ws.send(seal([a, c.subarray(0, 40)])); // the last one's header claims more than the frame holds
      ws.send(seal([c, Buffer.from('tail')])); // shorter than a header
      await waitFor(() => got.length === 8, 2000, 'eight packets');
      expect(got.map(([t]) => t)).toEqual([a, b, c, a, a, c.subarray(0, 40), c, Buffer.from('tail')].map((x) => x.toString('latin1')));
      expect(got.every(([, from]) => from === 0)).toBe(true);
    } finally {
      ws.terminate();
      await acceptor.stop();
    }
  });
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
    const v = WS_AUTH_VERSION;
    expect(parseHandshake(JSON.stringify({ t: 'challenge', v, node: 2, nonce }))).toEqual({ t: 'challenge', v, node: 2, nonce });
    for (const bad of ['', 'null', `{"t":"challenge","v":${v},"node":2}`, JSON.stringify({ t: 'challenge', v: v - 1, node: 2, nonce }), JSON.stringify({ t: 'auth', node: -1, nonce, mac: nonce }),
      JSON.stringify({ t: 'ok', mac: 'short' }), JSON.stringify({ t: 'other' })]) {
      expect(parseHandshake(bad)).toBeUndefined();
    }
  });

  const sealed = (sealer: FrameSealer, text: string): Buffer => {
    const frame = Buffer.concat([Buffer.alloc(FRAME_TAG_BYTES), Buffer.from(text)]);
    expect(sealer.seal(frame)).toBe(true);
    return frame;
  };

  it('seals frames so that only the next one in order, from this connection and direction, opens', () => {
    const [na, nd] = [newNonce(), newNonce()];
    const dialer = frameSession(SECRET, 'dialer', 1, 0, na, nd);
    const acceptor = frameSession(SECRET, 'acceptor', 1, 0, na, nd);
    const frames = ['one', 'two', 'three'].map((t) => sealed(dialer.sealer, t));
    expect(frames.map((f) => acceptor.opener.open(f)?.toString())).toEqual(['one', 'two', 'three']);
    expect(acceptor.opener.expectedSeq).toBe(3);
    expect(dialer.opener.open(sealed(acceptor.sealer, 'back'))?.toString()).toBe('back');

    const fresh = (): FrameOpener => frameSession(SECRET, 'acceptor', 1, 0, na, nd).opener;
    const failing: Array<[string, FrameOpener, Buffer]> = [
      ['replayed', acceptor.opener, frames[0]],
      ['out of order', fresh(), frames[1]],
      ['reflected to its sender', dialer.opener, sealed(dialer.sealer, 'mine')],
      ['from another connection', frameSession(SECRET, 'acceptor', 1, 0, newNonce(), nd).opener, frames[0]],
      ['under another secret', frameSession(Buffer.from('another secret, 16+ bytes'), 'acceptor', 1, 0, na, nd).opener, frames[0]],
      ['with a flipped packet bit', fresh(), Buffer.from(frames[0]).fill(0x41, FRAME_TAG_BYTES, FRAME_TAG_BYTES + 1)],
      ['with a flipped tag bit', fresh(), (() => { const f = Buffer.from(frames[0]); f[0] ^= 1; return f; })()],
      ['shorter than a tag', fresh(), frames[0].subarray(0, FRAME_TAG_BYTES - 1)],
    ];
    for (const [what, opener, frame] of failing) {
      expect(opener.open(frame), what).toBeUndefined();
      expect(opener.failed, what).toBe(true);
    }
    // Once failed, even the right frame is refused: the link is closing.
    const stopped = fresh();
    stopped.open(frames[1]);
    expect(stopped.open(frames[0])).toBeUndefined();
  });

  it('tags with GMAC: AES-256-GCM under the direction key, the sequence number as nonce, the packets as additional data', () => {
    const [na, nd] = [newNonce(), newNonce()];
    const key = deriveFrameKeys(SECRET, 1, 0, na, nd).dialerToAcceptor;
    const expected = (seq: number, packet: Buffer): Buffer => {
      const nonce = Buffer.alloc(12);
      nonce.writeBigUInt64BE(BigInt(seq), 4);
      const gcm = createCipheriv('aes-256-gcm', key, nonce);
      gcm.setAAD(packet);
      gcm.final();
      return gcm.getAuthTag();
    };
    const { sealer } = frameSession(SECRET, 'dialer', 1, 0, na, nd);
    const first = sealed(sealer, 'same packet');
    const second = sealed(sealer, 'same packet');
    expect(first.subarray(0, FRAME_TAG_BYTES)).toEqual(expected(0, Buffer.from('same packet')));
    expect(second.subarray(0, FRAME_TAG_BYTES)).toEqual(expected(1, Buffer.from('same packet')));
    expect(first.equals(second)).toBe(false); // a repeated packet never repeats its frame
  });

  it('covers every byte of a 64 KiB frame: one flipped bit anywhere fails it', () => {
    const [na, nd] = [newNonce(), newNonce()];
    const { sealer } = frameSession(SECRET, 'dialer', 1, 0, na, nd);
    const frame = Buffer.concat([Buffer.alloc(FRAME_TAG_BYTES), randomBytes(64 * 1024)]);
    sealer.seal(frame);
    const last = frame.length - 1;
    for (const at of [0, FRAME_TAG_BYTES - 1, FRAME_TAG_BYTES, FRAME_TAG_BYTES + 31, 32 * 1024 + 7, last - 16, last]) {
      for (const bit of [0x01, 0x80]) {
        const tampered = Buffer.from(frame);
        tampered[at] ^= bit;
        const opener = frameSession(SECRET, 'acceptor', 1, 0, na, nd).opener;
        expect(opener.open(tampered), `byte ${at} bit ${bit}`).toBeUndefined();
      }
    }
    expect(frameSession(SECRET, 'acceptor', 1, 0, na, nd).opener.open(frame)?.length).toBe(64 * 1024);
    // Cut short or grown by a byte: fails too.
    expect(frameSession(SECRET, 'acceptor', 1, 0, na, nd).opener.open(frame.subarray(0, last))).toBeUndefined();
    expect(frameSession(SECRET, 'acceptor', 1, 0, na, nd).opener.open(Buffer.concat([frame, Buffer.alloc(1)]))).toBeUndefined();
  });

  it('derives distinct keys per direction and per nonce pair', () => {
    const [na, nd] = [newNonce(), newNonce()];
    const k = deriveFrameKeys(SECRET, 1, 0, na, nd);
    const other = deriveFrameKeys(SECRET, 1, 0, na, newNonce());
    expect(k.dialerToAcceptor.equals(k.acceptorToDialer)).toBe(false);
    expect(k.dialerToAcceptor.equals(other.dialerToAcceptor)).toBe(false);
    expect(k.dialerToAcceptor.equals(deriveFrameKeys(SECRET, 1, 0, na, nd).dialerToAcceptor)).toBe(true);
  });

  it('insists on a secret of at least 16 bytes', () => {
    expect(() => new WebSocketUplink({ node: 0, listen: { host: '127.0.0.1', port: 0 }, peers: [], secret: 'short' })).toThrow(/16 bytes/);
  });
});
