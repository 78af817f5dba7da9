import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DEFAULT_WS_PORT } from '../transport/uplinks/ws-config.ts';
import { startEmbeddedCluster, type EmbeddedClusterFixture } from './support/embedded-cluster.ts';
import { expectUnharmed } from './hostile/legacy-checks.ts';
import { DISCOVERY_FLOOD_SCENARIO, FORGED_CONTROL_SCENARIO, measureTransportScenario } from './hostile/transport-scenarios.ts';
import { startTransportds, stopAllTransportds, type TransportdChild } from './hostile/processes.ts';
import { expectTransportStatusAndPing } from './hostile/transport-checks.ts';
import { FORGED_DOWN, FORGED_UP, wsRelayAttack } from './hostile/ws-relay-attack.ts';

/**
 * The hostile suite against transportd: one transportd process per node of
 * an embedded cluster (tunnel uplink), attacked through a ctdbd socket
 * (forged discovery) and through its own socket (a local client forging
 * transportd's control messages), while a well-behaved client pings another
 * node through the tunnel. Then two transportds on the WebSocket uplink with
 * an on-path relay that lacks the secret.
 */

let f: EmbeddedClusterFixture;
let children: TransportdChild[] = [];

beforeAll(async () => {
  f = await startEmbeddedCluster({ nodes: 3 });
  children = await startTransportds(f.nodes);
}, 120_000);

afterAll(async () => {
  await stopAllTransportds(children);
  await f?.teardown();
}, 60_000);

describe('transportd under hostile input', () => {
  const ctx = () => ({ nodes: f.nodes, children });

  test('discovery flood: 12,000 hellos from made-up nodes and hellos listing 4096 services', async () => {
    const m = await measureTransportScenario(ctx(), DISCOVERY_FLOOD_SCENARIO, 'transportd (embedded)');
    expectUnharmed(m);
    await expectTransportStatusAndPing(children[0], 3);
  });

  test('a local client forging transportd\'s hello / bye (service 0) is refused; no transportd\'s view changes', async () => {
    const m = await measureTransportScenario(ctx(), FORGED_CONTROL_SCENARIO, 'transportd (embedded)');
    expect(m.detail.firstViewChange, 'first change in any transportd\'s view of another node').toBe('none');
    expect(m.detail.viewChanges).toBe(0);
    expect(m.detail.viewPolls).toBeGreaterThan(5);
    expectUnharmed(m);
    await expectTransportStatusAndPing(children[0], 3);
    await expectTransportStatusAndPing(children[1], 3);
  });
});

describe('WebSocket uplink through an on-path relay without the secret', () => {
  test('injected and replayed frames are not accepted in either direction', async () => {
    // The cluster's subnet is ours: node 0 and 1's addresses (their port 4380 is free, the transportds above use the tunnel).
    const relay = f.nodes[0].address.replace(/\.\d+$/, '.200');
    const r = await wsRelayAttack({ a: f.nodes[0].address, b: f.nodes[1].address, relay, port: DEFAULT_WS_PORT });
    // eslint-disable-next-line no-console
    console.info(`ws relay: ${JSON.stringify(r)}`);
    expect(r.eventsAtB, 'events node 1 received (1 and 2 really sent, once each)').toEqual([1, 2]);
    expect(r.eventsAtA, 'events node 0 received (none really sent)').toEqual([]);
    expect(r.eventsAtB).not.toContain(FORGED_UP);
    expect(r.eventsAtA).not.toContain(FORGED_DOWN);
    expect(r.aSawB, 'node 0\'s view of node 1 (a forged bye would show legacy-only)').not.toContain('legacy-only');
    expect(r.pingAfter, 'ping 0 -> 1 after the attack').toBe(true);
  });
});
