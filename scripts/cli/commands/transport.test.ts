import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { silentLogger } from '../../../legacy/common/log.ts';
import { InProcessHub, Transportd, connectTransport } from '../../../transport/index.ts';
import { waitFor } from '../../../transport/testing/inproc-cluster.ts';
import { formatTransportStatus, pingNodes } from './transport.ts';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '../../bin/ctdb-bridge.cjs');

describe('ctdb-bridge transport ping|status against a real transportd socket', () => {
  let dir: string;
  let socket: string;
  const daemons: Transportd[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'transport-cli-'));
    socket = join(dir, 't.sock');
    // Nodes 0 and 1 run transportd; node 2 is a legacy-only cluster member.
    const hub = new InProcessHub([0, 1, 2]);
    for (const n of [0, 1]) {
      const d = new Transportd({
        node: n, uplink: hub.createUplink(n), socketPath: n === 0 ? socket : undefined, helloTimeoutMs: 200, logger: silentLogger(),
      });
      await d.start();
      daemons.push(d);
    }
    await waitFor(() => daemons[0].status().nodes.map((x) => x.state).join() === 'self,transport,legacy-only', 5000, 'discovery');
  });
  afterAll(async () => {
    for (const d of daemons) await d.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('status --json prints the wire status', async () => {
    const { stdout } = await run(process.execPath, [CLI, 'transport', 'status', '--json', '--socket', socket]);
    const status = JSON.parse(stdout);
    expect(status.node).toBe(0);
    expect(status.nodes.map((n: { node: number; state: string }) => `${n.node}:${n.state}`)).toEqual(['0:self', '1:transport', '2:legacy-only']);
  });

  it('ping -n all reports legacy-only nodes without failing; ping of an unknown node fails', async () => {
    const { stdout } = await run(process.execPath, [CLI, 'transport', 'ping', '-n', 'all', '--socket', socket]);
    expect(stdout).toMatch(/^node 0: reply in [\d.]+ ms$/m);
    expect(stdout).toMatch(/^node 1: reply in [\d.]+ ms$/m);
    expect(stdout).toMatch(/^node 2: legacy-only \(no transportd\)$/m);
    const err = await run(process.execPath, [CLI, 'transport', 'ping', '-n', '7', '--socket', socket]).catch((e) => e);
    expect(err.code).toBe(1);
    expect(err.stdout).toMatch(/node 7: FAILED: node 7 is unreachable/);
  });

  it('pingNodes and the status table', async () => {
    const c = await connectTransport({ socketPath: socket, name: 'test' });
    try {
      const results = await pingNodes(c, 'all', 1000);
      expect(results.map((r) => [r.node, r.state, r.ok, r.rttMs !== undefined])).toEqual([
        [0, 'self', true, true], [1, 'transport', true, true], [2, 'legacy-only', true, false],
      ]);
      const one = await pingNodes(c, 2, 500);
      expect(one[0]).toMatchObject({ node: 2, ok: false });
      const table = formatTransportStatus(daemons[0].status());
      expect(table).toMatch(/^2\s+legacy-only\s+-/m);
      expect(table).toMatch(/uplink inproc/);
    } finally {
      await c.close();
    }
  });
});
