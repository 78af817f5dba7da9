import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { allocate } from '../components/failoverd/allocation/index.ts';
import { parseAllocationInputText } from '../scripts/cli/failover/allocation-input.ts';
import { startEmbeddedCluster, type EmbeddedClusterFixture } from './support/embedded-cluster.ts';
import { debianHelper, spawnHelper } from './support/takeover-helper-runner.ts';

/**
 * The embedded daemon's public IP record, driven by Samba's own takeover
 * helper (/usr/libexec/ctdb/ctdb_takeover_helper) exactly as ctdbd's
 * recovery daemon drives it, and read back with Debian's `ctdb ip`: every
 * node ends up reporting the placement ctdbd's LCP2 computes (checked
 * against our allocation for the same input), a second run moves nothing,
 * and after a node is stopped the helper moves its addresses to the others.
 * Addresses live on `lo` of this host's record only: the embedded nodes run
 * no event runner, so nothing is configured on any interface.
 */

const PUBLIC = ['10.201.1.1', '10.201.1.2', '10.201.1.3', '10.201.1.4', '10.201.1.5', '10.201.1.6'];

let f: EmbeddedClusterFixture;

/** `ctdb -X ip all` from one node: address -> owner PNN (-1 none). */
async function ipAll(pnn: number): Promise<Map<string, number>> {
  const r = await f.ctdb(pnn, ['-X', 'ip', 'all']);
  expect(r.exitCode, `ctdb ip all on node ${pnn}: ${r.stderr}`).toBe(0);
  const out = new Map<string, number>();
  for (const line of r.stdout.trim().split('\n').slice(1)) {
    const [, ip, owner] = line.split('|');
    out.set(ip!, Number(owner));
  }
  return out;
}

async function runDebianHelper(pnn: number): Promise<void> {
  const r = await spawnHelper(debianHelper() as Extract<ReturnType<typeof debianHelper>, { kind: 'command' }>, f.nodes[pnn]!.socketPath, {});
  expect(r.status, `helper status; stderr: ${r.stderr}`).toBe(0);
}

/** What ctdbd's LCP2 places for these nodes, all addresses unassigned. */
function expectedFromScratch(pnns: number[]): Map<string, number> {
  const input = {
    algorithm: 'lcp2',
    nodes: pnns.map((pnn) => ({ pnn, flags: 0, runstate: 5, ips: PUBLIC.map((ip) => ({ ip, pnn: -1 })) })),
  };
  return new Map(allocate(parseAllocationInputText(JSON.stringify(input))).map((p) => [p.ip, p.pnn]));
}

beforeAll(async () => {
  f = await startEmbeddedCluster({ nodes: 3, publicAddresses: PUBLIC.map((ip) => `${ip}/24 lo`) });
}, 120_000);

afterAll(async () => {
  await f?.teardown();
}, 60_000);

describe('embedded daemon public IPs under Samba\'s takeover helper', () => {
  test('before any run nobody hosts anything', async () => {
    const all = await ipAll(0);
    expect([...all.keys()].sort()).toEqual([...PUBLIC].sort());
    expect([...all.values()]).toEqual(PUBLIC.map(() => -1));
  });

  test('a run places every address as ctdbd\'s LCP2 does, and every node reports the same', async () => {
    await runDebianHelper(0);
    const expected = expectedFromScratch([0, 1, 2]);
    for (const pnn of [0, 1, 2]) expect(await ipAll(pnn), `node ${pnn}'s view`).toEqual(expected);
    const v = await f.ctdb(1, ['ip']);
    expect(v.exitCode).toBe(0);
    expect(v.stdout).toMatch(/^Public IPs on node 1\n/);
  });

  test('a second run moves nothing', async () => {
    const before = await ipAll(0);
    await runDebianHelper(1);
    expect(await ipAll(2)).toEqual(before);
  });

  test('a stopped node\'s addresses go to the others on the next run', async () => {
    const before = await ipAll(0);
    const r = await f.ctdb(2, ['stop']);
    expect(r.exitCode, r.stderr).toBe(0);
    // The helper reads the node map of the node it runs on.
    await vi.waitFor(async () => expect((await f.ctdb(0, ['status'])).stdout).toMatch(/pnn:2 \S+\s+STOPPED/), { timeout: 10_000, interval: 250 });
    await runDebianHelper(0);
    const after = await ipAll(0);
    for (const [ip, owner] of before) {
      if (owner === 2) expect([0, 1], `${ip} moved off node 2`).toContain(after.get(ip));
      else expect(after.get(ip), `${ip} stayed`).toBe(owner);
    }
    expect(await ipAll(1)).toEqual(after);
    expect((await f.ctdb(2, ['continue'])).exitCode).toBe(0);
  });
});
