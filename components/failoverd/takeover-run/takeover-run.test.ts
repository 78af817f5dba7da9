import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LegacyClient } from '../../../legacy/client/index.ts';
import { Control } from '../../../legacy/protocol/controls.ts';
import { Srvid } from '../../../legacy/protocol/srvid.ts';
import { captureLog } from '../../../legacy/daemon/testing/log-capture.ts';
import { ScriptedCtdbd, type CtdbdScript, type RecordedControl } from '../../../compat-tests/support/scripted-ctdbd.ts';
import { DEFAULT_ALLOCATION_TUNABLES, type NodeReport, type Placement } from '../allocation/types.ts';
import { Errno, TakeoverRunDisconnectedError } from './errors.ts';
import { takeoverRun, type TakeoverRunOptions } from './takeover-run.ts';

/**
 * The run's mechanics against the scripted ctdbd (real sockets, our
 * client); the allocation is injected so these tests do not depend on it.
 * The differential tests against Debian's helper are in compat-tests.
 */

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const ips = (owner: number[]) => owner.map((pnn, i) => ({ ip: `10.0.0.${31 + i}`, pnn, available: true }));
const nodes = (flags: number[], owners: number[]): NodeReport[] =>
  flags.map((f, pnn) => ({ pnn, flags: f, runstate: 5, ips: ips(owners) }));

async function start(script: Omit<CtdbdScript, 'localPnn'> & { localPnn?: number }) {
  const dir = await mkdtemp(join(tmpdir(), 'takeover-run-test-'));
  const daemon = await ScriptedCtdbd.start({ localPnn: 0, ...script, tunables: { TakeoverTimeout: 1, ...script.tunables } },
    join(dir, 'ctdbd.socket'), captureLog('scripted').logger);
  const client = new LegacyClient({ socketPath: daemon.socketPath, reconnect: false, trackLeader: false, logger: captureLog('client').logger });
  await client.connect();
  cleanups.push(async () => {
    await client.close();
    await daemon.close();
    await rm(dir, { recursive: true, force: true });
  });
  const { logger, lines } = captureLog('takeover', 'info');
  const run = (placement: Placement[], opts: Partial<TakeoverRunOptions> = {}) =>
    takeoverRun({ client, log: logger, allocate: () => placement, ...opts });
  return { daemon, client, run, lines };
}

/** The client is still connected: poll for what the daemon has read (the run returns once the bytes are written). */
async function until(ok: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const input = (n: NodeReport[]) => ({ algorithm: 'lcp2' as const, tunables: DEFAULT_ALLOCATION_TUNABLES, nodes: n });
const sent = (controls: RecordedControl[], opcode: number) =>
  controls.filter((c) => c.opcode === opcode).map((c) => [c.destnode, c.ip, c.pnn].filter((x) => x !== undefined).join(' '));

describe('takeover run', () => {
  it('gathers as the helper does, then releases, takes over and sends IPREALLOCATED in that order', async () => {
    // Node 2 is disconnected, node 3 banned (asked for its addresses, never for the available ones).
    const { daemon, run, lines } = await start({ input: input(nodes([0, 0, 0x01, 0x08], [0, 0, -1])) });
    const result = await run([{ ip: '10.0.0.31', pnn: 0 }, { ip: '10.0.0.32', pnn: 1 }, { ip: '10.0.0.33', pnn: 1 }]);
    expect(result.status).toBe(0);
    const c = daemon.controls;
    expect(c.map((x) => x.name).slice(0, 3)).toEqual(['GET_PNN', 'GET_ALL_TUNABLES', 'GET_NODEMAP']);
    expect(c.filter((x) => x.opcode === Control.GET_PUBLIC_IPS).map((x) => `${x.destnode}/${x.flags.toString(16)}`))
      .toEqual(['0/0', '1/0', '3/0', '0/10000', '1/10000']);
    // In the helper's order: addresses descending, nodes by PNN; never the new owner, never the disconnected node.
    expect(sent(c, Control.RELEASE_IP)).toEqual([
      '0 10.0.0.33 1', '3 10.0.0.33 1', '0 10.0.0.32 1', '3 10.0.0.32 1', '1 10.0.0.31 0', '3 10.0.0.31 0',
    ]);
    expect(sent(c, Control.TAKEOVER_IP)).toEqual(['1 10.0.0.33 1', '1 10.0.0.32 1', '0 10.0.0.31 0']);
    expect(sent(c, Control.IPREALLOCATED)).toEqual(['0', '1', '3']);
    const lastRelease = Math.max(...c.filter((x) => x.opcode === Control.RELEASE_IP).map((x) => x.replySeq!));
    const firstTake = Math.min(...c.filter((x) => x.opcode === Control.TAKEOVER_IP).map((x) => x.seq));
    expect(lastRelease).toBeLessThan(firstTake);
    expect(result.moved).toEqual([{ ip: '10.0.0.33', from: -1, to: 1 }, { ip: '10.0.0.32', from: 0, to: 1 }]);
    expect(daemon.ipAll()).toEqual(new Map([['10.0.0.31', 0], ['10.0.0.32', 1], ['10.0.0.33', 1]]));
    expect(lines.filter((l) => l.msg === 'takeover run done')).toEqual([expect.objectContaining({ status: 0, moved: 2, takeovers: 3 })]);
  });

  it('a failed release credits the first node to fail for each address and reports the culprit for banning', async () => {
    const { daemon, run } = await start({
      input: input(nodes([0, 0, 0], [-1, -1])),
      failures: [{ opcode: Control.RELEASE_IP, pnn: -1, kind: 'error', status: -1 }],
    });
    const result = await run([{ ip: '10.0.0.31', pnn: 2 }, { ip: '10.0.0.32', pnn: 0 }]);
    // 10.0.0.32 fails on 1 and 2 (1 answers first), 10.0.0.31 on 0 and 1 (0 first): 0 and 1 get one credit each.
    expect(result).toMatchObject({ status: -1, stage: 'release', credits: { 0: 1, 1: 1 }, banned: 0 });
    expect(daemon.controls.some((c) => c.opcode === Control.TAKEOVER_IP)).toBe(false);
    await until(() => daemon.messages.length > 0);
    expect(daemon.messages.map((m) => [m.destnode, m.srvid, m.pnn])).toEqual([[0, Srvid.BANNING, 0]]);
  });

  it('EnableBans=0: a failure reports nobody', async () => {
    const { daemon, run } = await start({
      input: input(nodes([0, 0], [-1])), tunables: { EnableBans: 0 },
      failures: [{ opcode: Control.TAKEOVER_IP, pnn: 1, kind: 'error', status: -5 }],
    });
    const result = await run([{ ip: '10.0.0.31', pnn: 1 }]);
    expect(result).toMatchObject({ status: -5, stage: 'takeover', credits: { 1: 1 } });
    expect(result.banned).toBeUndefined();
    expect(daemon.messages).toEqual([]);
  });

  it('a known-addresses timeout fails with ETIMEDOUT after TakeoverTimeout and bans the silent node', async () => {
    const { daemon, run } = await start({
      input: input(nodes([0, 0, 0], [1])),
      failures: [{ opcode: Control.GET_PUBLIC_IPS, pnn: 2, kind: 'timeout' }],
    });
    const result = await run([]);
    expect(result).toMatchObject({ status: Errno.ETIMEDOUT, stage: 'known-ips', banned: 2 });
    expect(result.timings.gatherMs).toBeGreaterThanOrEqual(990);
    expect(daemon.controls.filter((c) => c.flags !== 0)).toEqual([]);
  });

  it('failover disabled: only IPREALLOCATED to the connected nodes', async () => {
    const { daemon, run } = await start({ input: input(nodes([0, 0x01, 0x20], [-1])) });
    const result = await run([], { failoverDisabled: true });
    expect(result.status).toBe(0);
    expect(daemon.controls.map((c) => `${c.name} ${c.destnode}`)).toEqual([
      'GET_PNN 0', 'GET_ALL_TUNABLES 0', 'GET_NODEMAP 0', 'IPREALLOCATED 0', 'IPREALLOCATED 2',
    ]);
  });

  it('nobody can host yet: no allocation, only IPREALLOCATED', async () => {
    const n = nodes([0x02, 0x02], [-1]);
    const { daemon, run } = await start({ input: input(n) });
    const result = await run([{ ip: '10.0.0.31', pnn: 0 }]);
    expect(result).toMatchObject({ status: 0, placement: [], moved: [] });
    expect(daemon.controls.filter((c) => c.opcode === Control.RELEASE_IP || c.opcode === Control.TAKEOVER_IP)).toEqual([]);
  });

  it('no active node: ENOMEM and nothing sent after the node map', async () => {
    const { daemon, run } = await start({ input: input(nodes([0x08, 0x20], [-1])) });
    const result = await run([]);
    expect(result).toMatchObject({ status: Errno.ENOMEM, stage: 'nodes' });
    expect(daemon.controls.map((c) => c.name)).toEqual(['GET_PNN', 'GET_ALL_TUNABLES', 'GET_NODEMAP']);
    expect(daemon.messages).toEqual([]);
  });

  it('ctdbd going away mid-run throws TakeoverRunDisconnectedError', async () => {
    const { daemon, run } = await start({
      input: input(nodes([0, 0], [-1])), failures: [{ opcode: Control.GET_PUBLIC_IPS, pnn: 1, kind: 'timeout' }],
    });
    const running = run([]);
    setTimeout(() => void daemon.close(), 100);
    await expect(running).rejects.toBeInstanceOf(TakeoverRunDisconnectedError);
  });
});
