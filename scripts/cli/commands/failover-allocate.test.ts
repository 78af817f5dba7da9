import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const CLI = join(import.meta.dirname, '../../bin/ctdb-bridge.cjs');

/** Runs the real CLI with `stdin` piped in; resolves with exit code and output even on failure. */
function cli(args: string[], stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin);
  });
}

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

// Samba's takeover_helper case 010: 3 healthy nodes, 3 unassigned addresses.
const unassigned = ['10.0.0.31', '10.0.0.32', '10.0.0.33'].map((ip) => ({ ip, pnn: -1 }));
const case010 = { nodes: [0, 1, 2].map((pnn) => ({ pnn, flags: 0, runstate: 5, ips: unassigned })) };

describe('ctdb-bridge failover allocate', () => {
  it('reads stdin ("-") and prints one "IP PNN" line per address, largest address first', async () => {
    const r = await cli(['failover', 'allocate', '-'], JSON.stringify(case010));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('10.0.0.33 0\n10.0.0.32 1\n10.0.0.31 2\n');
  });

  it('reads a file and prints JSON with --json (IPv6 before IPv4; an unhostable address gets -1)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'failover-allocate-'));
    dirs.push(dir);
    const file = join(dir, 'input.json');
    // Node 1 is banned; 10.0.0.40 is known only there, so nobody may host it.
    await writeFile(file, JSON.stringify({
      algorithm: 'deterministic',
      nodes: [
        { pnn: 0, ips: [{ ip: '2001:db8::1' }, { ip: '10.0.0.31', pnn: 0 }] },
        { pnn: 1, flags: 0x08, ips: [{ ip: '10.0.0.40', pnn: 1 }] },
      ],
    }));
    const r = await cli(['failover', 'allocate', file, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([{ ip: '2001:db8::1', pnn: 0 }, { ip: '10.0.0.40', pnn: -1 }, { ip: '10.0.0.31', pnn: 0 }]);
  });

  it('names the JSON path of a bad input and exits 1', async () => {
    const bad = { nodes: [{ pnn: 0, ips: [{ ip: '10.0.0.300', pnn: -1 }] }] };
    const r = await cli(['failover', 'allocate'], JSON.stringify(bad));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('ctdb-bridge failover allocate: stdin: $.nodes[0].ips[0].ip: bad ip "10.0.0.300" (expected IPv4 or IPv6)\n');
  });

  it('a missing file: exit 1 with the file named', async () => {
    const r = await cli(['failover', 'allocate', '/nonexistent/input.json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ctdb-bridge failover allocate: \/nonexistent\/input\.json: ENOENT/);
  });
});
