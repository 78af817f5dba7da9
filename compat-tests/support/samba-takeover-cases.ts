import { RunState } from '../../legacy/protocol/constants.ts';
import type { TunableList } from '../../legacy/protocol/types/tunables.ts';
import { ALGORITHM_BY_TUNABLE, DEFAULT_ALLOCATION_TUNABLES, type NodeReport } from '../../components/failoverd/allocation/types.ts';
import type { CtdbdScript, ScriptedFailure } from './scripted-ctdbd.ts';
import type { HelperRunOptions } from './takeover-helper-runner.ts';

/**
 * Samba 4.17.12's own takeover_helper unit cases (ctdb/tests/UNIT/
 * takeover_helper/*.sh) as data: the fake ctdbd's stanzas (node flags,
 * PUBLICIPS, CONTROLFAILS), the `ctdb setvar`s, the helper's arguments and
 * environment, and what the cases require: the status the helper writes and
 * `ctdb ip all` afterwards. Every case has 3 nodes with node 0 as CURRENT
 * and all interfaces up. TakeoverTimeout is 1 here (Samba uses 2) so the
 * timeout cases wait 1-3 s; GET_ALL_TUNABLES still waits the helper's 9 s.
 */

export interface SambaTakeoverCase {
  id: string;
  title: string;
  /** Node flags by PNN. */
  flags: number[];
  /** PUBLICIPS lines: "<ip> <pnn> [<node>,<node>...]" (no node list: every node knows it). */
  publicIps?: string[];
  /** CONTROLFAILS lines: "<opcode> <pnn> ERROR|TIMEOUT". */
  controlFails?: string[];
  setvar?: Partial<TunableList>;
  failoverDisabled?: true;
  forceRebalance?: number[];
  /** The int32 the helper writes: 0, -1 (exit 255) or ETIMEDOUT (110). */
  status: number;
  /** `ctdb ip all` afterwards as "<ip> <pnn>" lines; absent where the case does not check it. */
  ipAll?: string[];
}

const ETIMEDOUT = 110;
const unassigned3 = ['10.0.0.31 -1', '10.0.0.32 -1', '10.0.0.33 -1'];
const unbalanced6 = ['10.0.0.31 0', '10.0.0.32 1', '10.0.0.33 2', '10.0.0.34 2', '10.0.0.35 2', '10.0.0.36 2'];
const onNodes02 = ['10.0.0.31 -1 0,2', '10.0.0.32 -1 0,2', '10.0.0.33 -1 0,2', '10.0.0.34 -1 0,2'];
const allOnNode1 = ['10.0.0.31 1', '10.0.0.32 1', '10.0.0.33 1'];
const ipAll = (...pnns: number[]) => pnns.map((p, i) => `10.0.0.${31 + i} ${p}`);

export const SAMBA_TAKEOVER_CASES: SambaTakeoverCase[] = [
  { id: '000', title: '3 nodes, all ok, no IPs', flags: [0, 0, 0], status: 0, ipAll: [] },
  { id: '010', title: '3 nodes, all ok, IPs all unassigned', flags: [0, 0, 0], publicIps: unassigned3, status: 0, ipAll: ipAll(2, 1, 0) },
  { id: '011', title: '3 nodes, 1 ok, IPs all unassigned', flags: [2, 2, 0], publicIps: unassigned3, status: 0, ipAll: ipAll(2, 2, 2) },
  { id: '012', title: '3 nodes, all ok, 1 IP unassigned', flags: [0, 0, 0], publicIps: ['10.0.0.31 -1', '10.0.0.32 2', '10.0.0.33 1'],
    status: 0, ipAll: ipAll(0, 2, 1) },
  { id: '013', title: '3 nodes, 1 unhealthy, IPs all assigned', flags: [0, 0, 2], publicIps: ['10.0.0.31 0', '10.0.0.32 2', '10.0.0.33 1'],
    status: 0, ipAll: ipAll(0, 0, 1) },
  { id: '014', title: '3 nodes, all unhealthy, all IPs assigned', flags: [2, 2, 2],
    publicIps: ['10.0.0.31 0', '10.0.0.32 2', '10.0.0.33 1'], status: 0, ipAll: ipAll(-1, -1, -1) },
  { id: '016', title: '3 nodes, all healthy, IPs all unassigned, IP failover disabled', flags: [0, 0, 0], publicIps: unassigned3,
    failoverDisabled: true, status: 0, ipAll: ipAll(-1, -1, -1) },
  { id: '017', title: '3 nodes, all healthy, IPs unbalanced, NoIPFailback', flags: [0, 0, 0],
    publicIps: ['10.0.0.31 0', '10.0.0.32 1', '10.0.0.33 1'], setvar: { NoIPFailback: 1 }, status: 0, ipAll: ipAll(0, 1, 1) },
  { id: '018', title: '3 nodes, all healthy, IPs unbalanced', flags: [0, 0, 0],
    publicIps: ['10.0.0.31 0', '10.0.0.32 1', '10.0.0.33 1'], status: 0, ipAll: ipAll(0, 1, 2) },
  { id: '019', title: '3 nodes, 1 node unhealthy, IPs all assigned, NoIPTakeover', flags: [0, 2, 0],
    publicIps: ['10.0.0.31 0', '10.0.0.32 1', '10.0.0.33 2'], setvar: { NoIPTakeover: 1 }, status: 0, ipAll: ipAll(0, -1, 2) },
  { id: '021', title: '3 nodes, all healthy, IPs all assigned', flags: [0, 0, 0],
    publicIps: ['10.0.0.31 0', '10.0.0.32 1', '10.0.0.33 2', '10.0.0.34 -1'], setvar: { NoIPTakeover: 1 }, status: 0,
    ipAll: ipAll(0, 1, 2, -1) },
  { id: '022', title: '3 nodes, all healthy, IPs very unbalanced, no force rebalance', flags: [0, 0, 0], publicIps: unbalanced6,
    status: 0, ipAll: ipAll(0, 1, 2, 2, 2, 2) },
  { id: '023', title: '3 nodes, all healthy, IPs very unbalanced, force rebalance 1', flags: [0, 0, 0], publicIps: unbalanced6,
    forceRebalance: [1], status: 0, ipAll: ipAll(0, 1, 2, 2, 1, 2) },
  { id: '024', title: '3 nodes, all healthy, IPs very unbalanced, force rebalance all', flags: [0, 0, 0], publicIps: unbalanced6,
    forceRebalance: [1, 0, 2], status: 0, ipAll: ipAll(0, 1, 2, 2, 0, 1) },
  { id: '025', title: '3 nodes, all ok, IPs all assigned randomly, deterministic IPs', flags: [0, 0, 0],
    publicIps: ['10.0.0.31 1', '10.0.0.32 0', '10.0.0.33 2'], setvar: { IPAllocAlgorithm: 0 }, status: 0, ipAll: ipAll(2, 1, 0) },
  { id: '026', title: '3 nodes, all ok, IPs assigned, unbalanced, non-deterministic IPs', flags: [0, 0, 0],
    publicIps: ['10.0.0.31 0', '10.0.0.32 1', '10.0.0.33 2', '10.0.0.34 2', '10.0.0.35 2'], setvar: { IPAllocAlgorithm: 1 },
    status: 0, ipAll: ipAll(0, 1, 2, 2, 0) },
  { id: '027', title: '3 nodes, 2 banned, IPs all unassigned', flags: [0, 8, 8], publicIps: unassigned3, status: 0, ipAll: ipAll(0, 0, 0) },
  { id: '028', title: '3 nodes, 2 disconnected, IPs all unassigned', flags: [0, 1, 1], publicIps: unassigned3, status: 0,
    ipAll: ipAll(0, 0, 0) },
  { id: '030', title: '3 nodes, all ok, IPs defined on 2, IPs all unassigned', flags: [0, 0, 0], publicIps: onNodes02, status: 0,
    ipAll: ipAll(0, 2, 2, 0) },
  { id: '031', title: '3 nodes, all ok, IPs defined on 2, IPs all unassigned (INFO)', flags: [0, 0, 0], publicIps: onNodes02, status: 0,
    ipAll: ipAll(0, 2, 2, 0) },
  { id: '110', title: '3 nodes, all ok, no IPs, IPREALLOCATED error', flags: [0, 0, 0], controlFails: ['137 1 ERROR'], status: -1, ipAll: [] },
  { id: '111', title: '3 nodes, all ok, IPs all unassigned, IPREALLOCATED error', flags: [0, 0, 0], publicIps: unassigned3,
    controlFails: ['137 1 ERROR'], status: -1, ipAll: ipAll(2, 1, 0) },
  { id: '120', title: '3 nodes, all ok, IPs all unassigned, TAKEOVER_IP error', flags: [0, 0, 0], publicIps: unassigned3,
    controlFails: ['89 1 ERROR'], status: -1, ipAll: ipAll(2, -1, 0) },
  { id: '121', title: '3 nodes, all ok, 2/3 IPs assigned, TAKEOVER_IP error (redundant)', flags: [0, 0, 0],
    publicIps: ['10.0.0.31 2', '10.0.0.32 1', '10.0.0.33 -1'], controlFails: ['89 1 ERROR'], status: -1, ipAll: ipAll(2, 1, 0) },
  { id: '122', title: '3 nodes, all ok, 2/3 IPs assigned, TAKEOVER_IP error (target)', flags: [0, 0, 0],
    publicIps: ['10.0.0.31 2', '10.0.0.32 1', '10.0.0.33 -1'], controlFails: ['89 0 ERROR'], status: -1, ipAll: ipAll(2, 1, -1) },
  { id: '130', title: '3 nodes, all ok, IPs all unassigned, RELEASE_IP error', flags: [0, 0, 0], publicIps: unassigned3,
    controlFails: ['88 2 ERROR'], status: -1, ipAll: ipAll(-1, -1, -1) },
  { id: '131', title: '3 nodes, all ok, all IPs assigned, RELEASE_IP error (redundant)', flags: [0, 2, 0],
    publicIps: ['10.0.0.31 0', '10.0.0.32 1', '10.0.0.33 2'], controlFails: ['88 0 ERROR'], status: -1, ipAll: ipAll(0, -1, 2) },
  { id: '132', title: '3 nodes, all ok, all IPs assigned, RELEASE_IP error (target)', flags: [0, 2, 0],
    publicIps: ['10.0.0.31 0', '10.0.0.32 1', '10.0.0.33 2'], controlFails: ['88 1 ERROR'], status: -1, ipAll: ipAll(0, 1, 2) },
  { id: '140', title: '3 nodes, all ok, GET_PUBLIC_IPS error', flags: [0, 0, 0], publicIps: allOnNode1, controlFails: ['90 2 ERROR'], status: -1 },
  { id: '150', title: '3 nodes, all ok, GET_NODEMAP error', flags: [0, 0, 0], publicIps: allOnNode1, controlFails: ['91 0 ERROR'], status: -1 },
  { id: '160', title: '3 nodes, all ok, GET_ALL_TUNABLES error', flags: [0, 0, 0], publicIps: allOnNode1, controlFails: ['53 0 ERROR'], status: -1 },
  { id: '210', title: '3 nodes, all ok, no IPs, IPREALLOCATED timeout', flags: [0, 0, 0], controlFails: ['137 1 TIMEOUT'], status: ETIMEDOUT,
    ipAll: [] },
  { id: '211', title: '3 nodes, all ok, IPs all unassigned, IPREALLOCATED timeout', flags: [0, 0, 0], publicIps: unassigned3,
    controlFails: ['137 1 TIMEOUT'], status: ETIMEDOUT, ipAll: ipAll(2, 1, 0) },
  { id: '220', title: '3 nodes, all ok, IPs all unassigned, TAKEOVER_IP timeout', flags: [0, 0, 0], publicIps: unassigned3,
    controlFails: ['89 1 TIMEOUT'], status: ETIMEDOUT, ipAll: ipAll(2, -1, 0) },
  { id: '230', title: '3 nodes, all ok, IPs all unassigned, RELEASE_IP timeout', flags: [0, 0, 0], publicIps: unassigned3,
    controlFails: ['88 2 TIMEOUT'], status: ETIMEDOUT, ipAll: ipAll(-1, -1, -1) },
  { id: '240', title: '3 nodes, all ok, GET_PUBLIC_IPS timeout', flags: [0, 0, 0], publicIps: allOnNode1, controlFails: ['90 2 TIMEOUT'],
    status: ETIMEDOUT },
  { id: '250', title: '3 nodes, all ok, GET_NODEMAP timeout', flags: [0, 0, 0], publicIps: allOnNode1, controlFails: ['91 0 TIMEOUT'],
    status: ETIMEDOUT },
  { id: '260', title: '3 nodes, all ok, GET_ALL_TUNABLES timeout', flags: [0, 0, 0], publicIps: allOnNode1, controlFails: ['53 0 TIMEOUT'],
    status: ETIMEDOUT },
];

/** The scripted daemon and helper options a case describes. */
export function sambaCaseScript(c: SambaTakeoverCase): { script: CtdbdScript; run: HelperRunOptions } {
  const nodes: NodeReport[] = c.flags.map((flags, pnn) => ({ pnn, flags, runstate: RunState.RUNNING, ips: [] }));
  for (const line of c.publicIps ?? []) {
    const [ip, owner, on] = line.split(/\s+/);
    const knownOn = on ? on.split(',').map(Number) : nodes.map((n) => n.pnn);
    for (const pnn of knownOn) nodes[pnn].ips.push({ ip, pnn: Number(owner), available: true });
  }
  const failures: ScriptedFailure[] = (c.controlFails ?? []).map((line) => {
    const [opcode, pnn, kind] = line.split(/\s+/);
    return { opcode: Number(opcode), pnn: Number(pnn), kind: kind === 'TIMEOUT' ? 'timeout' : 'error', status: -1 };
  });
  return {
    script: {
      input: {
        algorithm: ALGORITHM_BY_TUNABLE[c.setvar?.IPAllocAlgorithm ?? 2],
        tunables: { ...DEFAULT_ALLOCATION_TUNABLES, NoIPFailback: c.setvar?.NoIPFailback ?? 0, NoIPTakeover: c.setvar?.NoIPTakeover ?? 0 },
        nodes,
        ...(c.forceRebalance ? { forceRebalanceNodes: c.forceRebalance } : {}),
      },
      localPnn: 0,
      tunables: { TakeoverTimeout: 1, ...c.setvar },
      failures,
    },
    run: { forceRebalanceNodes: c.forceRebalance, failoverDisabled: c.failoverDisabled, timeoutMs: 30_000 },
  };
}

/** "ip pnn" lines -> map. */
export function ipAllMap(lines: string[]): Map<string, number> {
  return new Map(lines.map((l) => {
    const [ip, pnn] = l.split(' ');
    return [ip, Number(pnn)];
  }));
}

