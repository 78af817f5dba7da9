import { distanceSquared } from './address-key.ts';
import { unassignUnsuitable } from './common.ts';
import { asInt } from './log.ts';
import { canTakeover, type IpallocState } from './state.ts';

const RULE = ' ----------------------------------------';

/**
 * ipalloc_lcp2 (ipalloc_lcp2.c): places each unassigned address where it
 * adds the least "imbalance" (the sum over a node's address pairs of the
 * squared common-prefix length), then moves addresses onto nodes that were
 * empty (or forced) while that lowers the busiest node's imbalance.
 *
 * All sums are uint32 and wrap as in C (Uint32Array stores wrap; `>>> 0`
 * elsewhere). Instead of ctdbd's rescans, each address's distance sum to
 * every node is kept in a matrix updated on every move, and the unassigned
 * phase keeps one heap per node; choices and tie-breaks are ctdbd's
 * (smallest sum, then earliest address, then lowest PNN). With a debug log
 * the unassigned phase scans as ctdbd does, to print the same lines.
 */
export function allocateLcp2(s: IpallocState): void {
  unassignUnsuitable(s);
  const lcp2 = new Lcp2(s);
  lcp2.allocateUnassigned();
  if (s.noIpFailback) return;
  if (!lcp2.candidates.includes(1)) return;
  lcp2.failback();
}

class Lcp2 {
  private readonly n: number;
  private readonly nodes: number;
  /** pnn * count + ip: ip_distance_2_sum of the address against the addresses on the node (itself excluded). */
  private readonly dsum: Uint32Array;
  readonly imbalance: Uint32Array;
  /** Nodes that may receive moved addresses: empty before this run, or forced. */
  readonly candidates: Uint8Array;

  constructor(private readonly s: IpallocState) {
    this.n = s.count;
    this.nodes = s.numNodes;
    this.dsum = new Uint32Array(this.nodes * this.n);
    this.imbalance = new Uint32Array(this.nodes);
    this.candidates = new Uint8Array(this.nodes).fill(1);
    this.buildSums();
    this.chooseCandidates();
  }

  private buildSums(): void {
    const { n, nodes, dsum, imbalance } = this;
    const { owners, words } = this.s;
    for (let i = 0; i < n; i++) {
      const oi = owners[i];
      for (let j = i + 1; j < n; j++) {
        const oj = owners[j];
        if (oi === -1 && oj === -1) continue;
        const d2 = distanceSquared(words, i, j);
        if (oj !== -1) dsum[oj * n + i] += d2;
        if (oi !== -1) {
          dsum[oi * n + j] += d2;
          if (oi === oj) imbalance[oi] += d2;
        }
      }
    }
  }

  private chooseCandidates(): void {
    for (let i = 0; i < this.n; i++) if (this.s.owners[i] !== -1) this.candidates[this.s.owners[i]] = 0;
    for (const pnn of this.s.forceRebalanceNodes ?? []) {
      if (!(pnn >= 0 && pnn < this.nodes)) {
        this.s.log.write('error', `unknown node ${pnn}`);
        continue;
      }
      this.s.log.write('notice', `Forcing rebalancing of IPs to node ${pnn}`);
      this.candidates[pnn] = 1;
    }
  }

  /** Owner change of one address: the distance sums of every other address follow. */
  private move(ip: number, from: number, to: number): void {
    const { n, dsum } = this;
    const words = this.s.words;
    const a0 = words[ip * 4];
    const a1 = words[ip * 4 + 1];
    const a2 = words[ip * 4 + 2];
    const a3 = words[ip * 4 + 3];
    const fromBase = from * n;
    const toBase = to * n;
    for (let j = 0; j < n; j++) {
      if (j === ip) continue;
      const o = j * 4;
      const d = Math.clz32(a0 ^ words[o]) + Math.clz32(a1 ^ words[o + 1])
        + Math.clz32(a2 ^ words[o + 2]) + Math.clz32(a3 ^ words[o + 3]);
      if (from !== -1) dsum[fromBase + j] -= d * d;
      dsum[toBase + j] += d * d;
    }
    this.s.owners[ip] = to;
  }

  /** lcp2_allocate_unassigned. */
  allocateUnassigned(): void {
    const { s, n, dsum } = this;
    const heaps = s.log.debug ? undefined : new ColumnHeaps(s, dsum);
    let unassigned = 0;
    for (let i = 0; i < this.n; i++) if (s.owners[i] === -1) unassigned++;
    // ctdbd enters the loop once even with nothing unassigned (its debug lines show it).
    let haveUnassigned = true;
    let shouldLoop = true;
    while (haveUnassigned && shouldLoop) {
      if (s.log.debug) s.log.write('debug', RULE);
      if (s.log.debug) s.log.write('debug', ' CONSIDERING MOVES (UNASSIGNED)');
      const pick = heaps ? heaps.best() : this.scanUnassigned();
      if (s.log.debug) s.log.write('debug', RULE);
      shouldLoop = pick !== undefined;
      if (pick) {
        const { ip, pnn } = pick;
        const sum = dsum[pnn * n + ip];
        this.imbalance[pnn] = (this.imbalance[pnn] + sum) >>> 0;
        this.move(ip, -1, pnn);
        unassigned--;
        if (s.log.info) s.log.write('info', ` ${s.ips[ip]} -> ${pnn} [+${asInt(sum)}]`);
        heaps?.rebuild(pnn);
      }
      haveUnassigned = unassigned > 0;
    }
    if (haveUnassigned) {
      for (let i = 0; i < this.n; i++) {
        if (s.owners[i] === -1) s.log.write('warning', `Failed to find node to cover ip ${s.ips[i]}`);
      }
    }
  }

  /** ctdbd's own scan of every (unassigned address, node) pair, logging each. */
  private scanUnassigned(): { ip: number; pnn: number } | undefined {
    const { s, n, nodes, dsum, imbalance } = this;
    let best: { ip: number; pnn: number } | undefined;
    let bestSum = 0;
    for (let i = 0; i < this.n; i++) {
      if (s.owners[i] !== -1) continue;
      for (let k = 0; k < nodes; k++) {
        if (!canTakeover(s, i, k)) continue;
        const sum = dsum[k * n + i];
        const imbl = (imbalance[k] + sum) >>> 0;
        s.log.write('debug', ` ${s.ips[i]} -> ${k} [+${asInt(imbl - imbalance[k])}]`);
        if (!best || sum < bestSum) {
          best = { ip: i, pnn: k };
          bestSum = sum;
        }
      }
    }
    return best;
  }

  /** lcp2_failback: from the most imbalanced node down, the first that can give an address away does; repeat. */
  failback(): void {
    const { s, nodes, imbalance } = this;
    const order = Array.from({ length: nodes }, (_, k) => k);
    for (;;) {
      if (s.log.debug) {
        s.log.write('debug', '+++++++++++++++++++++++++++++++++++++++++');
        s.log.write('debug', 'Selecting most imbalanced node from:');
        for (let k = 0; k < nodes; k++) s.log.write('debug', ` ${k} [${asInt(imbalance[k])}]`);
      }
      // glibc's qsort is a stable merge sort here: equal imbalances keep PNN order.
      order.sort((a, b) => (imbalance[a] === imbalance[b] ? a - b : imbalance[b] - imbalance[a]));
      let moved = false;
      for (const src of order) {
        if (imbalance[src] === 0) break;
        if (this.failbackCandidate(src)) {
          moved = true;
          break;
        }
      }
      if (!moved) return;
    }
  }

  /** lcp2_failback_candidate: the best single move off `src`, made if it helps. */
  private failbackCandidate(src: number): boolean {
    const { s, n, nodes, dsum, imbalance, candidates } = this;
    const debug = s.log.debug;
    let minIp = -1;
    let minSrcImbl = 0;
    let minDst = -1;
    let minDstImbl = 0;
    if (debug) {
      s.log.write('debug', RULE);
      s.log.write('debug', ` CONSIDERING MOVES FROM ${src} [${asInt(imbalance[src])}]`);
    }
    const srcImbalance = imbalance[src];
    for (let t = 0; t < this.n; t++) {
      if (s.owners[t] !== src) continue;
      const srcSum = dsum[src * n + t];
      const srcImbl = (srcImbalance - srcSum) >>> 0;
      for (let dst = 0; dst < nodes; dst++) {
        if (candidates[dst] === 0 || !canTakeover(s, t, dst)) continue;
        const dstSum = dsum[dst * n + t];
        const dstImbl = (imbalance[dst] + dstSum) >>> 0;
        if (debug) s.log.write('debug', ` ${src} [${asInt(-srcSum)}] -> ${s.ips[t]} -> ${dst} [+${asInt(dstSum)}]`);
        if (dstImbl < srcImbalance && dstSum < srcSum
          && (minDst === -1 || ((srcImbl + dstImbl) >>> 0) < ((minSrcImbl + minDstImbl) >>> 0))) {
          minIp = t;
          minSrcImbl = srcImbl;
          minDst = dst;
          minDstImbl = dstImbl;
        }
      }
    }
    if (debug) s.log.write('debug', RULE);
    if (minDst === -1) return false;
    if (s.log.info) {
      s.log.write('info', `${src} [${asInt(minSrcImbl - imbalance[src])}] -> ${s.ips[minIp]} -> ${minDst}`
        + ` [+${asInt(minDstImbl - imbalance[minDst])}]`);
    }
    imbalance[src] = minSrcImbl;
    imbalance[minDst] = minDstImbl;
    this.move(minIp, src, minDst);
    return true;
  }
}

/**
 * For each node, a binary min-heap of the unassigned addresses it may take,
 * ordered by (distance sum to that node, list position). Only the chosen
 * node's column of sums changes per step, so only its heap is rebuilt;
 * addresses placed meanwhile are dropped lazily from the others' tops.
 */
class ColumnHeaps {
  private readonly heap: Int32Array;
  private readonly size: Int32Array;
  private readonly n: number;
  private readonly nodes: number;

  constructor(private readonly s: IpallocState, private readonly dsum: Uint32Array) {
    this.n = s.count;
    this.nodes = s.numNodes;
    this.heap = new Int32Array(this.n * this.nodes);
    this.size = new Int32Array(this.nodes);
    for (let k = 0; k < this.nodes; k++) {
      const base = k * this.n;
      let size = 0;
      for (let i = 0; i < this.n; i++) if (s.owners[i] === -1 && canTakeover(s, i, k)) this.heap[base + size++] = i;
      this.size[k] = size;
      this.heapify(k);
    }
  }

  /** The (address, node) ctdbd's scan would pick, or undefined when no unassigned address can be placed. */
  best(): { ip: number; pnn: number } | undefined {
    const { dsum, n, nodes } = this;
    let bestIp = -1;
    let bestNode = -1;
    let bestSum = 0;
    for (let k = 0; k < nodes; k++) {
      const top = this.top(k);
      if (top === -1) continue;
      const sum = dsum[k * n + top];
      if (bestIp === -1 || sum < bestSum || (sum === bestSum && top < bestIp)) {
        bestIp = top;
        bestNode = k;
        bestSum = sum;
      }
    }
    return bestIp === -1 ? undefined : { ip: bestIp, pnn: bestNode };
  }

  /** Node k's sums all changed: drop its placed addresses and heapify again. */
  rebuild(k: number): void {
    const { heap, s } = this;
    const base = k * this.n;
    const end = base + this.size[k];
    let size = 0;
    for (let at = base; at < end; at++) if (s.owners[heap[at]] === -1) heap[base + size++] = heap[at];
    this.size[k] = size;
    this.heapify(k);
  }

  private heapify(k: number): void {
    for (let at = (this.size[k] >> 1) - 1; at >= 0; at--) this.siftDown(k, at);
  }

  private top(k: number): number {
    const { heap, n, s } = this;
    const base = k * n;
    while (this.size[k] > 0) {
      const ip = heap[base];
      if (s.owners[ip] === -1) return ip;
      const last = --this.size[k];
      heap[base] = heap[base + last];
      this.siftDown(k, 0);
    }
    return -1;
  }

  private siftDown(k: number, at: number): void {
    const { heap, dsum } = this;
    const base = k * this.n;
    const size = this.size[k];
    const ip = heap[base + at];
    const sum = dsum[base + ip];
    for (;;) {
      let child = 2 * at + 1;
      if (child >= size) break;
      let childIp = heap[base + child];
      let childSum = dsum[base + childIp];
      const right = child + 1;
      if (right < size) {
        const rightIp = heap[base + right];
        const rightSum = dsum[base + rightIp];
        if (rightSum < childSum || (rightSum === childSum && rightIp < childIp)) {
          child = right;
          childIp = rightIp;
          childSum = rightSum;
        }
      }
      if (sum < childSum || (sum === childSum && ip < childIp)) break;
      heap[base + at] = childIp;
      at = child;
    }
    heap[base + at] = ip;
  }
}
