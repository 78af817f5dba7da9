// Records helper-cases/*.txt: IPv6 and mixed-family allocation cases with the placements Debian's
// ctdb_takeover_helper 4.17.12 chooses, run against compat-tests' scripted ctdbd. The list order written is
// ours, checked here against the order in which the helper sends TAKEOVER_IP.
//
//   node scripts/bin/run-ts.mjs components/failoverd/allocation/testing/record-helper-cases.ts

import { writeFileSync } from 'node:fs';
import { Control } from '../../../../legacy/protocol/controls.ts';
import { NodeFlag } from '../../../../legacy/protocol/constants.ts';
import { canonicalIp } from '../../../../compat-tests/support/scripted-ctdbd.ts';
import { debianHelper, runHelper } from '../../../../compat-tests/support/takeover-helper-runner.ts';
import { allocate } from '../index.ts';
import { parseSambaCase, stepInput } from './samba-cases.ts';

interface CaseDefinition { file: string; title: string; algorithm: string; nodes: string; noIpTakeover?: boolean; input: string[] }

const a = (n: number) => `fd00:10:20:30::${(0x100 + n).toString(16)}`;
const b = (n: number) => `fd00:10:20:31::${(0x100 + n).toString(16)}`;
const c = (n: number) => `2001:db8:0:${(0xa0 + n).toString(16)}::1`;

const DEFINITIONS: CaseDefinition[] = [
  { file: 'ipv6.001', title: 'IPv6: 3 nodes, 12 addresses in 2 prefixes, all unassigned -> all healthy', algorithm: 'lcp2', nodes: '0,0,0',
    input: [...[1, 2, 3, 4, 5, 6].map((n) => `${a(n)} -1`), ...[1, 2, 3, 4, 5, 6].map((n) => `${b(n)} -1`)] },
  { file: 'ipv6.002', title: 'IPv6: all addresses on node 0, nodes 1 and 2 become healthy', algorithm: 'lcp2', nodes: '0,0,0',
    input: [...[1, 2, 3, 4, 5].map((n) => `${a(n)} 0`), ...[1, 2, 3, 4].map((n) => `${c(n)} 0`)] },
  { file: 'ipv6.003', title: 'IPv4 and IPv6 mixed, 4 nodes, node 1 unhealthy', algorithm: 'lcp2', nodes: '0,2,0,0',
    input: ['10.0.1.1 0', '10.0.1.2 1', '10.0.1.3 1', '10.0.2.1 0', `${a(1)} 1`, `${a(2)} 1`, `${b(1)} 0`, `${c(1)} 1`, `${c(2)} 0`,
      '::ffff:10.0.1.1 1', '::ffff:10.0.1.9 -1'] },
  { file: 'ipv6.004', title: 'IPv6: 2 disjoint groups of nodes/addresses, node 3 stopped', algorithm: 'lcp2', nodes: '0,0,0,0x20',
    input: [`${a(1)} 0 0,1`, `${a(2)} 0 0,1`, `${a(3)} 0 0,1`, `${c(1)} 2 2,3`, `${c(2)} 3 2,3`, `${c(3)} 3 2,3`] },
  { file: 'ipv6.005', title: 'IPv4 and IPv6 mixed, deterministic, 3 nodes, node 2 banned', algorithm: 'deterministic', nodes: '0,0,8',
    input: ['10.0.1.1 2', '10.0.1.2 1', `${a(1)} 0`, `${a(2)} 2`, `${c(1)} -1`, `${c(2)} 1`, '192.168.1.1 0'] },
  { file: 'ipv6.006', title: 'IPv4 and IPv6 mixed, non-deterministic, 3 nodes, all on node 1', algorithm: 'nondeterministic', nodes: '0,0,0',
    input: ['10.0.1.1 1', '10.0.1.2 1', `${a(1)} 1`, `${a(2)} 1`, `${c(1)} 1`, `${c(2)} 1`, '192.168.1.1 1'] },
  { file: 'ipv6.007', title: 'IPv6 with NoIPTakeover: nodes keep what they have, unassigned stay so', algorithm: 'lcp2', nodes: '0,0,2',
    noIpTakeover: true, input: [`${a(1)} 0`, `${a(2)} 0`, `${a(3)} 0`, `${a(4)} 2`, `${c(1)} -1`] },
  // Node 0's imbalance (~5e9) passes 2^32: ctdbd's uint32 sums wrap, and LCP2 stops moving after 71 addresses each.
  { file: 'ipv6.008', title: 'IPv6: 1100 addresses of one /64 on node 0, 2 empty nodes: LCP2 sums wrap at 2^32', algorithm: 'lcp2',
    nodes: '0,0,0', input: Array.from({ length: 1100 }, (_, i) => `fd00:1:2:3::${((i * 2654435761) >>> 16).toString(16)}:${i.toString(16)} 0`) },
];

const HEADER = "# Expected output produced by Debian's ctdb 4.17.12 ctdb_takeover_helper (real peer) run against compat-tests' "
  + "scripted ctdbd; lines in ctdb's merged order (as the helper sends TAKEOVER_IP).";

for (const d of DEFINITIONS) {
  const head = [`title: ${d.title}`, `algorithm: ${d.algorithm}`, 'loglevel: ERR', ...(d.noIpTakeover ? ['NoIPTakeover: 1'] : []), '',
    `nodes: ${d.nodes}`, 'input:', ...d.input];
  const parsed = parseSambaCase(d.file, [...head, 'expected:', 'end', ''].join('\n'));
  const input = stepInput(parsed, parsed.steps[0]);
  const local = input.nodes.find((n) => (n.flags & NodeFlag.DISCONNECTED) === 0);
  if (!local) throw new Error(`${d.file}: no connected node to run the helper on`);
  const run = await runHelper(debianHelper(), { input, localPnn: local.pnn });
  if (run.status !== 0 || run.problems.length > 0) throw new Error(`${d.file}: helper status ${run.status}: ${run.problems.join('; ')}`);
  const order = allocate(input).map((p) => p.ip);
  const assigned = order.map(canonicalIp).filter((ip) => (run.placement.get(ip) ?? -1) !== -1);
  const sent = run.controls.filter((x) => x.opcode === Control.TAKEOVER_IP && x.ip !== undefined).map((x) => x.ip);
  if (JSON.stringify(sent) !== JSON.stringify(assigned)) throw new Error(`${d.file}: helper order ${sent} differs from ours ${assigned}`);
  const expected = order.map((ip) => `${ip} ${run.placement.get(canonicalIp(ip)) ?? -1}`);
  const file = new URL(`../helper-cases/${d.file}.txt`, import.meta.url);
  writeFileSync(file, [HEADER, ...head, 'expected:', ...expected, 'end', ''].join('\n'));
  console.log(`${d.file}: ${expected.join(', ')}`);
}
