import { allocateDeterministic } from './deterministic.ts';
import { allocateLcp2 } from './lcp2.ts';
import { allocateNondeterministic } from './nondeterministic.ts';
import type { IpallocState } from './state.ts';
import type { AllocationAlgorithm } from './types.ts';

const ALGORITHMS: Record<AllocationAlgorithm, (s: IpallocState) => void> = {
  lcp2: allocateLcp2,
  deterministic: allocateDeterministic,
  nondeterministic: allocateNondeterministic,
};

/** ipalloc(): run one algorithm over the merged list; `s.owners` holds the result (-1: nobody may host). */
export function ipalloc(s: IpallocState, algorithm: AllocationAlgorithm): void {
  const run = ALGORITHMS[algorithm];
  if (!run) throw new TypeError(`unknown allocation algorithm ${JSON.stringify(algorithm)}`);
  run(s);
}
