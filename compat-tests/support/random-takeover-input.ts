import { NodeFlag, RunState } from '../../legacy/protocol/constants.ts';
import { prng } from '../../legacy/common/testing/prng.ts';
import type { AllocationAlgorithm, AllocationInput, NodeReport } from '../../components/failoverd/allocation/types.ts';
import { canonicalIp, type CtdbdScript } from './scripted-ctdbd.ts';

/**
 * Random cluster states for a takeover run, from a seed (same seed, same
 * state): 1-8 nodes with mixed flags (healthy, unhealthy, disabled, banned,
 * stopped, disconnected, deleted) and run states, IPv4 and IPv6 addresses
 * each known on some nodes, owners that nodes report differently (none,
 * themselves, another node), addresses unavailable on some nodes, every
 * algorithm, the three tunables toggled, force-rebalance lists. The local
 * node (the one the helper talks to) is never disconnected, as in ctdbd.
 */

const FLAG_MIXES: ReadonlyArray<{ flags: number; weight: number }> = [
  { flags: 0, weight: 10 },
  { flags: NodeFlag.UNHEALTHY, weight: 2 },
  { flags: NodeFlag.PERMANENTLY_DISABLED, weight: 2 },
  { flags: NodeFlag.DISABLED, weight: 1 },
  { flags: NodeFlag.BANNED, weight: 2 },
  { flags: NodeFlag.BANNED | NodeFlag.UNHEALTHY, weight: 1 },
  { flags: NodeFlag.STOPPED, weight: 1 },
  { flags: NodeFlag.DISCONNECTED, weight: 2 },
  { flags: NodeFlag.DISCONNECTED | NodeFlag.UNHEALTHY, weight: 1 },
  { flags: NodeFlag.DELETED | NodeFlag.DISCONNECTED, weight: 1 },
];
const ALGORITHMS: AllocationAlgorithm[] = ['lcp2', 'deterministic', 'nondeterministic'];

export interface RandomTakeoverCase {
  seed: number;
  script: CtdbdScript;
  forceRebalanceNodes?: number[];
}

export function randomTakeoverCase(seed: number): RandomTakeoverCase {
  const rand = prng(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const chance = (p: number) => rand() < p;
  const pick = <T>(items: readonly T[]) => items[int(items.length)];
  const weighted = () => {
    let r = int(FLAG_MIXES.reduce((n, m) => n + m.weight, 0));
    for (const m of FLAG_MIXES) if ((r -= m.weight) < 0) return m.flags;
    return 0;
  };

  const count = 1 + int(8);
  const localPnn = int(count);
  const nodes: NodeReport[] = Array.from({ length: count }, (_, pnn) => ({
    pnn,
    flags: pnn === localPnn ? weighted() & ~(NodeFlag.DISCONNECTED | NodeFlag.DELETED) : weighted(),
    // Mostly RUNNING; a node still starting up reports an empty available list.
    runstate: chance(0.85) ? RunState.RUNNING : pick([RunState.STARTUP, RunState.FIRST_RECOVERY, RunState.SHUTDOWN]),
    ips: [],
  }));

  const addresses = uniqueAddresses(int(24), rand);
  for (const ip of addresses) {
    // Known everywhere, or on a random subset (at least one node).
    const everywhere = chance(0.6);
    const knownOn = nodes.filter(() => everywhere || chance(0.5));
    if (knownOn.length === 0) knownOn.push(pick(nodes));
    const trueOwner = chance(0.3) ? -1 : pick(knownOn).pnn;
    for (const node of knownOn) {
      // Usually every node agrees; sometimes one believes itself the host or knows nothing.
      let owner = trueOwner;
      if (chance(0.1)) owner = node.pnn;
      else if (chance(0.05)) owner = -1;
      else if (chance(0.05)) owner = pick(nodes).pnn;
      node.ips.push({ ip, pnn: owner, available: chance(0.9) });
    }
  }

  const input: AllocationInput = {
    algorithm: pick(ALGORITHMS),
    tunables: {
      NoIPFailback: chance(0.25) ? 1 : 0,
      NoIPTakeover: chance(0.2) ? 1 : 0,
      NoIPHostOnAllDisabled: chance(0.3) ? 1 : 0,
    },
    nodes,
  };
  let forceRebalanceNodes: number[] | undefined;
  if (chance(0.3)) {
    forceRebalanceNodes = nodes.filter(() => chance(0.4)).map((n) => n.pnn);
    if (forceRebalanceNodes.length === 0) forceRebalanceNodes = undefined;
    else input.forceRebalanceNodes = forceRebalanceNodes;
  }
  return { seed, script: { input, localPnn, tunables: { TakeoverTimeout: 2 } }, forceRebalanceNodes };
}

/** Distinct addresses in inet_ntop spelling (as ctdbd reports them), about a quarter IPv6, in no particular order. */
function uniqueAddresses(n: number, rand: () => number): string[] {
  const out = new Set<string>();
  while (out.size < n) {
    const r = Math.floor(rand() * 200);
    const v6 = rand() < 0.25;
    // IPv6 varying in more than the last word, so LCP2's distance over four words is exercised.
    if (v6) out.add(canonicalIp(r % 2 ? `fd00:10::${(r + 1).toString(16)}` : `2001:db8:${(r % 7).toString(16)}::${r.toString(16)}:1`));
    else out.add(`10.0.${Math.floor(r / 100)}.${(r % 100) + 1}`);
  }
  return [...out].sort(() => rand() - 0.5);
}
