import { afterAll, describe, expect, test } from 'vitest';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_ENTRY } from '../legacy/common/package-info.ts';
import { killAll } from '../scripts/local-cluster/processes.ts';

/**
 * `ctdb-bridge start` (what `npm start` runs) for real: an embedded 3-node
 * cluster brought to stage 4 (transportd on the ws uplink, clusterd and
 * failoverd active on every node) and `upgrade status` printed; --stage 2
 * stops at shadow. Every process it started must be gone when it returns
 * (--once) or after Ctrl-C.
 */

/** Live processes whose command line or environment mentions `dir` (ours excluded). */
function processesUsing(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const text = readFileSync(`/proc/${entry}/cmdline`, 'utf8') + readFileSync(`/proc/${entry}/environ`, 'utf8');
      const state = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.[0];
      if (text.includes(dir) && state !== 'Z') pids.push(Number(entry));
    } catch {
      // gone, or not readable
    }
  }
  return pids;
}

function runStart(args: string[], onStderr?: (text: string, pid: number) => void) {
  const child = spawn(process.execPath, [CLI_ENTRY, 'start', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
    onStderr?.(stderr, child.pid!);
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, stdout, stderr })));
  return { child, done };
}

describe('ctdb-bridge start', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) {
      await killAll(processesUsing(dir));
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('--once: stage 4 on every node, upgrade status printed, everything stopped', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctdb-bridge-start-'));
    dirs.push(dir);
    const { done } = runStart(['--once', '--dir', dir]);
    const r = await done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/starting a 3-node embedded cluster/);
    expect(r.stderr).toMatch(/cluster ready in stage 4 \(native\) after/);
    for (const pnn of [0, 1, 2]) {
      expect(r.stdout).toMatch(new RegExp(`^${pnn}\\s+4 native\\s+running\\s+running\\s+running active\\s+ws\\s`, 'm'));
    }
    expect(r.stdout).toMatch(/^deciding failoverd: node \d, active, shadow differences 0, off plan none, takeover lease held$/m);
    expect(r.stdout).toMatch(/^next step: none \(every node in stage 4\)$/m);
    expect(r.stdout).toContain(`upgrade rollback --all --to 0 --local-cluster ${dir}`);
    expect(processesUsing(dir)).toEqual([]);
  });

  test('--stage shadow: transportd on the tunnel, failoverd in shadow, the next step planned', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctdb-bridge-start-'));
    dirs.push(dir);
    const r = await runStart(['--once', '--stage', 'shadow', '--dir', dir]).done;
    expect(r.code, r.stderr).toBe(0);
    for (const pnn of [0, 1, 2]) {
      expect(r.stdout).toMatch(new RegExp(`^${pnn}\\s+2 shadow\\s+running\\s+running\\s+running shadow\\s+tunnel\\s`, 'm'));
    }
    expect(r.stdout).toMatch(/^next step: advance --all --to 3 /m);
    expect(processesUsing(dir)).toEqual([]);
  });

  test('foreground until Ctrl-C, then everything it started is gone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctdb-bridge-start-'));
    dirs.push(dir);
    let signalled = false;
    let runningPids: number[] = [];
    const { done } = runStart(['--dir', dir], (text, pid) => {
      if (!signalled && text.includes('press Ctrl-C')) {
        signalled = true;
        runningPids = processesUsing(dir);
        process.kill(pid, 'SIGINT');
      }
    });
    const r = await done;
    expect(signalled, r.stderr).toBe(true);
    expect(r.code, r.stderr).toBe(0);
    // Three node daemons, and on each node transportd, clusterd and failoverd, were running.
    expect(runningPids.length).toBeGreaterThanOrEqual(12);
    expect(r.stderr).toMatch(/everything stopped/);
    expect(processesUsing(dir)).toEqual([]);
  });
});
