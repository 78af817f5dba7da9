import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PeerPidLookupError } from './errors.ts';
import { peerOwners, socketInode } from './peer-cred.ts';
import { SsHelper } from './ss-helper.ts';

/** The long-lived `ss` helper: real ss, and fake ones for failures and hangs. */

let dir: string;

async function fake(name: string, body: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ss-helper-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ss helper', () => {
  it('lists our connected unix sockets with real ss, one helper process for many runs', async () => {
    const path = join(dir, 's');
    const accepted: Socket[] = [];
    const server: Server = createServer((s) => accepted.push(s));
    await new Promise<void>((r) => server.listen(path, r));
    const client = connect(path);
    await new Promise((r) => client.once('connect', r));
    const helper = new SsHelper();
    try {
      while (accepted.length === 0) await new Promise((r) => setTimeout(r, 5));
      const ours = await socketInode(accepted[0]!);
      const runs = await Promise.all([1, 2, 3].map(() => helper.runner({ excludeLocalPath: path })));
      for (const text of runs) {
        expect(peerOwners(text, new Set([ours!])).get(ours!)).toEqual([process.pid]);
        // Our own end is filtered out by ss itself.
        expect(text).not.toContain(path);
      }
      expect(helper.spawned).toBe(1);
    } finally {
      helper.close();
      client.destroy();
      for (const s of accepted) s.destroy();
      await new Promise((r) => server.close(r));
    }
  });

  it('passes arguments verbatim (no shell parsing) and keeps the helper across failing runs', async () => {
    const cmd = await fake('args', 'for a in "$@"; do printf "<%s>" "$a"; done; echo; [ -n "$FAIL_NEXT" ] && exit 3; exit 0');
    const helper = new SsHelper(cmd);
    try {
      const out = await helper.runner({ excludeLocalPath: "/tmp/x y'$(id)" });
      // A path with blanks is not used as a filter at all; the rest arrive one argument each.
      expect(out.trim()).toBe('<-Hnp><-A><unix_stream><state><established>');
      const out2 = await helper.runner({ excludeLocalPath: '/run/ctdb/$HOME;x' });
      expect(out2.trim()).toBe('<-Hnp><-A><unix_stream><state><established><!><src><unix:/run/ctdb/$HOME;x>');
      expect(helper.spawned).toBe(2);
    } finally {
      helper.close();
    }
    const failing = new SsHelper(await fake('fail', 'echo "Cannot open netlink socket" >&2; exit 3'));
    try {
      for (let i = 0; i < 3; i++) {
        const err = await failing.runner().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(PeerPidLookupError);
        expect((err as Error).message).toContain('status 3');
      }
      expect(failing.spawned).toBe(1);
    } finally {
      failing.close();
    }
  });

  it('a missing ss is reported as such', async () => {
    const helper = new SsHelper(join(dir, 'no-such-ss'));
    try {
      const err = await helper.runner().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PeerPidLookupError);
      expect((err as Error).message).toContain('ss not found');
    } finally {
      helper.close();
    }
  });

  it('an aborted run kills the helper; the next run starts a new one; runs never overlap', async () => {
    const marker = join(dir, 'running');
    const cmd = await fake('slow', `[ -e ${marker} ] && echo overlap; touch ${marker}; sleep "\${SLEEP:-0.05}"; rm -f ${marker}; echo done`);
    const helper = new SsHelper(cmd);
    try {
      const outs = await Promise.all([1, 2, 3, 4].map(() => helper.runner()));
      expect(outs.map((o) => o.trim())).toEqual(['done', 'done', 'done', 'done']);
      const slow = new SsHelper(await fake('hang', 'sleep 30'));
      const ac = new AbortController();
      const p = slow.runner({ signal: ac.signal });
      setTimeout(() => ac.abort(new PeerPidLookupError('timed out')), 50);
      const started = Date.now();
      await expect(p).rejects.toThrow('timed out');
      expect(Date.now() - started).toBeLessThan(2000);
      const again = slow.runner({ signal: AbortSignal.timeout(50) });
      await expect(again).rejects.toBeDefined();
      expect(slow.spawned).toBe(2);
      slow.close();
      await expect(slow.runner()).rejects.toThrow('closed');
    } finally {
      helper.close();
    }
  });
});
