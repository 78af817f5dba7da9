// Runs a plan step by step: refused plans touch nothing (exit 2); a failed
// step undoes this run's steps in reverse, the failed one first (exit 3, or
// 4 when an undo fails too). Every step and undo is idempotent, so a rerun
// after a crash plans from what the cluster shows and finishes or undoes.

import { UNDO, type Plan, type Step } from './planner.ts';
import type { UpgradeEvent } from './format.ts';

export const EXIT = { done: 0, usage: 1, refused: 2, rolledBack: 3, undoFailed: 4 } as const;

export interface StepRunner {
  run(step: Step, progress: (line: string) => void): Promise<void>;
}

export function undoOf(s: Step): Step {
  return { ...s, kind: UNDO[s.kind], from: s.to, to: s.from };
}

export async function execute(plan: Plan, runner: StepRunner, emit: (e: UpgradeEvent) => void, now: () => number = Date.now): Promise<number> {
  const started = now();
  emit({ event: 'plan', direction: plan.direction, target: plan.target, steps: plan.steps, checks: plan.checks });
  const done = (exitCode: number, result: Extract<UpgradeEvent, { event: 'done' }>['result']) => {
    emit({ event: 'done', exitCode, result, elapsedMs: now() - started });
    return exitCode;
  };
  if (!plan.ok) {
    emit({ event: 'refused', checks: plan.checks });
    return done(EXIT.refused, 'refused');
  }
  if (plan.steps.length === 0) return done(EXIT.done, 'nothing to do');
  const m = plan.steps.length;
  for (let i = 0; i < m; i++) {
    const step = plan.steps[i];
    const t0 = now();
    emit({ event: 'step', n: i + 1, m, step, waitingFor: step.waitsFor, elapsedMs: 0 });
    try {
      await runner.run(step, (line) => emit({ event: 'progress', n: i + 1, m, step, line, elapsedMs: now() - t0 }));
      emit({ event: 'step-done', n: i + 1, m, step, elapsedMs: now() - t0 });
    } catch (err) {
      emit({ event: 'step-failed', n: i + 1, m, step, error: (err as Error).message, elapsedMs: now() - t0 });
      for (let j = i; j >= 0; j--) {
        const undo = undoOf(plan.steps[j]);
        const u0 = now();
        try {
          await runner.run(undo, (line) => emit({ event: 'progress', n: j + 1, m, step: undo, line, elapsedMs: now() - u0 }));
          emit({ event: 'undo', n: j + 1, m, step: undo, elapsedMs: now() - u0 });
        } catch (undoErr) {
          emit({ event: 'undo-failed', step: undo, error: (undoErr as Error).message });
          return done(EXIT.undoFailed, 'undo failed');
        }
      }
      return done(EXIT.rolledBack, 'rolled back');
    }
  }
  return done(EXIT.done, 'done');
}
