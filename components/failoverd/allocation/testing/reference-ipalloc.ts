import { NodeFlag, RunState } from '../../../../legacy/protocol/constants.ts';
import { parseIpv4, parseIpv6 } from '../../../../legacy/protocol/types/sock-addr.ts';
import type { AllocationInput, Placement } from '../types.ts';

/**
 * Test oracle: ctdbd 4.17's allocation written as plainly as its C, with
 * none of the production code's caching (every distance sum and coverage
 * count recomputed by scanning the whole list, leading zeros counted bit by
 * bit, its own merge). Slow on purpose; property tests hold the real
 * modules to it. Also returns LCP2's INFO lines (moves with their figures).
 */

interface Entry { ip: string; family: number; words: number[]; pnn: number; available: boolean[] }

const u32 = (x: number) => x >>> 0;
const i32 = (x: number) => x | 0;

export function referenceAllocate(input: AllocationInput): { placements: Placement[]; info: string[] } {
  const numNodes = Math.max(-1, ...input.nodes.map((n) => n.pnn)) + 1;
  const node = (pnn: number) => input.nodes.find((n) => n.pnn === pnn);
  const connected = (pnn: number) => { const n = node(pnn); return !!n && (n.flags & NodeFlag.DISCONNECTED) === 0; };

  // create_merged_ip_list + populate_bitmap
  let list: Entry[] = [];
  for (let pnn = 0; pnn < numNodes; pnn++) {
    if (!connected(pnn)) continue;
    for (const r of node(pnn)!.ips) {
      const { family, words } = parse(r.ip);
      const at = list.findIndex((e) => e.words.every((w, k) => w === words[k]));
      const pnnSaid = r.pnn === pnn ? pnn : -1;
      const fresh: Entry = { ip: r.ip, family, words, pnn: pnnSaid, available: [] };
      if (at === -1) list.push(fresh);
      else {
        if (fresh.pnn === -1) fresh.pnn = list[at].pnn;
        list[at] = fresh;
      }
    }
  }
  list = list.sort((a, b) => {
    for (let k = 0; k < 4; k++) if (a.words[k] !== b.words[k]) return b.words[k] - a.words[k];
    return 0;
  });
  for (const e of list) {
    for (let pnn = 0; pnn < numNodes; pnn++) {
      const n = node(pnn);
      const active = !!n && (n.flags & (NodeFlag.INACTIVE | NodeFlag.DISABLED)) === 0 && n.runstate === RunState.RUNNING;
      e.available[pnn] = active && n!.ips.some((r) => {
        const p = parse(r.ip);
        return r.available && p.family === e.family && p.words.every((w, k) => w === e.words[k]);
      });
    }
  }

  const info: string[] = [];
  const done = () => ({ placements: list.map((e) => ({ ip: e.ip, pnn: e.pnn })), info });
  // ipalloc_can_host_ips
  if (!list.some((e) => e.pnn !== -1) && !list.some((e) => e.available.some(Boolean))) return done();

  const noTakeover = input.tunables.NoIPTakeover !== 0;
  const noFailback = input.tunables.NoIPFailback !== 0;
  const canTake = (pnn: number, e: Entry) => !noTakeover && e.available[pnn];
  const coverage = (pnn: number) => list.filter((e) => e.pnn === pnn).length;
  const unassignUnsuitable = () => { for (const e of list) if (e.pnn !== -1 && !e.available[e.pnn]) e.pnn = -1; };
  const findTakeoverNode = (e: Entry) => {
    let best = -1;
    let min = 0;
    for (let pnn = 0; pnn < numNodes; pnn++) {
      if (!canTake(pnn, e)) continue;
      const num = coverage(pnn);
      if (best === -1 || num < min) { best = pnn; min = num; }
    }
    if (best !== -1) e.pnn = best;
  };
  const basicAllocateUnassigned = () => { for (const e of list) if (e.pnn === -1) findTakeoverNode(e); };

  if (input.algorithm === 'deterministic') {
    list.forEach((e, i) => { e.pnn = i % numNodes; });
    unassignUnsuitable();
    basicAllocateUnassigned();
  } else if (input.algorithm === 'nondeterministic') {
    unassignUnsuitable();
    basicAllocateUnassigned();
    if (!noFailback) basicFailback();
  } else {
    lcp2();
  }
  return done();

  function basicFailback(): void {
    let retries = 0;
    outer: for (;;) {
      for (const e of list) {
        if (e.pnn === -1) continue;
        let maxNode = -1, maxNum = 0, minNode = -1, minNum = 0;
        for (let pnn = 0; pnn < numNodes; pnn++) {
          if (!canTake(pnn, e)) continue;
          const num = coverage(pnn);
          if (maxNode === -1 || num > maxNum) { maxNode = pnn; maxNum = num; }
          if (minNode === -1 || num < minNum) { minNode = pnn; minNum = num; }
        }
        if (maxNode === -1) continue;
        if (maxNum > minNum + 1 && retries < list.length + 5) {
          const victim = list.find((t) => t.pnn === maxNode)!;
          findTakeoverNode(victim);
          retries++;
          continue outer;
        }
      }
      return;
    }
  }

  function distance(a: Entry, b: Entry): number {
    let d = 0;
    for (let k = 0; k < 4; k++) {
      let x = u32(a.words[k] ^ b.words[k]);
      if (x === 0) { d += 32; continue; }
      while ((x & 0x80000000) === 0) { x = u32(x << 1); d++; }
    }
    return d;
  }
  function sum2(e: Entry, from: Entry[], pnn: number): number {
    let s = 0;
    for (const t of from) if (t.pnn === pnn && t !== e) s = u32(s + distance(e, t) * distance(e, t));
    return s;
  }

  function lcp2(): void {
    unassignUnsuitable();
    const imbalance: number[] = [];
    const candidate: boolean[] = [];
    for (let pnn = 0; pnn < numNodes; pnn++) {
      let s = 0;
      list.forEach((t, i) => { if (t.pnn === pnn) s = u32(s + sum2(t, list.slice(i + 1), pnn)); });
      imbalance[pnn] = s;
      candidate[pnn] = !list.some((t) => t.pnn === pnn);
    }
    for (const pnn of input.forceRebalanceNodes ?? []) if (pnn < numNodes) candidate[pnn] = true;

    for (let again = true; again && list.some((e) => e.pnn === -1);) {
      again = false;
      let minNode = -1, minSum = 0, minImbl = 0;
      let minIp: Entry | undefined;
      for (const t of list) {
        if (t.pnn !== -1) continue;
        for (let dst = 0; dst < numNodes; dst++) {
          if (!canTake(dst, t)) continue;
          const s = sum2(t, list, dst);
          if (minNode === -1 || s < minSum) { minNode = dst; minSum = s; minImbl = u32(imbalance[dst] + s); minIp = t; again = true; }
        }
      }
      if (minIp) {
        minIp.pnn = minNode;
        imbalance[minNode] = minImbl;
        info.push(` ${minIp.ip} -> ${minNode} [+${i32(minSum)}]`);
      }
    }
    if (noFailback || !candidate.some(Boolean)) return;

    for (;;) {
      const order = [...imbalance.keys()].sort((a, b) => imbalance[b] - imbalance[a] || a - b);
      let moved = false;
      for (const src of order) {
        if (imbalance[src] === 0) break;
        let minIp: Entry | undefined, minSrc = 0, minDst = -1, minDstImbl = 0;
        for (const t of list) {
          if (t.pnn !== src) continue;
          const srcSum = sum2(t, list, src);
          const srcImbl = u32(imbalance[src] - srcSum);
          for (let dst = 0; dst < numNodes; dst++) {
            if (!candidate[dst] || !canTake(dst, t)) continue;
            const dstSum = sum2(t, list, dst);
            const dstImbl = u32(imbalance[dst] + dstSum);
            if (dstImbl < imbalance[src] && dstSum < srcSum && (minDst === -1 || u32(srcImbl + dstImbl) < u32(minSrc + minDstImbl))) {
              minIp = t; minSrc = srcImbl; minDst = dst; minDstImbl = dstImbl;
            }
          }
        }
        if (minIp) {
          info.push(`${src} [${i32(minSrc - imbalance[src])}] -> ${minIp.ip} -> ${minDst} [+${i32(minDstImbl - imbalance[minDst])}]`);
          imbalance[src] = minSrc;
          imbalance[minDst] = minDstImbl;
          minIp.pnn = minDst;
          moved = true;
          break;
        }
      }
      if (!moved) return;
    }
  }
}

function parse(ip: string): { family: number; words: number[] } {
  const v4 = parseIpv4(ip);
  const bytes = v4 ? new Uint8Array([...new Array(12).fill(0), ...v4]) : parseIpv6(ip);
  if (!bytes) throw new Error(`bad address ${ip}`);
  const words = [0, 4, 8, 12].map((o) => u32((bytes[o] << 24) | (bytes[o + 1] << 16) | (bytes[o + 2] << 8) | bytes[o + 3]));
  return { family: v4 ? 4 : 6, words };
}
