import { describe, expect, test } from 'vitest';
import { useRealCluster } from './support/real-cluster.ts';
import { expectStatusAndPing, expectUnharmed, measureScenario, type HostileCluster } from './hostile/legacy-checks.ts';
import { BASIC_SCENARIOS, PARTIAL_BIG_PACKETS_SCENARIO, PROCESS_EXISTS_SCENARIO } from './hostile/scenarios.ts';

/**
 * The same hostile clients against Debian's real ctdbd 4.17, for
 * comparison, asserting only what ctdbd does. Not run here: the fake node
 * lying about REPLY_CONTROL lengths (ctdbd trusts a peer's lengths and
 * reads past the packet, which can crash it), and the transportd attacks
 * (hostile.transport.embedded.test.ts; transportd is the same program on
 * either daemon).
 */

const real = useRealCluster({ nodes: 3 });
const cluster = (): HostileCluster => {
  const f = real();
  return { daemon: 'real ctdbd', nodes: f.nodes, ctdb: (pnn, args) => f.ctdb(pnn, args) };
};

describe('real ctdbd under hostile clients', () => {
  for (const scenario of BASIC_SCENARIOS) {
    test(scenario.name, async () => {
      const m = await measureScenario(cluster(), scenario);
      expectUnharmed(m);
      if (scenario.name === 'zero length') expect(m.detail.closedByDaemon).toBe(m.detail.connections);
      if (scenario.name === 'bad magic / version') expect(m.detail).toMatchObject({ answeredBad: 0, validAnsweredAfter: true });
      if (scenario.name === 'slowloris') expect(m.detail.answered).toBe(m.detail.connections);
      if (scenario.name === 'idle connections') expect(m.detail.closedByDaemon).toBe(0);
      await expectStatusAndPing(cluster());
    });
  }

  test('PROCESS_EXISTS flood with 2000 idle connections', async () => {
    const m = await measureScenario(cluster(), PROCESS_EXISTS_SCENARIO);
    expect(m.detail).toMatchObject({ requests: 2000, right: 2000, wrong: 0, unanswered: 0, peerSawBadFlags: 'none' });
    expectUnharmed(m);
    await expectStatusAndPing(cluster());
  });

  test('partial big packets', async () => {
    const m = await measureScenario(cluster(), PARTIAL_BIG_PACKETS_SCENARIO);
    expectUnharmed(m, { strictRss: true });
    await expectStatusAndPing(cluster());
  });
});
