import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BUILTIN_SERVICE, TransportError, UnreachableNodeError, type TransportClient,
} from '../../transport/index.ts';
import type { ClientSuiteCluster, ClientSuiteClusterFactory } from './client-cluster.ts';
import { ECHO_SERVICE, EVENT_SERVICE, TransportNodes, type SuiteUplinkKind } from './transport-nodes.ts';
import { defineTransportCliTests } from './transport-cli.ts';
import { eventually } from './client-support.ts';

/**
 * The transport between nodes of a cluster (real ctdbd or embedded): one
 * in-process transportd per node, over the legacy tunnel through the
 * cluster's daemons and over the native WebSocket uplink between the same
 * node addresses. Node 2 starts without a transportd (mixed cluster). Then
 * the real CLI against child-process transportds.
 */
export interface TransportSuiteOptions {
  uplinks?: SuiteUplinkKind[];
  /** Also run `ctdb-bridge transport ping -n all` against child-process transportds (default true). */
  cli?: boolean;
}

export function defineTransportSuite(name: string, startCluster: ClientSuiteClusterFactory, opts: TransportSuiteOptions = {}): void {
  describe(`transport between the nodes of ${name}`, () => {
    let cluster: ClientSuiteCluster;
    beforeAll(async () => {
      cluster = await startCluster();
    });
    afterAll(async () => {
      await cluster?.teardown();
    });

    for (const kind of opts.uplinks ?? ['tunnel', 'ws']) defineUplinkTests(kind, () => cluster);
    if (opts.cli ?? true) defineTransportCliTests(() => cluster);
  });
}

/** Liveness of the suite's transportds (their hello timeout is 1 s, see TransportNodes). */
const LIVENESS_INTERVAL_MS = 1000;
const HELLO_TIMEOUT_MS = 1000;
/** A transportd gone without bye is legacy-only this long after its last packet at the latest (+ slack for a busy machine). */
const LOST_BOUND_MS = 2 * LIVENESS_INTERVAL_MS + HELLO_TIMEOUT_MS + 1500;

function defineUplinkTests(kind: SuiteUplinkKind, getCluster: () => ClientSuiteCluster): void {
  describe(`${kind} uplink`, () => {
    let nodes: TransportNodes;
    const allSee = (members: number[]) => () =>
      members.every((on) => members.every((n) => n === on || nodes.stateOf(on, n) === 'transport'));

    beforeAll(async () => {
      nodes = new TransportNodes(getCluster(), kind, { helloTimeoutMs: HELLO_TIMEOUT_MS, livenessIntervalMs: LIVENESS_INTERVAL_MS });
      await nodes.start(0);
      await nodes.start(1);
      await eventually(() => allSee([0, 1])() || undefined, 10_000, 'nodes 0 and 1 to see each other');
    });
    afterAll(async () => {
      await nodes?.stopAll();
    });

    test('mixed cluster: node 2 runs no transportd and is not reported as failed; 0 and 1 are unaffected', async () => {
      // The tunnel sees node 2 in ctdbd's node map, connected but silent: legacy-only. The WebSocket
      // uplink has no ctdbd to ask, so for it a node without transportd is just not reachable.
      const expected = kind === 'tunnel' ? 'legacy-only' : 'unreachable';
      await eventually(() => (nodes.stateOf(0, 2) === expected && nodes.stateOf(1, 2) === expected) || undefined,
        10_000, `node 2 ${expected}`);
      const c0 = await nodes.client(0);
      const started = Date.now();
      const err = await c0.request({ node: 2, service: BUILTIN_SERVICE }, 'transport.ping', {}).catch((e) => e);
      expect(err).toBeInstanceOf(UnreachableNodeError);
      expect(Date.now() - started).toBeLessThan(1000);
      expect(await c0.request({ node: 1, service: ECHO_SERVICE }, 'suite.echo', { text: 'mixed' })).toEqual({ text: 'mixed', node: 1 });
    });

    test('a transportd starting on node 2 is discovered by the others', async () => {
      await nodes.start(2);
      await eventually(() => allSee([0, 1, 2])() || undefined, 10_000, 'all three nodes to see each other');
    });

    test('ping every node from every node', async () => {
      for (const from of [0, 1, 2]) {
        const c = await nodes.client(from);
        for (const to of [0, 1, 2]) {
          const pong = await c.request<{ node: number }>({ node: to, service: BUILTIN_SERVICE }, 'transport.ping', {});
          expect(pong.node).toBe(to);
        }
      }
    });

    test('request/reply between services on different nodes, many in flight', async () => {
      const c0 = await nodes.client(0);
      const c2 = await nodes.client(2);
      const asked = Array.from({ length: 40 }, (_, i) => ({ to: 1 + (i % 2), text: `m${i}` }));
      const replies = await Promise.all(asked.map((a) => c0.request({ node: a.to, service: ECHO_SERVICE }, 'suite.echo', { text: a.text })));
      expect(replies).toEqual(asked.map((a) => ({ text: a.text, node: a.to })));
      // Large payloads too (64 KiB of JSON), and the other direction.
      const big = 'x'.repeat(64 * 1024);
      expect(await c2.request({ node: 0, service: ECHO_SERVICE }, 'suite.echo', { text: big })).toEqual({ text: big, node: 0 });
    });

    test('fan-out broadcast reaches the event service on every node once, the sender\'s own included', async () => {
      const c1 = await nodes.client(1);
      const before = [0, 1, 2].map((n) => nodes.events(n).length);
      for (let n = 1; n <= 5; n++) c1.broadcast(EVENT_SERVICE, 'suite.event', { n });
      await eventually(() => [0, 1, 2].every((n, i) => nodes.events(n).length >= before[i] + 5) || undefined, 5000, 'broadcasts');
      await sleep(200);
      for (const [i, n] of [0, 1, 2].entries()) expect(nodes.events(n).slice(before[i])).toEqual([1, 2, 3, 4, 5]);
    });

    test('ctdbd restart on node 1 mid-traffic: no hang, typed errors, automatic recovery', async () => {
      const cluster = getCluster();
      const timeoutMs = 2000;
      const requesters = new Map<number, TransportClient>();
      for (const n of [0, 1, 2]) requesters.set(n, await nodes.client(n, { defaultTimeoutMs: timeoutMs }));
      const outcomes: Outcome[] = [];
      let phase: Outcome['phase'] = 'before';
      let stop = false;
      const loop = async (from: number, to: number): Promise<void> => {
        const c = requesters.get(from)!;
        for (let i = 0; !stop; i++) {
          const started = Date.now();
          const at = phase;
          try {
            await c.request({ node: to, service: ECHO_SERVICE }, 'suite.echo', { text: `${from}>${to}#${i}` });
            outcomes.push({ path: `${from}->${to}`, phase: at, ok: true, ms: Date.now() - started });
          } catch (err) {
            outcomes.push({
              path: `${from}->${to}`, phase: at, ok: false, ms: Date.now() - started,
              code: err instanceof TransportError ? err.code : `untyped:${String(err)}`,
            });
          }
          await sleep(20);
        }
      };
      const loops = [loop(0, 1), loop(0, 2), loop(2, 1), loop(1, 0)];
      await sleep(1000);
      phase = 'outage';
      await cluster.killNode(1);
      await sleep(1500);
      await cluster.startNode(1);
      phase = 'recovering';
      await eventually(() => allSee([0, 1, 2])() || undefined, 20_000, 'node 1 back in transport state everywhere');
      await sleep(1500);
      phase = 'after';
      await sleep(1000);
      stop = true;
      await Promise.all(loops);

      const summary = summarise(outcomes);
      // No hang: every request settled within its timeout (plus scheduling slack).
      expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThan(timeoutMs + 1000);
      // Every failure is a typed transport error.
      const codes = new Set(outcomes.filter((o) => !o.ok).map((o) => o.code));
      expect([...codes].filter((c) => c !== 'unreachable-node' && c !== 'timeout'), summary).toEqual([]);
      // Before and after: everything works on every path.
      for (const o of outcomes.filter((x) => x.phase === 'before' || x.phase === 'after')) expect(o.ok, summary).toBe(true);
      for (const path of ['0->1', '0->2', '2->1', '1->0']) {
        expect(outcomes.some((o) => o.path === path && o.phase === 'after' && o.ok), `${path} recovered\n${summary}`).toBe(true);
      }
      // Traffic between the other nodes goes on during the outage.
      expect(outcomes.some((o) => o.path === '0->2' && o.phase === 'outage' && o.ok), summary).toBe(true);
      if (kind === 'tunnel') {
        // Requests to the lost node fail fast as unreachable, not by timing out one after another...
        const toLost = outcomes.filter((o) => o.path === '0->1' && o.phase === 'outage');
        expect(toLost.filter((o) => o.code === 'unreachable-node').length, summary).toBeGreaterThan(0);
        // ...and node 1's own transportd, cut off from its ctdbd, fails its requests at once.
        const fromLost = outcomes.filter((o) => o.path === '1->0' && o.phase === 'outage' && !o.ok);
        expect(fromLost.length, summary).toBeGreaterThan(0);
        expect(fromLost.filter((o) => o.code === 'unreachable-node' && o.ms < 500).length, summary).toBeGreaterThan(0);
      } else {
        // The WebSocket uplink does not depend on ctdbd at all.
        expect(outcomes.filter((o) => !o.ok), summary).toEqual([]);
      }
    });

    test('a transportd killed without bye while its ctdbd stays up: lost within the liveness bound, requests fail fast', async () => {
      // Tunnel: ctdbd silently drops packets for the now unregistered tunnel id, so only liveness notices, and the
      // node stays a connected cluster member: legacy-only. ws: the links close, so the node is unreachable at once.
      const expected = kind === 'tunnel' ? 'legacy-only' : 'unreachable';
      await eventually(() => allSee([0, 1, 2])() || undefined, 20_000, 'all three nodes in transport state');
      const c0 = await nodes.client(0, { defaultTimeoutMs: 30_000 });
      const inFlight = c0.request({ node: 2, service: ECHO_SERVICE }, 'suite.echo', { text: 'never answered', delayMs: 10_000 })
        .then(() => 'answered', (e: unknown) => e);
      await sleep(100); // the request is being handled on node 2 when its transportd dies
      const killedAt = Date.now();
      await nodes.kill(2);
      await eventually(() => (nodes.stateOf(0, 2) === expected && nodes.stateOf(1, 2) === expected) || undefined,
        LOST_BOUND_MS, `node 2 ${expected} on nodes 0 and 1`);
      expect(Date.now() - killedAt).toBeLessThan(LOST_BOUND_MS);
      // The request in flight was failed early, not left to its 30 s timeout.
      const err = await inFlight;
      expect(err).toBeInstanceOf(UnreachableNodeError);
      expect(Date.now() - killedAt).toBeLessThan(LOST_BOUND_MS);
      // New requests fail fast; the other nodes are unaffected.
      const started = Date.now();
      const next = await c0.request({ node: 2, service: BUILTIN_SERVICE }, 'transport.ping', {}).catch((e) => e);
      expect(next).toBeInstanceOf(UnreachableNodeError);
      expect(Date.now() - started).toBeLessThan(1000);
      expect(await c0.request({ node: 1, service: ECHO_SERVICE }, 'suite.echo', { text: 'unaffected' }))
        .toEqual({ text: 'unaffected', node: 1 });
      // A new transportd there (new bootId) is transport again.
      const again = await nodes.start(2);
      await eventually(() => allSee([0, 1, 2])() || undefined, 10_000, 'the new transportd on node 2 discovered');
      expect(nodes.daemon(0).status().nodes.find((n) => n.node === 2)?.bootId).toBe(again.bootId);
      expect(await c0.request({ node: 2, service: ECHO_SERVICE }, 'suite.echo', { text: 'back' })).toEqual({ text: 'back', node: 2 });
    });
  });
}

interface Outcome {
  path: string;
  phase: 'before' | 'outage' | 'recovering' | 'after';
  ok: boolean;
  code?: string;
  ms: number;
}

/** One line per path and phase: ok / failed by code, slowest request. */
function summarise(outcomes: Outcome[]): string {
  const groups = new Map<string, Outcome[]>();
  for (const o of outcomes) {
    const key = `${o.path} ${o.phase}`;
    groups.set(key, [...(groups.get(key) ?? []), o]);
  }
  return [...groups].map(([key, os]) => {
    const codes = new Map<string, number>();
    for (const o of os) if (!o.ok) codes.set(o.code!, (codes.get(o.code!) ?? 0) + 1);
    return `${key}: ${os.filter((o) => o.ok).length} ok, failed ${JSON.stringify(Object.fromEntries(codes))}, ` +
      `max ${Math.max(...os.map((o) => o.ms))} ms`;
  }).join('\n');
}
