import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ClusterSecretError, parseHostPort, parseNodesFile, parsePeerList, peersFromNodesFile, readClusterSecret, type ClusterSecretProblem,
} from './ws-config.ts';

describe('WebSocket peer configuration', () => {
  it('numbers nodes like ctdb: blank lines skipped, # lines keep their PNN as deleted', () => {
    const text = '10.0.0.1\n\n#10.0.0.2\n  10.0.0.3  \nfd00::4\n';
    expect(parseNodesFile(text)).toEqual([
      { node: 0, address: '10.0.0.1' }, { node: 1, address: undefined }, { node: 2, address: '10.0.0.3' }, { node: 3, address: 'fd00::4' },
    ]);
    expect(peersFromNodesFile(text, 4390).map((p) => `${p.node}=${p.host}:${p.port}`)).toEqual(['0=10.0.0.1:4390', '2=10.0.0.3:4390', '3=fd00::4:4390']);
  });

  it('parses explicit peer lists and addresses', () => {
    expect(parsePeerList('1=127.0.0.2:4380, 2=[::1]:4381')).toEqual([
      { node: 1, host: '127.0.0.2', port: 4380 }, { node: 2, host: '::1', port: 4381 },
    ]);
    expect(parseHostPort('[fd00::1]:80')).toEqual({ host: 'fd00::1', port: 80 });
    for (const bad of ['1=host', 'x=h:1', '1=h:70000']) expect(() => parsePeerList(bad)).toThrow();
    expect(() => parseHostPort('nohost')).toThrow();
  });
});

describe('the cluster secret file', () => {
  const SECRET = 'a cluster secret of 32 characters';
  const isRoot = process.geteuid?.() === 0;
  const OTHER_UID = 65534; // nobody
  let dir: string;
  let n = 0;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ws-secret-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function secretFile(content: string, mode: number, uid?: number): Promise<string> {
    const file = join(dir, `secret-${n++}`);
    await writeFile(file, content, { mode: 0o600 });
    if (uid !== undefined) await chown(file, uid, 0);
    await chmod(file, mode);
    return file;
  }

  async function refusal(file: string, daemonUid?: number): Promise<ClusterSecretError> {
    const err = await readClusterSecret(file, { daemonUid }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterSecretError);
    return err as ClusterSecretError;
  }

  it('reads a 0600 (or 0400) file of its owner, without the trailing newline', async () => {
    expect((await readClusterSecret(await secretFile(`${SECRET}\n`, 0o600))).toString()).toBe(SECRET);
    expect((await readClusterSecret(await secretFile(SECRET, 0o400))).toString()).toBe(SECRET);
  });

  for (const mode of [0o644, 0o640, 0o604, 0o620, 0o602, 0o610, 0o601, 0o660]) {
    it(`refuses mode ${mode.toString(8).padStart(4, '0')}: group or others may touch it`, async () => {
      const file = await secretFile(SECRET, mode);
      const err = await refusal(file);
      expect(err).toMatchObject({ file, reason: 'group-or-other-access' satisfies ClusterSecretProblem });
      expect(err.message).toContain(file);
      expect(err.message).toContain(mode.toString(8));
    });
  }

  it('refuses empty and too short secrets, a missing file and a directory', async () => {
    for (const content of ['', '\n', 'fifteen chars..', 'fifteen chars..\r\n']) {
      expect(await refusal(await secretFile(content, 0o600))).toMatchObject({ reason: 'too-short' });
    }
    expect((await readClusterSecret(await secretFile('sixteen chars...', 0o600))).length).toBe(16);
    expect(await refusal(join(dir, 'missing'))).toMatchObject({ reason: 'unreadable', file: join(dir, 'missing') });
    expect(await refusal(dir)).toMatchObject({ reason: 'not-a-file' });
  });

  it.runIf(isRoot)('refuses a file owned by another uid (running as root: chown to nobody)', async () => {
    const file = await secretFile(SECRET, 0o600, OTHER_UID);
    const err = await refusal(file);
    expect(err).toMatchObject({ file, reason: 'wrong-owner' });
    expect(err.message).toMatch(/owned by uid 65534/);
    // The same file is the secret of a transportd that runs as that uid.
    expect((await readClusterSecret(file, { daemonUid: OTHER_UID })).toString()).toBe(SECRET);
  });

  it('refuses a file owned neither by root nor by the daemon user', async () => {
    // As root the file is chowned away; otherwise our own file stands for a stranger's to a daemon of another uid.
    const file = await secretFile(SECRET, 0o600, isRoot ? OTHER_UID : undefined);
    expect(await refusal(file, isRoot ? 12345 : (process.geteuid?.() ?? 0) + 1)).toMatchObject({ reason: 'wrong-owner' });
  });

  it.runIf(isRoot)('accepts a root-owned file whatever uid the daemon runs as', async () => {
    expect((await readClusterSecret(await secretFile(SECRET, 0o600, 0), { daemonUid: OTHER_UID })).toString()).toBe(SECRET);
  });
});
