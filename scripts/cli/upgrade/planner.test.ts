import { describe, expect, test } from 'vitest';
import { plan, UnknownNodeArgumentError } from './planner.ts';
import { stageOf, parseStage, StageArgumentError } from './stages.ts';
import { clusterAt, nodeAt } from './fixtures.test-support.ts';

const kinds = (p: ReturnType<typeof plan>) => p.steps.map((s) => `${s.kind}${s.node === null ? '' : `@${s.node}`}`);
const failed = (p: ReturnType<typeof plan>) => p.checks.filter((c) => !c.ok).map((c) => c.id);

describe('stageOf', () => {
  test('reads each stage from the services a node reports', () => {
    for (const s of [0, 1, 2, 3, 4] as const) expect(stageOf(nodeAt(0, s))).toEqual({ stage: s, partial: null });
  });
  test('half-done nodes stay at the lower stage and say what is left', () => {
    const n = nodeAt(0, 1, { services: { transportd: 'running', clusterd: 'running', failoverd: 'stopped' } });
    expect(stageOf(n)).toEqual({ stage: 1, partial: 'clusterd without failoverd' });
    expect(stageOf(nodeAt(0, 2, { failoverdMode: null }))).toEqual({ stage: 2, partial: 'failoverd does not answer' });
    expect(stageOf(nodeAt(0, 0, { services: { transportd: 'stopped', clusterd: 'running', failoverd: 'stopped' } })).partial)
      .toBe('components run without transportd');
  });
  test('parseStage takes numbers and names, refuses others', () => {
    expect(parseStage('3')).toBe(3);
    expect(parseStage('native')).toBe(4);
    expect(() => parseStage('5')).toThrow(StageArgumentError);
  });
});

describe('plan: advance', () => {
  test('0 -> 4 for all nodes: node steps in node order, then the cluster-wide handover and uplink switch', () => {
    const p = plan(clusterAt([0, 0, 0]), { direction: 'advance', target: 4, nodes: 'all' });
    expect(kinds(p)).toEqual([
      'start-transportd@0', 'start-components@0', 'start-transportd@1', 'start-components@1',
      'start-transportd@2', 'start-components@2', 'handover', 'uplink-ws',
    ]);
    expect(p.ok).toBe(true);
  });
  test('one node at a time up to stage 2; the default target is one stage on', () => {
    const p = plan(clusterAt([1, 0, 0]), { direction: 'advance', nodes: [1] });
    expect(p.target).toBe(1);
    expect(kinds(p)).toEqual(['start-transportd@1']);
    expect(kinds(plan(clusterAt([1, 1, 0]), { direction: 'advance', target: 2, nodes: [0] }))).toEqual(['start-components@0']);
  });
  test('a rerun plans only what is missing: a half-done node finishes', () => {
    const obs = clusterAt([2, 1, 1]);
    obs.nodes[1].services.clusterd = 'running';
    const p = plan(obs, { direction: 'advance', target: 2, nodes: 'all' });
    expect(kinds(p)).toEqual(['start-components@1', 'start-components@2']);
    expect(p.ok).toBe(true);
    expect(kinds(plan(clusterAt([2, 2, 2]), { direction: 'advance', target: 2, nodes: 'all' }))).toEqual([]);
  });
  test('handover is cluster-wide: refused when it would switch a node left out, or while a node runs transportd without failoverd', () => {
    const one = plan(clusterAt([2, 2, 2]), { direction: 'advance', target: 3, nodes: [0] });
    expect(failed(one)).toEqual(['cluster-scope']);
    expect(one.checks.find((c) => c.id === 'cluster-scope')!.detail).toMatch(/node 1 is left out \(its failoverd would go active\).*node 2/);
    const p = plan(clusterAt([2, 2, 1]), { direction: 'advance', target: 3, nodes: [0, 1] });
    expect(failed(p)).toEqual(['every-node-ready']);
    expect(p.checks.find((c) => c.id === 'every-node-ready')!.detail).toMatch(/node\(s\) 2 in stage 1/);
  });
  test('a mixed cluster: nodes 0 and 1 hand over while node 2 stays legacy (its ctdbd follows failoverd)', () => {
    const p = plan(clusterAt([2, 2, 0]), { direction: 'advance', target: 3, nodes: [0, 1] });
    expect(kinds(p)).toEqual(['handover']);
    expect(p.ok).toBe(true);
    expect(p.checks.find((c) => c.id === 'cluster-scope')!.detail).toBe('the nodes left out stay as they are (legacy or already there)');
    // Already there: nothing to do, for the two nodes or for the legacy one.
    expect(kinds(plan(clusterAt([3, 3, 0]), { direction: 'advance', target: 3, nodes: [0, 1] }))).toEqual([]);
    // From stage 0 straight to 3 for two nodes, the third left legacy.
    expect(kinds(plan(clusterAt([0, 0, 0]), { direction: 'advance', target: 3, nodes: [0, 1] })))
      .toEqual(['start-transportd@0', 'start-components@0', 'start-transportd@1', 'start-components@1', 'handover']);
    // The legacy node joins later: it comes up in shadow and the handover switches it too.
    const join = plan(clusterAt([3, 3, 0]), { direction: 'advance', target: 3, nodes: [2] });
    expect(kinds(join)).toEqual(['start-transportd@2', 'start-components@2', 'handover']);
    expect(join.ok).toBe(true);
    // Handback for the two, the legacy node left out; one of the two alone is refused (it would switch the other).
    expect(kinds(plan(clusterAt([3, 3, 0]), { direction: 'rollback', target: 2, nodes: [0, 1] }))).toEqual(['handback']);
    expect(plan(clusterAt([3, 3, 0]), { direction: 'rollback', target: 2, nodes: [0, 1] }).ok).toBe(true);
    expect(failed(plan(clusterAt([3, 3, 0]), { direction: 'rollback', target: 2, nodes: [0] }))).toEqual(['cluster-scope']);
  });
  test('the ws uplink is refused while a node stays legacy (it is reached only through ctdbd)', () => {
    const p = plan(clusterAt([3, 3, 0]), { direction: 'advance', target: 4, nodes: [0, 1] });
    expect(kinds(p)).toEqual(['uplink-ws']);
    expect(failed(p)).toEqual(['every-node-ready']);
    expect(p.checks.find((c) => c.id === 'every-node-ready')!.detail).toMatch(/node\(s\) 2 legacy/);
  });
  test('handover is refused while the shadow differs from ctdbd', () => {
    const obs = clusterAt([2, 2, 2]);
    obs.deciding = { ...obs.deciding!, differences: 2, offPlan: ['10.0.0.1'] };
    const p = plan(obs, { direction: 'advance', target: 3, nodes: 'all' });
    expect(failed(p)).toEqual(['shadow-differences']);
    expect(p.checks.find((c) => c.id === 'shadow-differences')!.detail).toMatch(/2 shadow difference.*10\.0\.0\.1/);
  });
  test('unreachable, unhealthy, failed, incompatible and half-done elsewhere all refuse', () => {
    const obs = clusterAt([1, 1, 1]);
    obs.nodes[0].ctdbFlags = 0x01;
    obs.nodes[1].ctdbFlags = 0x02;
    obs.nodes[2].versions.protocol = [7];
    expect(failed(plan(obs, { direction: 'advance', target: 2, nodes: 'all' }))).toEqual(['reachable', 'healthy', 'versions']);
    const half = clusterAt([1, 1, 1]);
    half.nodes[2].services.failoverd = 'running';
    half.nodes[1].services.clusterd = 'failed';
    expect(failed(plan(half, { direction: 'advance', target: 2, nodes: [0] }))).toEqual(['healthy', 'half-done']);
  });
  test('stage 4 needs a manager that can switch uplinks', () => {
    const p = plan(clusterAt([3, 3, 3], { uplinkSwitch: { supported: false, why: 'systemd: set CTDB_BRIDGE_TRANSPORTD_OPTIONS' } }),
      { direction: 'advance', target: 4, nodes: 'all' });
    expect(kinds(p)).toEqual(['uplink-ws']);
    expect(p.checks.find((c) => !c.ok)).toEqual({ id: 'uplink-switch', ok: false, detail: 'systemd: set CTDB_BRIDGE_TRANSPORTD_OPTIONS' });
  });
  test('an unknown node is a usage error', () => {
    expect(() => plan(clusterAt([0, 0]), { direction: 'advance', nodes: [5] })).toThrow(UnknownNodeArgumentError);
  });
});

describe('plan: rollback', () => {
  test('4 -> 0 for all nodes: uplink back, handback, then each node down', () => {
    const p = plan(clusterAt([4, 4, 4]), { direction: 'rollback', target: 0, nodes: 'all' });
    expect(kinds(p)).toEqual([
      'uplink-tunnel', 'handback', 'stop-components@0', 'stop-transportd@0', 'stop-components@1', 'stop-transportd@1',
      'stop-components@2', 'stop-transportd@2',
    ]);
    expect(p.ok).toBe(true);
  });
  test('default target is one stage back from the highest node', () => {
    expect(plan(clusterAt([3, 3, 3]), { direction: 'rollback', nodes: 'all' }).target).toBe(2);
  });
  test('a half-done handover (failoverd active on some nodes) is undone by handback, refused when left alone', () => {
    const obs = clusterAt([3, 2, 2]);
    expect(kinds(plan(obs, { direction: 'rollback', target: 2, nodes: 'all' }))).toEqual(['handback']);
    expect(failed(plan(obs, { direction: 'advance', target: 2, nodes: [1] }))).toEqual(['half-done']);
  });
  test('rolling a node of a stage-3 cluster below 2 needs the cluster handed back (--all)', () => {
    expect(failed(plan(clusterAt([3, 3, 3]), { direction: 'rollback', target: 1, nodes: [2] }))).toEqual(['cluster-scope']);
  });
  test('a failed service on the node being rolled back does not block', () => {
    const obs = clusterAt([2, 2, 2]);
    obs.nodes[2].services.clusterd = 'failed';
    const p = plan(obs, { direction: 'rollback', target: 1, nodes: [2] });
    expect(kinds(p)).toEqual(['stop-components@2']);
    expect(p.ok).toBe(true);
  });
});

describe('plan: an uplink switch interrupted after the handback', () => {
  const interrupted = () => {
    const obs = clusterAt([4, 4, 4]);
    for (const n of obs.nodes) n.failoverdMode = 'shadow';
    obs.deciding = { ...obs.deciding!, mode: 'shadow', leaseHeld: false };
    return obs;
  };
  test('advance to 4 finishes with the handover', () => {
    const p = plan(interrupted(), { direction: 'advance', target: 4, nodes: 'all' });
    expect(kinds(p)).toEqual(['handover']);
    expect(p.ok).toBe(true);
  });
  test('rollback to 2 switches the uplink back and hands back after it', () => {
    expect(kinds(plan(interrupted(), { direction: 'rollback', target: 2, nodes: 'all' }))).toEqual(['uplink-tunnel', 'handback']);
  });
});
