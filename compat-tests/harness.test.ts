import { describe, expect, it } from 'vitest';
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseNodeStatusX } from '../scripts/local-cluster/index.ts';
import { isAlive } from '../scripts/local-cluster/processes.ts';
import { runCtdb, useRealCluster, waitForCtdb } from './support/real-cluster.ts';

/**
 * The real-cluster harness itself, against real Debian ctdbd 4.17: all
 * nodes come up OK, a killed node is seen DISCONNECTED by the others and
 * rejoins after a restart, and teardown leaves no process behind.
 */
describe('real ctdbd cluster harness', () => {
  const real = useRealCluster({ nodes: 3 });

  it('starts 3 nodes that all report every node OK, with their sockets in place', async () => {
    const { nodes, dir, upMs } = real();
    expect(nodes.map((n) => n.pnn)).toEqual([0, 1, 2]);
    console.info(`3-node real cluster OK after ${upMs} ms`);
    for (const node of nodes) {
      expect(node.socketPath).toBe(join(dir, `node.${node.pnn}`, 'run', 'ctdbd.socket'));
      expect(statSync(node.socketPath).isSocket()).toBe(true);
      const result = await runCtdb(node, ['-X', 'nodestatus', 'all']);
      expect(result.exitCode).toBe(0);
      const rows = parseNodeStatusX(result.stdout);
      expect(rows.map((r) => [r.pnn, r.address, r.flags])).toEqual(nodes.map((n) => [n.pnn, n.address, []]));
      expect(rows.find((r) => r.thisNode)?.pnn).toBe(node.pnn);
    }
    const file = JSON.parse(await readFile(join(dir, 'cluster.json'), 'utf8'));
    expect(file.kind).toBe('real');
    expect(file.nodes.every((n: { pid: number }) => isAlive(n.pid))).toBe(true);
  });

  it('sees a killed node DISCONNECTED from the others, and OK again after restart', async () => {
    const { cluster, nodes } = real();
    const killedPid = (await cluster.status()).nodes[2].pid!;
    await cluster.killNode(2);
    expect(isAlive(killedPid)).toBe(false);
    for (const observer of [nodes[0], nodes[1]]) {
      const seen = await waitForCtdb(observer, ['-X', 'nodestatus', 'all'],
        (r) => parseNodeStatusX(r.stdout).find((row) => row.pnn === 2)?.flags.includes('DISCONNECTED') ?? false);
      expect(seen.exitCode).not.toBe(0);
      expect(parseNodeStatusX(seen.stdout).filter((row) => row.pnn !== 2).every((row) => row.flags.length === 0)).toBe(true);
    }
    const status = await cluster.status();
    expect(status.nodes[2]).toMatchObject({ running: false, ok: false });
    expect(status.nodes[2].flags).toContain('DISCONNECTED');

    const restartedAt = Date.now();
    await cluster.startNode(2);
    console.info(`node 2 rejoined OK ${Date.now() - restartedAt} ms after restart`);
    for (const node of nodes) {
      const result = await runCtdb(node, ['nodestatus', 'all']);
      expect(result.exitCode, result.stdout).toBe(0);
    }
    expect((await cluster.status()).allOk).toBe(true);
  });

  it('tears down leaving no ctdbd process', async () => {
    const fixture = real();
    const pidsBefore = fixture.cluster.pids();
    expect(pidsBefore.length).toBeGreaterThanOrEqual(6); // 3 x (ctdbd, event daemon, recovery daemon)
    await fixture.teardown();
    expect(pidsBefore.filter(isAlive)).toEqual([]);
    expect(fixture.cluster.pids()).toEqual([]);
    expect(existsSync(fixture.dir)).toBe(process.env.CTDB_BRIDGE_KEEP_CLUSTER === '1');
  });
});
