import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedCluster, type EmbeddedClusterFixture } from './support/embedded-cluster.ts';
import { waitForCtdb } from './support/real-cluster.ts';

/**
 * The embedded kind of the local cluster as processes: one `ctdb-bridge
 * node` per node, stopped and crashed by PID, observed with the real `ctdb`
 * CLI. Killing the leader: the others mark it disconnected, elect a new
 * leader, and take it back when it restarts.
 */

let f: EmbeddedClusterFixture;

beforeAll(async () => {
  f = await startEmbeddedCluster({ nodes: 3 });
}, 120_000);

afterAll(async () => {
  await f?.teardown();
}, 60_000);

async function leader(pnn: number): Promise<number> {
  const r = await f.ctdb(pnn, ['leader']);
  expect(r.exitCode).toBe(0);
  return Number(r.stdout.trim());
}

describe('embedded local cluster', () => {
  it('comes up with every node OK, one pid per node, the real layout', async () => {
    const st = await f.cluster.status();
    expect(st.kind).toBe('embedded');
    expect(st.allOk).toBe(true);
    expect(st.nodes.map((n) => n.flags)).toEqual([[], [], []]);
    expect(new Set(st.nodes.map((n) => n.pid)).size).toBe(3);
    expect(f.nodes[1].socketPath).toBe(`${f.dir}/node.1/run/ctdbd.socket`);
    const r = await f.ctdb(2, ['nodestatus', 'all']);
    expect(r.exitCode).toBe(0);
  });

  it('killing the leader: peers mark it disconnected, elect another leader; it rejoins on restart', async () => {
    const old = await leader(0);
    const others = [0, 1, 2].filter((p) => p !== old);
    await f.cluster.killNode(old);
    for (const o of others) {
      await waitForCtdb(f.nodes[o], ['nodestatus', String(old)],
        (r) => r.stdout.includes('DISCONNECTED|UNHEALTHY|INACTIVE'), { waitMs: 30_000 });
    }
    let next = -1;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const views = await Promise.all(others.map((o) => leader(o)));
      if (views[0] === views[1] && others.includes(views[0])) { next = views[0]; break; }
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(others).toContain(next);
    const st = await f.cluster.status();
    expect(st.nodes[old].running).toBe(false);
    expect(st.nodes[old].flags).toEqual(['DISCONNECTED', 'UNHEALTHY', 'INACTIVE']);
    await f.cluster.startNode(old);
    for (const p of [0, 1, 2]) {
      await waitForCtdb(f.nodes[p], ['nodestatus', 'all'], (r) => r.exitCode === 0, { waitMs: 30_000 });
    }
    const status = await f.ctdb(old, ['status']);
    expect(status.stdout).toMatch(/Size:3/);
    expect(status.stdout).toMatch(/Recovery mode:NORMAL \(0\)/);
  });

  it('orderly stop of one node by PID, and restart', async () => {
    await f.cluster.stopNode(1);
    await waitForCtdb(f.nodes[0], ['nodestatus', '1'], (r) => r.stdout.includes('DISCONNECTED'), { waitMs: 30_000 });
    await f.cluster.startNode(1);
    await waitForCtdb(f.nodes[0], ['nodestatus', 'all'], (r) => r.exitCode === 0, { waitMs: 30_000 });
  });
});
