import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const CLI = join(import.meta.dirname, '../../bin/ctdb-bridge.cjs');
const GOLDEN = join(import.meta.dirname, '../../../legacy/protocol/fixtures/golden');

/** Runs the real CLI; resolves with exit code and output even on failure. */
function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('ctdb-bridge decode', () => {
  it('decodes the bundled `ctdb status` capture (both directions) with round trip, exit 0', async () => {
    const r = await cli(['decode', '--roundtrip', join(GOLDEN, 'ctdb-status.c2s.bin'), join(GOLDEN, 'ctdb-status.s2c.bin')]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.length).toBe(19);
    expect(lines[0]).toMatchObject({ index: 0, offset: 0, operation: 'REQ_CONTROL', control: 'GET_PNN', destnodeName: 'CURRENT_NODE' });
    const nodemap = lines.find((l) => l.operation === 'REPLY_CONTROL' && l.control === 'GET_NODEMAP');
    expect(nodemap.payload.nodes[0].addr).toEqual({ family: 'inet', address: '127.0.100.1', port: 4379 });
    expect(r.stderr).toMatch(/19 packets, 0 errors \(round trip checked\)/);
  });

  it('reads an xxd hex dump with --hex', async () => {
    const r = await cli(['decode', '--hex', join(GOLDEN, 'ctdb-status.c2s.xxd')]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(9);
  });

  it('reports a broken packet with index and offset and exits non-zero', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'decode-cli-'));
    try {
      const file = join(dir, 'bad.hex');
      // GET_PNN request, then a packet with a wrong magic, then 8 stray bytes.
      await writeFile(file, [
        '40000000 42445443 01000000 00000000 07000000 010000f0 ffffffff 38ffff7f',
        '23000000 00000000 0000000000000000 00000000 00000000 00000000 00000000',
        '30000000 00000000 01000000 00000000 08000000 00000000 00000000 01000000',
        '00000000 00000000 00000000 00000000',
        '4000000000000000',
      ].join('\n'));
      const r = await cli(['decode', '--hex', '--roundtrip', file]);
      expect(r.code).toBe(1);
      const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
      expect(lines[1].error).toMatchObject({ field: 'ctdb_magic', offset: 4 });
      expect(r.stderr).toMatch(/packet 1 \(stream offset 64\): ctdb_req_header: field ctdb_magic at offset 4/);
      expect(r.stderr).toMatch(/packet 2 \(stream offset 112\): truncated packet/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
