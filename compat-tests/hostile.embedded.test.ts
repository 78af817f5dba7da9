import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startEmbeddedCluster, type EmbeddedClusterFixture } from './support/embedded-cluster.ts';
import { DISCLOSURE_ROUNDS, LYING_REPLIES, measureDisclosure } from './hostile/fake-node.ts';
import { expectStatusAndPing, expectUnharmed, measureScenario, type HostileCluster } from './hostile/legacy-checks.ts';
import { BASIC_SCENARIOS, PARTIAL_BIG_PACKETS_SCENARIO, PROCESS_EXISTS_SCENARIO } from './hostile/scenarios.ts';

/**
 * The permanent hostile suite against the embedded daemon (3 nodes, one
 * process each, so RSS is the attacked daemon's own). Every attack goes to
 * node 0 while a well-behaved client on its own connection measures round
 * trips; afterwards node 0 must be up, with RSS back near idle, and `ctdb
 * status` / `ctdb ping` must work. Then the reproductions of the reported
 * failures: PROCESS_EXISTS lock-up, partial big packets, and a fake node
 * disclosing memory through lying REPLY_CONTROL lengths (last: it takes
 * node 2 down).
 */

let f: EmbeddedClusterFixture;
let c: HostileCluster;

beforeAll(async () => {
  f = await startEmbeddedCluster({ nodes: 3 });
  c = { daemon: 'embedded', nodes: f.nodes, ctdb: (pnn, args) => f.ctdb(pnn, args) };
}, 120_000);

afterAll(async () => {
  await f?.teardown();
}, 60_000);

describe('embedded daemon under hostile clients (kept surviving)', () => {
  for (const scenario of BASIC_SCENARIOS) {
    test(scenario.name, async () => {
      const m = await measureScenario(c, scenario);
      expectUnharmed(m);
      if (scenario.name === 'zero length') expect(m.detail.closedByDaemon).toBe(m.detail.connections);
      if (scenario.name === 'bad magic / version') expect(m.detail).toMatchObject({ answeredBad: 0, validAnsweredAfter: true });
      if (scenario.name === 'slowloris') expect(m.detail.answered).toBe(m.detail.connections);
      if (scenario.name === 'idle connections') expect(m.detail.closedByDaemon).toBe(0);
      await expectStatusAndPing(c);
    });
  }
});

describe('embedded daemon: the reported failures', () => {
  test('PROCESS_EXISTS flood with 2000 idle connections: all answers right, node alive in its peer\'s view', async () => {
    const m = await measureScenario(c, PROCESS_EXISTS_SCENARIO);
    expect(m.detail).toMatchObject({ requests: 2000, right: 2000, wrong: 0, unanswered: 0, peerSawBadFlags: 'none' });
    expectUnharmed(m);
    await expectStatusAndPing(c);
    await expectStatusAndPing(c, 1);
  });

  test('partial big packets: RSS back within 20% of idle', async () => {
    const m = await measureScenario(c, PARTIAL_BIG_PACKETS_SCENARIO);
    expectUnharmed(m, { strictRss: true });
    await expectStatusAndPing(c);
  });

  test('a fake node lying about REPLY_CONTROL lengths: error replies only, no foreign bytes (marker)', async () => {
    const m = await measureDisclosure(f.cluster, 'embedded');
    expect(m.result.markerMessages, 'marker traffic went through the daemon').toBeGreaterThan(100);
    expect(m.result.liesTold, 'the fake node was asked').toBe(DISCLOSURE_ROUNDS * LYING_REPLIES.length);
    expect(m.result.markerHits, 'marker bytes in the victim\'s replies').toBe(0);
    expect(m.result.replies.filter((r) => r.outcome !== 'error'), 'every lie answered with an error reply').toEqual([]);
    expect(Math.max(...m.result.replies.map((r) => r.length ?? 0)), 'longest reply (bytes)').toBeLessThan(64 * 1024);
    expectUnharmed(m);
    await expectStatusAndPing(c);
  });
});
