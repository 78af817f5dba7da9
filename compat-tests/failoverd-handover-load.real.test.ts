import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FailoverStatus } from '../components/failoverd/status.ts';
import { AddressLoad, describeLoad, expectAnsweredInPlace, type AddressLoadReport } from './support/address-load.ts';
import { FailoverdNetnsCluster, fastBridgeConf, type Placement } from './support/failoverd-netns.ts';
import { silentBridgeKeepsAddresses } from './suites/failoverd-silent-bridge.ts';
import { eventually } from './suites/client-support.ts';

/**
 * Issue 10's "handover and handback under load with zero moves" on a 3-node
 * netns cluster of Debian's ctdbd 4.17 doing public IP failover: failoverd
 * starts in shadow (stage 2), `failover handover` makes it active (stage 3:
 * ctdbd's takeover runs held off on every node, failoverd performs them),
 * `failover handback` returns to stage 2. Through each switch a client load
 * probes every public address every 50 ms (TCP to the node's responder; ARP
 * once a second): no probe fails, every address is answered by the node that
 * answered it before, and afterwards `ctdb ip all` agrees with the client.
 * Between the two, while active: a node whose transportd and clusterd are
 * stopped for 3 s keeps its addresses (suites/failoverd-silent-bridge.ts).
 * Subnets 10.170-174.0.0/24.
 */

const NODES = [0, 1, 2];

describe('failoverd handover and handback under client load, real ctdbd 4.17 (netns)', () => {
  let c: FailoverdNetnsCluster;
  const log = (line: string) => console.log(`handover-load [real] ${line}`);
  const ctdbLogCount = async (pnn: number, needle: string) =>
    (await readFile(join(c.cluster.nodes[pnn].base, 'log.ctdb'), 'utf8')).split(needle).length - 1;

  beforeAll(async () => {
    c = await FailoverdNetnsCluster.up({
      kind: 'real', nodes: NODES.length, subnetRange: [170, 174], bridgeConf: fastBridgeConf('real', 'shadow'),
      prefix: 'ctdb-bridge-failoverd-handover-load-',
    });
    for (const pnn of NODES) await c.startBridge(pnn);
  }, 180_000);

  afterAll(async () => {
    await c?.down();
  }, 60_000);

  /**
   * `failover <verb>` under load; resolves once `held` is true on every node
   * (ctdbd's log), with the load kept up `afterMs` longer (a lease renewal,
   * checks, ctdbd's own runs after a handback).
   */
  async function switchUnderLoad(verb: 'handover' | 'handback', needle: string, afterMs: number) {
    const before = await c.steady();
    const counts = await Promise.all(NODES.map((p) => ctdbLogCount(p, needle)));
    const load = await AddressLoad.start(c.cluster.netns);
    let report: AddressLoadReport;
    let r: { moved: unknown[]; status: FailoverStatus };
    const started = Date.now();
    try {
      await sleep(1000);
      r = await c.cli<{ moved: unknown[]; status: FailoverStatus }>(c.anyAlive(), [verb]);
      for (const pnn of NODES) {
        await eventually(async () => (await ctdbLogCount(pnn, needle)) > counts[pnn], 10_000, `node ${pnn}'s ctdbd logs "${needle.trim()}"`);
      }
      await sleep(afterMs);
    } finally {
      report = await load.stop();
    }
    const after = await c.settled();
    log(`${verb}: ${describeLoad(report)}, moved ${r.moved.length}, switch to settled ${Date.now() - started - 1000} ms`);
    return { before, after, report, r };
  }

  function expectZeroMoves(before: Placement, after: Placement, report: AddressLoadReport): void {
    // Each address answered (TCP and ARP) by one node only, the one that answered it before the switch.
    expectAnsweredInPlace(report, before);
    // settled(): every address answered once, held once, and `ctdb ip all` names the same node.
    expect(Object.fromEntries(after)).toEqual(Object.fromEntries(before));
  }

  test('handover (stage 2 -> 3) under load: ctdbd\'s runs held off on every node, no probe fails, no address moves', async () => {
    await c.statusWhen((s) => s.mode === 'shadow' && s.addresses.length === 2 * NODES.length && s.addresses.every((a) => a.host === a.plan),
      'shadow failoverd deciding, agreeing with ctdbd');
    const { before, after, report, r } = await switchUnderLoad('handover', 'Disabling takeover runs for 3 seconds', 2500);
    expect(r.moved).toEqual([]);
    expect(r.status.mode).toBe('active');
    expectZeroMoves(before, after, report);
    const s = await c.statusWhen((x) => x.takeoverLease?.held === true, 'lease held');
    expect(s.takeoverLease!.nodes.sort()).toEqual(NODES);
    expect(s.addresses.filter((a) => a.host !== a.plan)).toEqual([]);
  }, 120_000);

  test('active: a node whose transportd and clusterd are stopped for 3 s keeps its addresses (its ctdbd still answers)', async () => {
    await silentBridgeKeepsAddresses(c, { holdMs: 3000, log });
  }, 120_000);

  test('handback (stage 3 -> 2) under load: ctdbd\'s runs re-enabled on every node, no probe fails, no address moves', async () => {
    const { before, after, report, r } = await switchUnderLoad('handback', 'Reenabling takeover runs\n', 3000);
    expect(r.moved).toEqual([]);
    expect(r.status.mode).toBe('shadow');
    expect(r.status.takeoverLease).toBeNull();
    expectZeroMoves(before, after, report);
  }, 120_000);
});
