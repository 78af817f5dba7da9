import { expect } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { signal } from '../../scripts/local-cluster/processes.ts';
import { AddressLoad, describeLoad, expectAnsweredInPlace } from '../support/address-load.ts';
import type { FailoverdNetnsCluster, Placement } from '../support/failoverd-netns.ts';

/**
 * failoverd's cross-check with ctdbd (failoverd.ts, unreachable()): a node
 * whose transportd and clusterd are silent (stopped, restarting) while its
 * daemon still answers GET_RUNSTATE keeps its addresses. The node's
 * transportd and clusterd get SIGSTOP for `holdMs` (longer than clusterd's
 * 1 s "dead after" of fastBridgeConf), then SIGCONT. All along, a client
 * load (support/address-load.ts) probes every address every 50 ms and
 * `ctdb ip all` is sampled: no probe may fail, no address may be answered by
 * another node, `ctdb ip all` must not change, and the deciding failoverd
 * must have logged that it saw the node silent and kept its addresses
 * (without that line the window proved nothing). A kill -9 of the node's
 * daemon still moves them: the kill -9 scenarios.
 */
export async function silentBridgeKeepsAddresses(c: FailoverdNetnsCluster, opts: { holdMs: number; log: (line: string) => void }): Promise<void> {
  const before = await c.steady();
  const s = await c.status();
  const leader = s.leader!;
  const victim = [...c.alive].find((p) => p !== leader && [...before.values()].includes(p))!;
  expect(victim, 'a node that does not decide and hosts addresses').toBeDefined();
  const [transportd, clusterd] = c.bridge[victim]!;
  const failoverdLog = join(c.cluster.nodes[leader].base, 'failoverd.log');
  const keptLines = async () => (await readFile(failoverdLog, 'utf8')).split('\n')
    .filter((l) => l.includes('its ctdbd answers: its addresses stay') && l.includes(`"pnn":${victim}`)).length;
  const keptBefore = await keptLines();

  const load = await AddressLoad.start(c.cluster.netns);
  const ctdbSamples: Placement[] = [];
  let stopped = 0;
  try {
    await sleep(500);
    signal(transportd.pid, 'SIGSTOP');
    signal(clusterd.pid, 'SIGSTOP');
    stopped = Date.now();
    while (Date.now() - stopped < opts.holdMs) {
      ctdbSamples.push(await c.cluster.ctdbIpAll(leader));
      await sleep(250);
    }
  } finally {
    signal(transportd.pid, 'SIGCONT');
    signal(clusterd.pid, 'SIGCONT');
  }
  const silentMs = Date.now() - stopped;
  // After: clusterd hears the node again; still nothing moves.
  const resumed = Date.now();
  while (Date.now() - resumed < 2000) {
    ctdbSamples.push(await c.cluster.ctdbIpAll(leader));
    await sleep(250);
  }
  const report = await load.stop();
  const kept = (await keptLines()) - keptBefore;
  opts.log(`transportd + clusterd of node ${victim} stopped for ${silentMs} ms: ${describeLoad(report)}, `
    + `${ctdbSamples.length} ctdb ip all samples, deciding failoverd logged the node heard only by ctdbd ${kept} time(s)`);
  expect(kept, 'the deciding failoverd saw the node silent and kept its addresses').toBeGreaterThan(0);
  expectAnsweredInPlace(report, before);
  for (const sample of ctdbSamples) expect(Object.fromEntries(sample)).toEqual(Object.fromEntries(before));
  expect(Object.fromEntries(await c.steady())).toEqual(Object.fromEntries(before));
  const after = await c.statusWhen((x) => x.addresses.length === before.size, 'the deciding failoverd after the silence');
  expect(after.leader, 'leadership did not change').toBe(leader);
  expect(after.addresses.filter((a) => a.host !== a.plan)).toEqual([]);
}
