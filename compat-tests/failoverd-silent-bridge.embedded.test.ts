import { afterAll, beforeAll, describe, test } from 'vitest';
import { FailoverdNetnsCluster } from './support/failoverd-netns.ts';
import { silentBridgeKeepsAddresses } from './suites/failoverd-silent-bridge.ts';

/**
 * failoverd's cross-check with the node daemon on the embedded kind
 * (failoverd native, clusterd active): a node whose transportd and clusterd
 * are stopped for 3 s, while its daemon still answers the others, keeps its
 * addresses (suites/failoverd-silent-bridge.ts; the real ctdbd side runs in
 * failoverd-handover-load.real.test.ts). Subnets 10.175-179.0.0/24.
 */

const NODES = [0, 1, 2];

describe('failoverd native on the embedded daemon: a node with a silent bridge keeps its addresses (netns)', () => {
  let c: FailoverdNetnsCluster;

  beforeAll(async () => {
    c = await FailoverdNetnsCluster.up({
      kind: 'embedded', nodes: NODES.length, subnetRange: [175, 179], prefix: 'ctdb-bridge-failoverd-silent-bridge-',
    });
    for (const pnn of NODES) await c.startBridge(pnn);
  }, 180_000);

  afterAll(async () => {
    await c?.down();
  }, 60_000);

  test('a node whose transportd and clusterd are stopped for 3 s keeps its addresses (its daemon still answers)', async () => {
    await c.restore(true);
    await silentBridgeKeepsAddresses(c, { holdMs: 3000, log: (line) => console.log(`silent-bridge [embedded] ${line}`) });
  }, 120_000);
});
