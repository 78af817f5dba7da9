import { NodeFlag, RunState } from '../../../../legacy/protocol/constants.ts';
import type { AllocationAlgorithm, AllocationInput, NodeReport } from '../types.ts';

/**
 * Random allocation inputs for property tests, from a seeded PRNG (so a
 * failure names a seed that repeats it): clustered IPv4 and IPv6 pools (so
 * LCP2's common prefixes differ), nodes in every flag and run state, nodes
 * that disagree about owners, addresses known on some nodes only.
 */

export interface RandomInputOptions {
  maxNodes?: number;
  maxAddresses?: number;
  /** Pass force-rebalance PNNs beyond the node count too (ctdbd logs and ignores them). */
  outOfRangeForce?: boolean;
}

const ALGORITHMS: AllocationAlgorithm[] = ['lcp2', 'lcp2', 'deterministic', 'nondeterministic'];
const FLAGS = [0, 0, 0, 0, 0, NodeFlag.UNHEALTHY, NodeFlag.PERMANENTLY_DISABLED, NodeFlag.BANNED, NodeFlag.STOPPED,
  NodeFlag.DISCONNECTED, NodeFlag.DISCONNECTED | NodeFlag.DELETED, NodeFlag.UNHEALTHY | NodeFlag.BANNED];

export function randomInput(rand: () => number, opts: RandomInputOptions = {}): AllocationInput {
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(a: readonly T[]): T => a[int(a.length)];
  const chance = (p: number) => rand() < p;

  const numNodes = 1 + int(opts.maxNodes ?? 7);
  const addresses = randomAddresses(rand, int((opts.maxAddresses ?? 40) + 1));
  const nodes: NodeReport[] = Array.from({ length: numNodes }, (_, pnn) => ({
    pnn,
    flags: chance(0.6) ? 0 : pick(FLAGS),
    runstate: chance(0.9) ? RunState.RUNNING : pick([RunState.STARTUP, RunState.FIRST_RECOVERY, RunState.SHUTDOWN]),
    ips: [],
  }));
  for (const ip of addresses) {
    const everywhere = chance(0.7);
    const owner = chance(0.4) ? -1 : int(numNodes);
    for (const node of nodes) {
      if (!everywhere && chance(0.5)) continue;
      // Mostly one story about the owner; sometimes a node disagrees.
      const said = chance(0.85) ? owner : chance(0.5) ? -1 : int(numNodes);
      node.ips.push({ ip, pnn: said, available: chance(0.9) });
    }
  }
  for (const node of nodes) shuffle(node.ips, rand);
  const input: AllocationInput = {
    algorithm: pick(ALGORITHMS),
    tunables: { NoIPFailback: chance(0.15) ? 1 : 0, NoIPTakeover: chance(0.1) ? 1 : 0, NoIPHostOnAllDisabled: int(2) },
    nodes: shuffle(nodes, rand),
  };
  if (chance(0.2)) {
    const range = numNodes + (opts.outOfRangeForce ? 3 : 0);
    input.forceRebalanceNodes = [...new Set(Array.from({ length: 1 + int(3) }, () => int(range)))];
  }
  return input;
}

function randomAddresses(rand: () => number, count: number): string[] {
  const int = (n: number) => Math.floor(rand() * n);
  const pools: Array<() => string> = [];
  for (let p = 0, n = 1 + int(3); p < n; p++) {
    if (rand() < 0.65) {
      const a = 1 + int(223), b = int(256), c = int(256);
      pools.push(() => `${a}.${b}.${rand() < 0.7 ? c : int(256)}.${int(256)}`);
    } else {
      const g = Array.from({ length: 4 }, () => int(0x10000).toString(16));
      pools.push(() => `${g[0]}:${g[1]}:${g[2]}:${rand() < 0.5 ? g[3] : int(0x10000).toString(16)}::${int(0x10000).toString(16)}`);
    }
  }
  const out = new Set<string>();
  for (let tries = 0; out.size < count && tries < count * 10; tries++) out.add(pools[int(pools.length)]());
  return [...out];
}

function shuffle<T>(a: T[], rand: () => number): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}
