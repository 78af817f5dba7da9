import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import type { TransportStatus } from '../../transport/index.ts';
import { cliStatus, transportCli, type TransportdChild } from './processes.ts';

/**
 * After an attack on transportd: the real CLI's `transport status` and
 * `transport ping -n all` still work and show every node.
 */

/** `transport status` lists exactly the cluster's nodes, all with a transportd, in a bounded answer; `ping -n all` reaches them. */
export async function expectTransportStatusAndPing(child: TransportdChild, nodeCount: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  let last: { status: TransportStatus; bytes: number };
  // A node a forged packet made look restarted is asked again and comes back: give it a moment.
  for (;;) {
    last = await cliStatus(child);
    if (last.status.nodes.every((n) => n.state === 'self' || n.state === 'transport') || Date.now() > deadline) break;
    await sleep(250);
  }
  expect(last.status.nodes.map((n) => `${n.node}:${n.state}`).sort()).toEqual(
    Array.from({ length: nodeCount }, (_, i) => `${i}:${i === child.pnn ? 'self' : 'transport'}`));
  expect(last.bytes, 'transport status size (bytes)').toBeLessThan(256 * 1024);
  const { stdout } = await transportCli('transport', 'ping', '-n', 'all', '--socket', child.socketPath);
  for (let pnn = 0; pnn < nodeCount; pnn++) expect(stdout).toMatch(new RegExp(`^node ${pnn}: reply in [\\d.]+ ms$`, 'm'));
}
