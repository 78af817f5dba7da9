// What the CLI prints while it works: on a terminal one progress line per
// step ("step n/m, node, waiting for X, elapsed"); with --json one JSON event
// per line, for automation. Pure: events in, text out.

import { STAGE_NAMES, stageOf, type ClusterObservation, type Stage } from './stages.ts';
import { describeStep, type Plan, type Step } from './planner.ts';
import type { Check } from './preflight.ts';

export type UpgradeEvent =
  | { event: 'plan'; direction: string; target: Stage; steps: Step[]; checks: Check[] }
  | { event: 'refused'; checks: Check[] }
  | { event: 'step'; n: number; m: number; step: Step; waitingFor: string; elapsedMs: number }
  | { event: 'progress'; n: number; m: number; step: Step; line: string; elapsedMs: number }
  | { event: 'step-done'; n: number; m: number; step: Step; elapsedMs: number }
  | { event: 'step-failed'; n: number; m: number; step: Step; error: string; elapsedMs: number }
  | { event: 'undo'; n: number; m: number; step: Step; elapsedMs: number }
  | { event: 'undo-failed'; step: Step; error: string }
  | { event: 'done'; exitCode: number; result: 'done' | 'nothing to do' | 'refused' | 'rolled back' | 'undo failed'; elapsedMs: number };

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const where = (s: Step) => (s.node === null ? 'all nodes' : `node ${s.node}`);

/** One terminal line per event (null: nothing to print). */
export function formatEvent(e: UpgradeEvent): string | null {
  switch (e.event) {
    case 'plan': return null;
    case 'refused': return `refused by preflight:\n${e.checks.filter((c) => !c.ok).map((c) => `  ${c.id}: ${c.detail}`).join('\n')}`;
    case 'step': return `step ${e.n}/${e.m}, ${where(e.step)}, ${e.step.kind}: waiting for ${e.waitingFor}`;
    case 'progress': return `step ${e.n}/${e.m}, ${where(e.step)}, ${e.step.kind}: ${e.line}, ${secs(e.elapsedMs)}`;
    case 'step-done': return `step ${e.n}/${e.m}, ${where(e.step)}, ${e.step.kind}: done in ${secs(e.elapsedMs)}`;
    case 'step-failed': return `step ${e.n}/${e.m}, ${where(e.step)}, ${e.step.kind}: FAILED after ${secs(e.elapsedMs)}: ${e.error}`;
    case 'undo': return `undo ${e.n}/${e.m}, ${where(e.step)}, ${e.step.kind}: undone in ${secs(e.elapsedMs)}`;
    case 'undo-failed': return `undo of ${e.step.kind} (${where(e.step)}) FAILED: ${e.error}`;
    case 'done': return `${e.result} (exit ${e.exitCode}) in ${secs(e.elapsedMs)}`;
  }
}

export function formatJsonEvent(e: UpgradeEvent): string {
  return JSON.stringify(e);
}

export function formatPlan(p: Plan): string {
  const out = [`${p.direction} to stage ${p.target} (${STAGE_NAMES[p.target]}) for node(s) ${p.nodes.join(', ')}:`];
  if (p.steps.length === 0) out.push('  nothing to do');
  p.steps.forEach((s, i) => out.push(`  ${i + 1}. ${describeStep(s)}: waits for ${s.waitsFor}`));
  out.push('preflight:');
  for (const c of p.checks) out.push(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.id}: ${c.detail}`);
  return `${out.join('\n')}\n`;
}

/** `upgrade status`: one row per node, then the deciding failoverd and what blocks the next step. */
export function formatStatus(obs: ClusterObservation, next: Plan | null): string {
  const rows = [['PNN', 'STAGE', 'TRANSPORTD', 'CLUSTERD', 'FAILOVERD', 'UPLINK', 'VERSION', 'PROTO', 'CTDB FLAGS', 'HALF-DONE']];
  for (const n of obs.nodes) {
    const st = stageOf(n);
    rows.push([
      String(n.pnn), `${st.stage} ${STAGE_NAMES[st.stage]}`, n.services.transportd, n.services.clusterd,
      n.failoverdMode ? `${n.services.failoverd} ${n.failoverdMode}` : n.services.failoverd,
      n.uplink ?? '-', n.versions.ours ?? '-', n.versions.protocol?.join(',') ?? '-',
      n.ctdbFlags === null ? '?' : `0x${n.ctdbFlags.toString(16)}`, st.partial ?? '-',
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const out = rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
  const d = obs.deciding;
  out.push(d ? `deciding failoverd: node ${d.pnn}, ${d.mode}, shadow differences ${d.differences}, off plan ${d.offPlan.length > 0 ? d.offPlan.join(',') : 'none'}, takeover lease ${d.leaseHeld ? 'held' : 'not held'}`
    : 'deciding failoverd: none answers');
  out.push(`this CLI: ${obs.ours.software}, transport protocol ${obs.ours.protocol.join(',')}; asked through node ${obs.observer ?? '- (no transportd answers)'}`);
  for (const n of obs.nodes) for (const note of n.notes) out.push(`node ${n.pnn}: ${note}`);
  if (next === null) out.push('next step: none (every node in stage 4)');
  else if (next.steps.length === 0) out.push(`next step: none to stage ${next.target}`);
  else {
    out.push(`next step: advance --all --to ${next.target} (${next.steps.length} step(s))`);
    const blocked = next.checks.filter((c) => !c.ok);
    out.push(blocked.length === 0 ? 'blocked by: nothing' : `blocked by:\n${blocked.map((c) => `  ${c.id}: ${c.detail}`).join('\n')}`);
  }
  return `${out.join('\n')}\n`;
}
