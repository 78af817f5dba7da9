import { describe, expect, test } from 'vitest';
import { execute, EXIT, type StepRunner } from './execute.ts';
import { plan, type Step } from './planner.ts';
import { formatEvent, formatJsonEvent, formatPlan, formatStatus, type UpgradeEvent } from './format.ts';
import { clusterAt } from './fixtures.test-support.ts';

class FakeRunner implements StepRunner {
  ran: string[] = [];
  constructor(private readonly fail: (s: Step) => boolean = () => false) {}
  async run(s: Step, progress: (line: string) => void): Promise<void> {
    this.ran.push(`${s.kind}${s.node === null ? '' : `@${s.node}`}`);
    progress('working');
    if (this.fail(s)) throw new Error(`${s.kind} broke`);
  }
}

let clock = 0;
const now = () => (clock += 100);

describe('execute', () => {
  test('runs every step in order and emits step, progress and done events', async () => {
    const events: UpgradeEvent[] = [];
    const r = new FakeRunner();
    const code = await execute(plan(clusterAt([0, 0]), { direction: 'advance', target: 1, nodes: 'all' }), r, (e) => events.push(e), now);
    expect(code).toBe(EXIT.done);
    expect(r.ran).toEqual(['start-transportd@0', 'start-transportd@1']);
    expect(events.map((e) => e.event)).toEqual(['plan', 'step', 'progress', 'step-done', 'step', 'progress', 'step-done', 'done']);
    const lines = events.map(formatEvent).filter(Boolean);
    expect(lines[0]).toBe('step 1/2, node 0, start-transportd: waiting for transportd answering over the tunnel');
    expect(lines[1]).toMatch(/^step 1\/2, node 0, start-transportd: working, 0\.1 s$/);
    expect(JSON.parse(formatJsonEvent(events[7]))).toMatchObject({ event: 'done', exitCode: 0, result: 'done' });
  });
  test('a refused plan runs nothing and exits 2', async () => {
    const obs = clusterAt([2, 2]);
    obs.deciding!.differences = 1;
    const r = new FakeRunner();
    const events: UpgradeEvent[] = [];
    expect(await execute(plan(obs, { direction: 'advance', target: 3, nodes: 'all' }), r, (e) => events.push(e), now)).toBe(EXIT.refused);
    expect(r.ran).toEqual([]);
    expect(formatEvent(events.find((e) => e.event === 'refused')!)).toMatch(/shadow-differences: .*1 shadow difference/);
  });
  test('a failed step undoes itself and the earlier steps in reverse and exits 3', async () => {
    const r = new FakeRunner((s) => s.kind === 'start-components' && s.node === 1);
    const code = await execute(plan(clusterAt([0, 0]), { direction: 'advance', target: 2, nodes: 'all' }), r, () => undefined, now);
    expect(code).toBe(EXIT.rolledBack);
    expect(r.ran).toEqual([
      'start-transportd@0', 'start-components@0', 'start-transportd@1', 'start-components@1',
      'stop-components@1', 'stop-transportd@1', 'stop-components@0', 'stop-transportd@0',
    ]);
  });
  test('a failed undo exits 4', async () => {
    const r = new FakeRunner((s) => s.kind === 'handover' || s.kind === 'handback');
    expect(await execute(plan(clusterAt([2, 2]), { direction: 'advance', target: 3, nodes: 'all' }), r, () => undefined, now)).toBe(EXIT.undoFailed);
    expect(r.ran).toEqual(['handover', 'handback']);
  });
  test('nothing to do exits 0 without steps', async () => {
    const events: UpgradeEvent[] = [];
    expect(await execute(plan(clusterAt([2, 2]), { direction: 'advance', target: 2, nodes: 'all' }), new FakeRunner(), (e) => events.push(e), now)).toBe(0);
    expect(events.at(-1)).toMatchObject({ result: 'nothing to do' });
  });
});

describe('format', () => {
  test('plan lists steps with what they wait for and every check', () => {
    const text = formatPlan(plan(clusterAt([2, 2]), { direction: 'advance', target: 3, nodes: 'all' }));
    expect(text).toContain('1. handover (all nodes: stage 2 shadow -> 3 handover): waits for ctdbd takeover runs held off on every node');
    expect(text).toContain('ok   shadow-differences: the deciding failoverd (node 0) agrees with ctdbd');
  });
  test('status shows each node\'s stage and what blocks the next step', () => {
    const obs = clusterAt([2, 1]);
    const text = formatStatus(obs, plan(obs, { direction: 'advance', target: 3, nodes: 'all' }));
    expect(text).toMatch(/^0 +2 shadow +running +running +running shadow +tunnel/m);
    expect(text).toMatch(/^1 +1 bridge +running +stopped +stopped +tunnel/m);
    expect(text).toContain('next step: advance --all --to 3 (2 step(s))');
    expect(text).toContain('blocked by: nothing');
  });
});
