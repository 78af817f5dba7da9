import { RunState } from '../../../legacy/protocol/constants.ts';
import { formatIpv6, parseIpv4, parseIpv6 } from '../../../legacy/protocol/types/sock-addr.ts';
import {
  DEFAULT_ALLOCATION_TUNABLES, type AllocationAlgorithm, type AllocationInput, type AllocationTunables, type NodeReport,
  type ReportedAddress,
} from '../../../components/failoverd/allocation/types.ts';

/**
 * The JSON `ctdb-bridge failover allocate` reads, checked and turned into an
 * AllocationInput (pure, no I/O). Defaults: algorithm lcp2, tunables 0,
 * flags 0, runstate RUNNING (5), ips none, available true. Addresses are
 * rewritten in inet_ntop spelling (what ctdbd reports). Nodes may come in
 * any order but must be PNNs 0..N-1, as in ctdbd's node map (which lists
 * deleted nodes too, flagged DELETED); the result lists them by PNN.
 */

const ALGORITHMS: readonly AllocationAlgorithm[] = ['lcp2', 'deterministic', 'nondeterministic'];
const TUNABLES = Object.keys(DEFAULT_ALLOCATION_TUNABLES) as Array<keyof AllocationTunables>;
const UINT32_MAX = 0xffffffff;

/** The input is not usable; `path` says where (`$.nodes[2].ips[0].ip`), `reason` what is wrong. */
export class AllocationJsonError extends Error {
  override name = 'AllocationJsonError';
  constructor(readonly path: string, readonly reason: string) {
    super(`${path}: ${reason}`);
  }
}

/** Text (a file, stdin) -> AllocationInput; a JSON syntax error is reported at `$`. */
export function parseAllocationInputText(text: string): AllocationInput {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new AllocationJsonError('$', `not JSON: ${(err as Error).message}`);
  }
  return parseAllocationInput(value);
}

export function parseAllocationInput(value: unknown): AllocationInput {
  const top = object(value, '$', ['algorithm', 'tunables', 'nodes', 'forceRebalanceNodes']);
  const algorithm = top.algorithm === undefined ? 'lcp2' : algorithmOf(top.algorithm, '$.algorithm');
  const tunables = tunablesOf(top.tunables, '$.tunables');
  const nodes = nodesOf(top.nodes, '$.nodes');
  const input: AllocationInput = { algorithm, tunables, nodes };
  if (top.forceRebalanceNodes !== undefined) {
    input.forceRebalanceNodes = forceRebalanceOf(top.forceRebalanceNodes, '$.forceRebalanceNodes', nodes.length);
  }
  return input;
}

/** The address in inet_ntop spelling, or undefined when `text` is not an IPv4/IPv6 address. */
export function canonicalAddress(text: string): string | undefined {
  const v4 = parseIpv4(text);
  if (v4) return v4.join('.');
  const v6 = text.includes(':') ? parseIpv6(text) : undefined;
  return v6 ? formatIpv6(v6, 0) : undefined;
}

function object(value: unknown, path: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AllocationJsonError(path, `expected an object, got ${kind(value)}`);
  }
  for (const key of Object.keys(value)) {
    // Unknown keys are refused: a misspelt one would otherwise be ignored in silence.
    if (!keys.includes(key)) throw new AllocationJsonError(`${path}.${key}`, `unknown field (expected one of ${keys.join(', ')})`);
  }
  return value as Record<string, unknown>;
}

function array(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw new AllocationJsonError(path, `expected an array, got ${kind(value)}`);
  return value;
}

function integer(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new AllocationJsonError(path, `expected an integer, got ${kind(value)}`);
  }
  if (value < min || value > max) throw new AllocationJsonError(path, `${value} is out of range ${min}..${max}`);
  return value;
}

function kind(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (typeof value === 'number') return `the number ${value}`;
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function algorithmOf(value: unknown, path: string): AllocationAlgorithm {
  if (typeof value !== 'string' || !ALGORITHMS.includes(value as AllocationAlgorithm)) {
    throw new AllocationJsonError(path, `unknown algorithm ${kind(value)} (expected ${ALGORITHMS.join(', ')})`);
  }
  return value as AllocationAlgorithm;
}

function tunablesOf(value: unknown, path: string): AllocationTunables {
  const out: AllocationTunables = { ...DEFAULT_ALLOCATION_TUNABLES };
  if (value === undefined) return out;
  const given = object(value, path, TUNABLES);
  for (const name of TUNABLES) {
    if (given[name] !== undefined) out[name] = integer(given[name], `${path}.${name}`, 0, UINT32_MAX);
  }
  return out;
}

function nodesOf(value: unknown, path: string): NodeReport[] {
  const list = array(value, path);
  if (list.length === 0) throw new AllocationJsonError(path, 'no node (a node map has at least one)');
  const byPnn = new Map<number, NodeReport>();
  list.forEach((v, i) => {
    const at = `${path}[${i}]`;
    const n = object(v, at, ['pnn', 'flags', 'runstate', 'ips']);
    if (n.pnn === undefined) throw new AllocationJsonError(`${at}.pnn`, 'missing');
    if (typeof n.pnn === 'number' && Number.isInteger(n.pnn) && n.pnn < 0) {
      throw new AllocationJsonError(`${at}.pnn`, `negative PNN ${n.pnn}`);
    }
    const pnn = integer(n.pnn, `${at}.pnn`, 0, UINT32_MAX);
    if (pnn >= list.length) {
      throw new AllocationJsonError(`${at}.pnn`, `PNN ${pnn} with ${list.length} node(s): a node map has PNNs 0..${list.length - 1}`);
    }
    if (byPnn.has(pnn)) throw new AllocationJsonError(`${at}.pnn`, `duplicate PNN ${pnn}`);
    byPnn.set(pnn, {
      pnn,
      flags: n.flags === undefined ? 0 : integer(n.flags, `${at}.flags`, 0, UINT32_MAX),
      runstate: n.runstate === undefined ? RunState.RUNNING : integer(n.runstate, `${at}.runstate`, 0, RunState.SHUTDOWN),
      ips: n.ips === undefined ? [] : ipsOf(n.ips, `${at}.ips`, list.length),
    });
  });
  // PNNs are unique and within 0..N-1, so every one is present.
  return [...byPnn.values()].sort((a, b) => a.pnn - b.pnn);
}

function ipsOf(value: unknown, path: string, nodeCount: number): ReportedAddress[] {
  const seen = new Set<string>();
  return array(value, path).map((v, i) => {
    const at = `${path}[${i}]`;
    const a = object(v, at, ['ip', 'pnn', 'available']);
    if (typeof a.ip !== 'string') throw new AllocationJsonError(`${at}.ip`, `expected an address, got ${kind(a.ip)}`);
    const ip = canonicalAddress(a.ip);
    if (ip === undefined) throw new AllocationJsonError(`${at}.ip`, `bad ip ${JSON.stringify(a.ip)} (expected IPv4 or IPv6)`);
    if (seen.has(ip)) throw new AllocationJsonError(`${at}.ip`, `duplicate address ${ip} on this node`);
    seen.add(ip);
    const pnn = a.pnn === undefined ? -1 : integer(a.pnn, `${at}.pnn`, -1, UINT32_MAX);
    if (pnn >= nodeCount) throw new AllocationJsonError(`${at}.pnn`, `owner ${pnn} is not a node (expected -1 or 0..${nodeCount - 1})`);
    if (a.available !== undefined && typeof a.available !== 'boolean') {
      throw new AllocationJsonError(`${at}.available`, `expected true or false, got ${kind(a.available)}`);
    }
    return { ip, pnn, available: a.available ?? true };
  });
}

function forceRebalanceOf(value: unknown, path: string, nodeCount: number): number[] {
  return array(value, path).map((v, i) => integer(v, `${path}[${i}]`, 0, nodeCount - 1));
}
