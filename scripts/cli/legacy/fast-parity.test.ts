import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Command } from 'commander';
import { QUICK_START_TIMING } from '../../../legacy/daemon/daemon.ts';
import { TestCluster } from '../../../legacy/daemon/testing/test-cluster.ts';
import { registerLegacy } from '../commands/legacy.ts';
import { runFast } from './fast-main.ts';

/**
 * The lean one-shot path (fast-main.ts, what the bin runs for `legacy ...`)
 * prints byte for byte what the commander CLI prints, against the same
 * embedded 2-node cluster, and exits the same way.
 */

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await TestCluster.create({ nodes: 2, timing: QUICK_START_TIMING });
  await cluster.startAll();
  await cluster.until(() => cluster.settled(), 10_000, 'cluster settled');
});

afterAll(async () => {
  await cluster?.destroy();
});

interface Outcome { stdout: string; stderr: string; exitCode: number }

/** Runs `fn` with process.stdout/stderr writes captured and process.exitCode reset around it. */
async function captured(fn: () => Promise<unknown>): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  });
  const before = process.exitCode;
  process.exitCode = undefined;
  try {
    await fn();
    return { stdout, stderr, exitCode: Number(process.exitCode ?? 0) };
  } finally {
    process.exitCode = before;
    out.mockRestore();
    err.mockRestore();
  }
}

function viaCommander(argv: string[]): Promise<Outcome> {
  return captured(async () => {
    const program = new Command().exitOverride();
    registerLegacy(program);
    await program.parseAsync(argv, { from: 'user' });
  });
}

function viaFastPath(argv: string[]): Promise<Outcome> {
  return captured(async () => {
    expect(await runFast(argv)).toBe(true);
  });
}

describe('lean legacy path against the commander CLI', () => {
  const socket = () => cluster.socketPath(1);

  it('legacy pnn: the same line', async () => {
    const argv = ['legacy', 'pnn', '--socket', socket()];
    const fast = await viaFastPath(argv);
    expect(fast).toEqual({ stdout: '1\n', stderr: '', exitCode: 0 });
    expect(await viaCommander(argv)).toEqual(fast);
  });

  it('legacy status and status --json: the same report', async () => {
    for (const extra of [[], ['--json']]) {
      const argv = ['legacy', 'status', '--socket', socket(), ...extra];
      const fast = await viaFastPath(argv);
      expect(fast.exitCode).toBe(0);
      expect(fast.stdout).toMatch(extra.length ? /"nodes"/ : /^Number of nodes:2\n/);
      expect(fast.stdout).toContain(extra.length ? '"leader": 0' : 'pnn:1 ');
      expect(await viaCommander(argv)).toEqual(fast);
    }
  });

  it('a node that is not there: the same error and exit status', async () => {
    const argv = ['legacy', 'pnn', '--socket', `${socket()}.missing`];
    const fast = await viaFastPath(argv);
    expect(fast.exitCode).not.toBe(0);
    expect(fast.stdout).toBe('');
    expect(await viaCommander(argv)).toEqual(fast);
  });
});
