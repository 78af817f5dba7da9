import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LegacyClient } from '../../legacy/client/index.ts';
import { silentLogger } from '../../legacy/common/log.ts';
import {
  bridgeTunnelId, portFromLegacyClient, TunnelChannel, TunnelDisconnectedError, TunnelEndpoint,
  TunnelTimeoutError,
} from '../../tunnel/index.ts';
import type { ClientSuiteCluster, ClientSuiteClusterFactory } from './client-cluster.ts';

/**
 * Tunnel endpoints through a cluster's daemons (real ctdbd or embedded):
 * node 0 and node 1 run endpoints, node 2 runs none and must show up as
 * legacy-only. The same scenarios run against both daemons.
 */
export function defineTunnelSuite(name: string, startCluster: ClientSuiteClusterFactory): void {
  describe(`tunnel endpoints through ${name}`, () => {
    let cluster: ClientSuiteCluster;
    const clients: LegacyClient[] = [];
    const endpoints: TunnelEndpoint[] = [];
    const tunnelId = bridgeTunnelId(TunnelChannel.TEST_BASE + 1);

    async function openEndpoint(pnn: number, id = tunnelId): Promise<TunnelEndpoint> {
      const client = await LegacyClient.connect({
        socketPath: cluster.nodes[pnn].socketPath, logger: silentLogger(), trackLeader: false,
        reconnect: { backoff: () => 200 },
      });
      clients.push(client);
      const ep = new TunnelEndpoint({
        port: portFromLegacyClient(client), tunnelId: id, logger: silentLogger(),
        probeInfo: () => Buffer.from(JSON.stringify({ node: pnn })),
      });
      await ep.open();
      endpoints.push(ep);
      return ep;
    }

    beforeAll(async () => {
      cluster = await startCluster();
    });

    afterAll(async () => {
      for (const ep of endpoints) await ep.close().catch(() => undefined);
      for (const c of clients) await c.close().catch(() => undefined);
      await cluster?.teardown();
    });

    test('request/reply between endpoints on different nodes, sender identity carried in the envelope', async () => {
      const a = await openEndpoint(0);
      const b = await openEndpoint(1);
      b.onRequest((from, payload) => Buffer.from(`node1 got "${payload.toString()}" from ${from}`));
      a.onRequest((from, payload) => Buffer.from(`node0 got "${payload.toString()}" from ${from}`));
      expect((await a.request(1, Buffer.from('ping'))).toString()).toBe('node1 got "ping" from 0');
      expect((await b.request(0, Buffer.from('pong'))).toString()).toBe('node0 got "pong" from 1');
      // Many in flight at once: correlation is by the envelope's request id.
      const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => a.request(1, Buffer.from(`m${i}`))));
      expect(replies.map((r) => r.toString())).toEqual(Array.from({ length: 50 }, (_, i) => `node1 got "m${i}" from 0`));
    });

    test('datagrams to another node and to the own node', async () => {
      const [a, b] = endpoints;
      const atB: string[] = [];
      const atA: string[] = [];
      b.onDatagram((from, p) => atB.push(`${from}:${p.toString()}`));
      a.onDatagram((from, p) => atA.push(`${from}:${p.toString()}`));
      a.send(1, Buffer.from('to-b'));
      a.send(0, Buffer.from('to-self'));
      await waitFor(() => atB.length === 1 && atA.length === 1);
      expect(atB).toEqual(['0:to-b']);
      expect(atA).toEqual(['0:to-self']);
    });

    test('broadcast fans out over the node map; the node without an endpoint just does not receive', async () => {
      const [a, b] = endpoints;
      const got: string[] = [];
      a.onDatagram((from, p) => got.push(`0<-${from}:${p.toString()}`));
      b.onDatagram((from, p) => got.push(`1<-${from}:${p.toString()}`));
      const targets = await a.broadcast(Buffer.from('all'));
      expect(targets).toEqual([0, 1, 2]);
      await waitFor(() => got.length === 2);
      expect(got.sort()).toEqual(['0<-0:all', '1<-0:all']);
    });

    test('discovery: node 2 has no endpoint and is legacy-only, not failed', async () => {
      const [a] = endpoints;
      const reach = await a.discover(1500);
      expect(reach.map((r) => r.state)).toEqual(['bridge', 'bridge', 'legacy-only']);
      const info = reach[1].state === 'bridge' ? JSON.parse(reach[1].info.toString()) : undefined;
      expect(info).toEqual({ node: 1 });
    });

    test('a request to the legacy-only node times out with a typed error', async () => {
      const [a] = endpoints;
      await expect(a.request(2, Buffer.from('anyone?'), { timeoutMs: 500 })).rejects.toBeInstanceOf(TunnelTimeoutError);
    });

    test('a second registration of the same id on one daemon is refused', async () => {
      await expect(openEndpoint(0)).rejects.toThrow();
    });

    test('daemon restart mid-traffic: in-flight requests fail typed, the endpoint recovers', async () => {
      const [a, b] = endpoints;
      b.onRequest(async (_from, payload) => {
        await new Promise((r) => setTimeout(r, 3000));
        return payload;
      });
      // Settle into a value right away: the rejection comes while killNode is still waiting.
      const inFlight = a.request(1, Buffer.from('slow'), { timeoutMs: 60_000 }).then(() => 'resolved', (e: unknown) => e);
      await new Promise((r) => setTimeout(r, 200));
      await cluster.killNode(0);
      expect(await inFlight).toBeInstanceOf(TunnelDisconnectedError);
      await cluster.startNode(0);
      b.onRequest((_from, payload) => Buffer.concat([Buffer.from('again:'), payload]));
      // The client reconnects and re-registers the tunnel; the endpoint works again.
      const reply = await retry(() => a.request(1, Buffer.from('x'), { timeoutMs: 1000 }), 30);
      expect(reply.toString()).toBe('again:x');
    });
  });
}

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function retry<T>(fn: () => Promise<T>, attempts: number): Promise<T> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await fn();
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  throw last;
}
