import type { LocalClusterNode } from '../../scripts/local-cluster/index.ts';
import type { AttackDetail } from './attacks.ts';
import { measureAttack, summaryLine, type Measurement } from './measure.ts';
import type { TransportdChild } from './processes.ts';
import { rssAfterLimitKiB } from './scenarios.ts';
import { discoveryFlood, forgedControlAttack, TransportViewWatch } from './transport-attacks.ts';
import { startProbe } from './well-behaved-probe.ts';

/**
 * The attacks on transportd (one child process per node, tunnel uplink),
 * with the sizes the suite and the bench use. Each attacks node 0's
 * transportd; its well-behaved client pings node 1 through the tunnel.
 */

export interface TransportAttackContext {
  nodes: readonly LocalClusterNode[];
  children: readonly TransportdChild[];
}

export interface TransportScenario {
  name: string;
  run(ctx: TransportAttackContext): Promise<AttackDetail>;
}

export const DISCOVERY_FLOOD_SCENARIO: TransportScenario = {
  name: 'transportd: discovery flood (12,000 made-up nodes, hellos listing 4096 services)',
  // Sent from node 1's ctdbd socket: any client of any node's ctdbd can reach the tunnel.
  run: (c) => discoveryFlood({ ctdbSocket: c.nodes[1].socketPath, target: 0, member: 2 }),
};

/** Forged hello / bye from a local client of node 0; every transportd's view is watched meanwhile. */
export const FORGED_CONTROL_SCENARIO: TransportScenario = {
  name: 'transportd: forged hello / bye from a local client',
  async run(c) {
    const watch = await TransportViewWatch.start(c.children.map((x) => ({ node: x.pnn, socketPath: x.socketPath })));
    try {
      const detail = await forgedControlAttack({ socketPath: c.children[0].socketPath, node: 0, peers: c.children.slice(1).map((x) => x.pnn) });
      return { ...detail, viewChanges: watch.changes.length, firstViewChange: watch.changes[0] ?? 'none', viewPolls: watch.polls };
    } finally {
      await watch.stop();
    }
  },
};

export async function measureTransportScenario(ctx: TransportAttackContext, scenario: TransportScenario, daemon: string): Promise<Measurement<AttackDetail>> {
  const m = await measureAttack({
    attack: scenario.name, daemon, pid: ctx.children[0].pid,
    startProbe: () => startProbe({ kind: 'transport', socketPath: ctx.children[0].socketPath, node: 1 }),
    run: () => scenario.run(ctx),
    rssLimitKiB: (before) => rssAfterLimitKiB(before), settleMs: 10_000,
  });
  // eslint-disable-next-line no-console
  console.info(summaryLine(m));
  return m;
}
