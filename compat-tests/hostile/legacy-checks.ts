import { expect } from 'vitest';
import type { Measurement } from './measure.ts';
import { P99_BOUND_MS, rssAfterLimitKiB, type HostileCluster } from './scenarios.ts';

/**
 * What the hostile tests check after every attack (measured by
 * measureScenario / measureAttack), written once: the daemon up, zero
 * errors, a bounded p99 and no foreign bytes (marker) for the well-behaved
 * client, bounded RSS after, and `ctdb status` / `ctdb ping` working.
 */

/** The daemon survived and the well-behaved client never noticed. */
export function expectUnharmed(m: Measurement<unknown>, opts: { p99BoundMs?: number; strictRss?: boolean } = {}): void {
  expect(m.alive, 'daemon process alive after the attack').toBe(true);
  expect(m.probe.errors, `well-behaved client errors: ${m.probe.errorSamples.join('; ')}`).toBe(0);
  expect(m.probe.count, 'the well-behaved client got answers during the attack').toBeGreaterThan(0);
  expect(m.probe.p99Ms, 'well-behaved client p99 (ms)').toBeLessThan(opts.p99BoundMs ?? P99_BOUND_MS);
  expect(m.probe.markerHits ?? 0, 'marker bytes in the well-behaved client\'s replies').toBe(0);
  expect(m.detail.markerHits ?? 0, 'marker bytes in the replies to the attacker\'s own connections').toBe(0);
  const { before, after } = m.rssKiB;
  expect(after, 'RSS after (KiB) readable').toBeDefined();
  expect(after!, `RSS after (KiB), idle was ${before}`).toBeLessThanOrEqual(rssAfterLimitKiB(before!, opts.strictRss));
}

/** `ctdb status` and `ctdb ping` against the node still work, every node OK. */
export async function expectStatusAndPing(c: HostileCluster, pnn = 0): Promise<void> {
  const status = await c.ctdb(pnn, ['status']);
  expect(status.exitCode, `ctdb status: ${status.stderr}`).toBe(0);
  expect(status.stdout).toMatch(new RegExp(`Number of nodes:${c.nodes.length}`));
  const ping = await c.ctdb(pnn, ['ping']);
  expect(ping.exitCode, `ctdb ping: ${ping.stderr}`).toBe(0);
  expect(ping.stdout).toMatch(new RegExp(`response from ${pnn} time=`));
}

export { measureScenario, type HostileCluster } from './scenarios.ts';
