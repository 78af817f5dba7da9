import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CLI_ENTRY } from '../../legacy/common/package-info.ts';
import { spawnTransportd, stopAllTransportds, stopTransportd, type TransportdChild } from '../../scripts/cli/start/transportd-children.ts';
import type { ClientSuiteCluster } from './client-cluster.ts';
import { eventually } from './client-support.ts';

const run = promisify(execFile);

/** The real CLI (`ctdb-bridge transport ...`) against one transportd child process per node (tunnel uplink). */
export function defineTransportCliTests(getCluster: () => ClientSuiteCluster): void {
  describe('ctdb-bridge CLI against child-process transportds', () => {
    const children: TransportdChild[] = [];
    const cli = (...args: string[]) => run(process.execPath, [CLI_ENTRY, ...args], { timeout: 20_000 });
    const statusOf = async (pnn: number): Promise<string[]> => {
      const { stdout } = await cli('transport', 'status', '--json', '--socket', children[pnn].socketPath);
      return (JSON.parse(stdout) as { nodes: Array<{ node: number; state: string }> }).nodes.map((n) => `${n.node}:${n.state}`);
    };

    beforeAll(async () => {
      const cluster = getCluster();
      for (const node of cluster.nodes) {
        children.push(await spawnTransportd({
          pnn: node.pnn, ctdbSocket: node.socketPath, socketPath: join(node.base, 'run', 'transportd.socket'),
          logFile: join(node.base, 'transportd.log'), pollIntervalMs: 250,
        }));
      }
      await eventually(async () => {
        for (const c of children) {
          const states = await statusOf(c.pnn);
          if (states.filter((s) => s.endsWith(':transport') || s.endsWith(':self')).length !== children.length) return undefined;
        }
        return true;
      }, 20_000, 'every transportd to see every other one');
    });
    afterAll(async () => {
      await stopAllTransportds(children);
    });

    test('`transport ping -n all` gets a reply from every node through the tunnel', async () => {
      const { stdout } = await cli('transport', 'ping', '-n', 'all', '--socket', children[0].socketPath);
      for (const pnn of [0, 1, 2]) expect(stdout).toMatch(new RegExp(`^node ${pnn}: reply in [\\d.]+ ms$`, 'm'));
      const status = await cli('transport', 'status', '--socket', children[1].socketPath);
      expect(status.stdout).toMatch(/uplink tunnel/);
    });

    test('a node whose transportd stops is shown legacy-only and ping -n all still succeeds', async () => {
      await stopTransportd(children[2]);
      await eventually(async () => (await statusOf(0)).includes('2:legacy-only') || undefined, 10_000, 'node 2 legacy-only');
      const { stdout } = await cli('transport', 'ping', '-n', 'all', '--socket', children[0].socketPath);
      expect(stdout).toMatch(/^node 1: reply in [\d.]+ ms$/m);
      expect(stdout).toMatch(/^node 2: legacy-only \(no transportd\)$/m);
    });
  });
}
