import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT, PACKAGE_VERSION } from '../../legacy/common/package-info.ts';

/**
 * The bin run as a user runs it (by its #! line, not `node BIN`) starts Node
 * without NODE_EXTRA_CA_CERTS: Node would parse that file before any script
 * (~35 ms of a one-shot command). A file that cannot be read makes Node warn
 * on stderr at start-up, which shows whether it was looked at.
 */

const BIN = join(PACKAGE_ROOT, 'scripts', 'bin', 'ctdb-bridge.cjs');
const MISSING_CA = '/nonexistent/ctdb-bridge-test-ca.pem';

function run(file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 30_000, env: { ...process.env, NODE_EXTRA_CA_CERTS: MISSING_CA } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('the ctdb-bridge bin', () => {
  it('run by its #! line, Node never reads NODE_EXTRA_CA_CERTS', async () => {
    expect(await run(BIN, ['--version'])).toEqual({ code: 0, stdout: `${PACKAGE_VERSION}\n`, stderr: '' });
  });

  it('run as `node BIN`, Node does (what the #! line saves)', async () => {
    const viaNode = await run(process.execPath, [BIN, '--version']);
    expect(viaNode.stdout).toBe(`${PACKAGE_VERSION}\n`);
    expect(viaNode.stderr).toContain(MISSING_CA);
  });
});
