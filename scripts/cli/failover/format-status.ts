// `ctdb-bridge failover status` in the style of `ctdb ip`: one line per
// public address with its host and the deciding failoverd's plan.

import type { FailoverStatus } from '../../../components/failoverd/status.ts';
import type { StepResult } from './operations.ts';
import { left } from '../legacy/text.ts';

const pnnText = (pnn: number) => (pnn < 0 ? '-1' : String(pnn));

export function formatFailoverStatus(s: FailoverStatus): string {
  let out = `Mode:${s.mode}\n`;
  out += `Decided by:${s.leader ?? 'NONE'} epoch:${s.epoch}\n`;
  if (s.takeoverLease) {
    out += s.takeoverLease.held
      ? `ctdbd takeover runs:HELD OFF on ${s.takeoverLease.nodes.join(',')} (renewed ${s.takeoverLease.renewedAgoMs} ms ago)\n`
      : 'ctdbd takeover runs:NOT YET HELD OFF\n';
  }
  out += `Drained:${s.drained.length > 0 ? s.drained.join(',') : 'none'}\n`;
  out += `Public IPs on ALL nodes\n`;
  for (const a of s.addresses) {
    const off = a.host === a.plan ? '' : ' (differs)';
    out += `${left(a.ip, 40)} host:${left(pnnText(a.host), 4)} plan:${pnnText(a.plan)}${off}\n`;
  }
  out += `Differences from ctdbd:${s.differences.current.length} now, ${s.differences.total} since start\n`;
  if (s.lastRun) {
    out += `Last takeover run:${new Date(s.lastRun.at).toISOString()} ${s.lastRun.durationMs} ms, moved ${s.lastRun.moved}`
      + `${s.lastRun.error ? `, failed: ${s.lastRun.error}` : ''} (${s.runs} runs)\n`;
  }
  return out;
}

export function formatStepResult(what: string, r: StepResult): string {
  const moves = r.moved.map((m) => `  ${m.ip}: ${pnnText(m.from)} -> ${pnnText(m.to)}\n`).join('');
  return `${what}: done, ${r.moved.length} address(es) moved\n${moves}`;
}
