import { NodeFlag, RunState } from '../../../legacy/protocol/constants.ts';
import { addressKey, compareKeys, type AddressKey } from './address-key.ts';
import { AllocationInputError } from './errors.ts';
import type { AllocationInput, NodeReport } from './types.ts';

/** One address of ctdb's merged list, with the nodes that know it and may host it. */
export interface KnownAddress {
  ip: string;
  /** The current owner as the merge decides it; -1 when none. */
  owner: number;
  knownOn: number[];
  availableOn: number[];
}

/**
 * The merged list as the algorithms read it: ctdbd's order (largest key
 * first), with per-(address, node) bitmaps indexed address * numNodes + pnn.
 */
export interface MergedAddresses {
  numNodes: number;
  ips: string[];
  owners: Int32Array;
  /** Four key words per address (LCP2's distances). */
  words: Uint32Array;
  known: Uint8Array;
  available: Uint8Array;
}

export interface MergeOptions {
  /**
   * Take disconnected nodes' lists too, as Samba's ctdb_takeover_tests tool
   * does (the helper never asks them). For replaying Samba's unit cases.
   */
  knownFromDisconnected?: boolean;
}

/**
 * Builds the merged list as ctdb_takeover_helper and ipalloc.c do:
 * - known addresses come from connected nodes only (the helper asks no
 *   others); available ones only from active nodes, and a node answers
 *   "available" only while RUNNING and neither inactive nor disabled
 *   (ctdbd's ctdb_vnn_available), so those flags are applied here too;
 * - a node's word about an owner counts only when it names itself; when
 *   several do, the highest PNN wins (later tree insertions replace earlier
 *   ones, keeping the old owner when the new entry has none);
 * - addresses with the same key merge (IPv4 a.b.c.d and IPv6 ::a.b.c.d
 *   too, keeping the last spelling), and the list runs from the largest key
 *   down (the tree's in-order walk, each entry pushed on the front).
 */
export function mergeAddresses(input: AllocationInput, opts: MergeOptions = {}): MergedAddresses {
  const byPnn = nodesByPnn(input.nodes);
  const isAsked = opts.knownFromDisconnected ? () => true : isConnected;
  const numNodes = byPnn.length;
  // Spellings parsed once; every node usually reports the same strings.
  const spellings = new Map<string, { key: AddressKey; entry: TreeEntry }>();
  const tree = new Map<string, TreeEntry>();
  for (let pnn = 0; pnn < numNodes; pnn++) {
    const node = byPnn[pnn];
    if (!node || !isAsked(node)) continue;
    for (const reported of node.ips) {
      let spelling = spellings.get(reported.ip);
      if (!spelling) {
        const key = addressKey(reported.ip);
        let entry = tree.get(key.key);
        if (!entry) tree.set(key.key, entry = { ip: reported.ip, key, owner: -1, index: -1 });
        spellings.set(reported.ip, spelling = { key, entry });
      }
      // A later insertion replaces the entry, inheriting the owner when it names none.
      const { entry } = spelling;
      entry.ip = reported.ip;
      entry.key = spelling.key;
      if (reported.pnn === pnn) entry.owner = pnn;
    }
  }
  const entries = [...tree.values()].sort((a, b) => compareKeys(b.key, a.key));

  const count = entries.length;
  const owners = new Int32Array(count);
  const words = new Uint32Array(count * 4);
  entries.forEach((e, i) => {
    e.index = i;
    owners[i] = e.owner;
    words.set(e.key.words, i * 4);
  });

  const known = new Uint8Array(count * numNodes);
  const available = new Uint8Array(count * numNodes);
  for (let pnn = 0; pnn < numNodes; pnn++) {
    const node = byPnn[pnn];
    if (!node || !isAsked(node)) continue;
    const mayHost = canHostAny(node);
    for (const reported of node.ips) {
      const { key, entry } = spellings.get(reported.ip)!;
      if (key.identity !== entry.key.identity) continue; // same key, other family: a different address to ctdb
      const at = entry.index * numNodes + pnn;
      known[at] = 1;
      if (mayHost && reported.available) available[at] = 1;
    }
  }
  return { numNodes, ips: entries.map((e) => e.ip), owners, words, known, available };
}

interface TreeEntry {
  ip: string;
  key: AddressKey;
  owner: number;
  /** Position in the merged list, once sorted. */
  index: number;
}

/** The merged list as plain objects (callers outside the algorithms). */
export function knownAddresses(m: MergedAddresses): KnownAddress[] {
  return m.ips.map((ip, i) => {
    const knownOn: number[] = [];
    const availableOn: number[] = [];
    for (let pnn = 0; pnn < m.numNodes; pnn++) {
      if (m.known[i * m.numNodes + pnn]) knownOn.push(pnn);
      if (m.available[i * m.numNodes + pnn]) availableOn.push(pnn);
    }
    return { ip, owner: m.owners[i], knownOn, availableOn };
  });
}

/**
 * ipalloc_can_host_ips: false only when no node knows an address, or none
 * is hosted and no node has one available. The helper then allocates
 * nothing (straight to IPREALLOCATED).
 */
export function canHostIps(m: MergedAddresses): boolean {
  if (m.owners.some((o) => o !== -1)) return true;
  return m.available.includes(1);
}

function isConnected(node: NodeReport): boolean {
  return (node.flags & NodeFlag.DISCONNECTED) === 0;
}

/** ctdb_vnn_available's node part (the interface part is the node's own `available`). */
function canHostAny(node: NodeReport): boolean {
  return node.runstate === RunState.RUNNING && (node.flags & (NodeFlag.INACTIVE | NodeFlag.DISABLED)) === 0;
}

/** Far above any real cluster; keeps a stray PNN from sizing arrays by billions. */
const MAX_PNN = 0xffff;

/** Node reports indexed by PNN; the node count is the highest PNN + 1 (ctdbd's node map numbers them 0..n-1). */
function nodesByPnn(nodes: readonly NodeReport[]): Array<NodeReport | undefined> {
  const byPnn: Array<NodeReport | undefined> = [];
  for (const node of nodes) {
    if (!Number.isInteger(node.pnn) || node.pnn < 0 || node.pnn > MAX_PNN) {
      throw new AllocationInputError(`node PNN must be an integer 0..${MAX_PNN}, got ${String(node.pnn)}`);
    }
    if (byPnn[node.pnn]) throw new AllocationInputError(`node ${node.pnn} is reported twice`);
    byPnn[node.pnn] = node;
  }
  return byPnn;
}
