import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LegacyClient } from '../../legacy/client/index.ts';
import { silentLogger } from '../../legacy/common/log.ts';
import { TestCluster } from '../../legacy/daemon/testing/test-cluster.ts';
import { Transportd } from '../transportd.ts';
import { BUILTIN_SERVICE } from '../endpoint.ts';
import { UnreachableNodeError } from '../errors.ts';
import { createRegistry, type MessageDefinition } from '../schemas.ts';
import type { TransportClient } from '../api.ts';
import { waitFor } from '../testing/inproc-cluster.ts';
import { createUplink } from './index.ts';
import type { TunnelUplink } from './tunnel.ts';

/**
 * Transportds on the tunnel uplink through in-process embedded daemons
 * (real unix sockets, real node-to-node TCP, fast timers). Node 2 runs no
 * transportd. The same scenarios against real ctdbd: compat-tests/transport.*.
 */

const SLOW = 50;
const slowEcho: MessageDefinition = {
  type: 'demo.slow',
  versions: { 1: { body: { type: 'object', properties: { ms: { type: 'integer' } }, required: ['ms'] }, reply: { type: 'integer' } } },
};

describe('tunnel uplink over embedded daemons', () => {
  let cluster: TestCluster;
  const clients: LegacyClient[] = [];
  const uplinks = new Map<number, TunnelUplink>();
  const daemons = new Map<number, Transportd>();
  let requester: TransportClient;

  async function startTransportd(pnn: number): Promise<Transportd> {
    const client = await LegacyClient.connect({
      socketPath: cluster.socketPath(pnn), logger: silentLogger(), trackLeader: false, reconnect: { backoff: () => 100 },
    });
    clients.push(client);
    const uplink = createUplink('tunnel', { node: pnn, logger: silentLogger(), tunnel: { client, pollIntervalMs: 100 } }) as TunnelUplink;
    uplinks.set(pnn, uplink);
    const d = new Transportd({ node: pnn, uplink, helloTimeoutMs: 300, logger: silentLogger() });
    await d.start();
    daemons.set(pnn, d);
    return d;
  }

  const stateOf = (on: number, node: number): string | undefined =>
    daemons.get(on)!.status().nodes.find((n) => n.node === node)?.state;

  beforeAll(async () => {
    cluster = await TestCluster.create({ nodes: 3 });
    await cluster.startAll();
    await cluster.until(() => cluster.settled(), 15_000, 'cluster settled');
    for (const pnn of [0, 1]) await startTransportd(pnn);
    await daemons.get(1)!.connectClient({ service: SLOW, name: 'slow', registry: createRegistry([slowEcho]) }, (c) =>
      c.handle('demo.slow', async (b: { ms: number }) => {
        await new Promise((r) => setTimeout(r, b.ms));
        return b.ms;
      }));
    requester = await daemons.get(0)!.connectClient({ name: 'tester', registry: createRegistry([slowEcho]), defaultTimeoutMs: 3000 });
    await waitFor(() => stateOf(0, 1) === 'transport' && stateOf(0, 2) === 'legacy-only' && stateOf(1, 0) === 'transport',
      5000, 'discovery');
  });

  afterAll(async () => {
    await requester?.close();
    for (const d of daemons.values()) await d.stop();
    for (const c of clients) await c.close();
    await cluster?.destroy();
  });

  it('knows every node of the node map; the node without transportd is legacy-only, not failed', () => {
    expect(uplinks.get(0)!.knownNodes()).toEqual([
      { node: 0, reachable: true }, { node: 1, reachable: true }, { node: 2, reachable: true },
    ]);
    expect(daemons.get(0)!.status().nodes.map((n) => `${n.node}:${n.state}`)).toEqual(['0:self', '1:transport', '2:legacy-only']);
    expect(daemons.get(0)!.status().uplink).toBe('tunnel');
  });

  it('carries requests and replies; the sender node comes from the envelope', async () => {
    const pong = await requester.request<{ node: number }>({ node: 1, service: BUILTIN_SERVICE }, 'transport.ping', {});
    expect(pong.node).toBe(1);
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => requester.request({ node: 1, service: SLOW }, 'demo.slow', { ms: i })));
    expect(many).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const err = await requester.request({ node: 2, service: BUILTIN_SERVICE }, 'transport.ping', {}).catch((e) => e);
    expect(err).toBeInstanceOf(UnreachableNodeError);
  });

  it('refuses packets above maxPacketSize', () => {
    const up = uplinks.get(0)!;
    expect(up.send(1, Buffer.alloc(up.maxPacketSize + 1))).toBe(false);
    expect(up.send(7, Buffer.alloc(40))).toBe(false);
  });

  it('a node whose daemon dies becomes unreachable: requests pending to it fail at once, then it recovers', async () => {
    const inFlight = requester.request({ node: 1, service: SLOW }, 'demo.slow', { ms: 2000 }, { timeoutMs: 10_000 }).catch((e) => e);
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await cluster.stopNode(1);
    const err = await inFlight;
    expect(err).toBeInstanceOf(UnreachableNodeError);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(stateOf(0, 1)).toBe('unreachable');
    // Node 1's own transportd lost its ctdbd: every other node is unreachable for it.
    expect(uplinks.get(1)!.knownNodes().filter((n) => n.reachable).map((n) => n.node)).toEqual([1]);
    await cluster.startNode(1);
    await waitFor(() => stateOf(0, 1) === 'transport' && stateOf(1, 0) === 'transport', 10_000, 'node 1 back');
    expect(await requester.request({ node: 1, service: SLOW }, 'demo.slow', { ms: 1 })).toBe(1);
  });
});
