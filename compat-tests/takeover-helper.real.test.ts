import { join } from 'node:path';
import { describe, it } from 'vitest';
import { captureLog } from '../legacy/daemon/testing/log-capture.ts';
import { allocate } from '../components/failoverd/allocation/index.ts';
import { takeoverHelperStatus } from '../scripts/cli/commands/failover-takeover-helper.ts';
import { ipAllMap, SAMBA_TAKEOVER_CASES, sambaCaseScript } from './support/samba-takeover-cases.ts';
import { randomTakeoverCase } from './support/random-takeover-input.ts';
import { debianHelper, runHelper, type HelperRunResult, type TakeoverHelper } from './support/takeover-helper-runner.ts';
import { Control } from '../legacy/protocol/controls.ts';

/**
 * Our takeover run against Debian's /usr/libexec/ctdb/ctdb_takeover_helper
 * (Samba 4.17), both driven by the same scripted ctdbd:
 * 1. Samba's own takeover_helper unit cases: Debian's helper, our run
 *    in-process and our `ctdb-bridge failover takeover-helper` command must
 *    each give the case's status and `ctdb ip all`, and send the same
 *    controls in the same order with the same outcomes.
 * 2. Random cluster states (seeded): the placement Debian's helper makes
 *    must equal our allocate() on the same input, and our whole run must
 *    send what Debian's sends. A mismatch prints the seed and the input.
 * Fails when the Debian helper is not installed.
 */

const CLI = join(import.meta.dirname, '../scripts/bin/ctdb-bridge.cjs');
const debian = debianHelper();
const oursInProcess: TakeoverHelper = {
  kind: 'in-process',
  run: (socketPath, opts) => takeoverHelperStatus({
    socketPath, forceRebalanceNodes: opts.forceRebalanceNodes, log: captureLog('takeover-helper').logger,
    env: opts.failoverDisabled ? { CTDB_DISABLE_IP_FAILOVER: '1' } : {},
  }),
};
const oursCli: TakeoverHelper = { kind: 'command', argv: [process.execPath, CLI, 'failover', 'takeover-helper'] };

/** Every control as the daemon saw it, in arrival order: what, to whom, carrying what, and what became of it. */
function sequence(r: HelperRunResult): string[] {
  return r.controls.map((c) => [
    c.name, `node ${c.destnode}`, c.flags ? `flags 0x${c.flags.toString(16)}` : '',
    c.ip === undefined ? '' : `${c.ip} -> ${c.pnn}`, c.outcome,
  ].filter(Boolean).join(' '));
}

const banning = (r: HelperRunResult) => r.messages.map((m) => `${m.destnode} 0x${m.srvid.toString(16)} ${m.pnn}`);

describe('takeover run vs Debian ctdb_takeover_helper: Samba 4.17 takeover_helper cases', () => {
  for (const c of SAMBA_TAKEOVER_CASES) {
    it.concurrent(`${c.id}: ${c.title}`, async ({ expect }) => {
      const { script, run } = sambaCaseScript(c);
      const [deb, inProcess, command] = await Promise.all([debian, oursInProcess, oursCli].map((h) => runHelper(h, script, run)));
      const runs: Array<[string, HelperRunResult]> = [['Debian', deb], ['ours in-process', inProcess], ['ours command', command]];
      for (const [name, r] of runs) {
        const about = `${name}, case ${c.id}\n${r.stderr}`;
        expect(r.problems, about).toEqual([]);
        expect(r.status, about).toBe(c.status);
        if (r.exitCode !== undefined) expect(r.exitCode, about).toBe(c.status & 0xff);
        if (c.ipAll) expect(r.ipAll, about).toEqual(ipAllMap(c.ipAll));
      }
      expect(sequence(inProcess), 'in-process controls').toEqual(sequence(deb));
      expect(sequence(command), 'command controls').toEqual(sequence(deb));
      expect(banning(inProcess), 'in-process banning reports').toEqual(banning(deb));
      expect(banning(command), 'command banning reports').toEqual(banning(deb));
    });
  }
});

describe('allocation vs Debian ctdb_takeover_helper: random cluster states', () => {
  const SEEDS = Array.from({ length: 40 }, (_, i) => 0x10a0 + i);
  for (const seed of SEEDS) {
    it.concurrent(`seed ${seed}`, async ({ expect }) => {
      const rc = randomTakeoverCase(seed);
      const input = rc.script.input;
      const opts = { forceRebalanceNodes: rc.forceRebalanceNodes };
      const [deb, ours] = await Promise.all([runHelper(debian, rc.script, opts), runHelper(oursInProcess, rc.script, opts)]);
      const about = `seed ${seed}, local node ${rc.script.localPnn}, force rebalance ${JSON.stringify(rc.forceRebalanceNodes)}\n`
        + `input: ${JSON.stringify(input)}\n`;
      expect(deb.problems, `${about}Debian:\n${deb.stderr}`).toEqual([]);
      expect(ours.problems, about).toEqual([]);

      // allocate() on the input as written: the placement Debian's helper made by TAKEOVER_IP, in its order.
      const placement = allocate(input);
      const ours1 = new Map(deb.placement);
      for (const ip of ours1.keys()) ours1.set(ip, -1);
      for (const p of placement) ours1.set(p.ip, p.pnn);
      expect([...ours1].sort(), `${about}allocate() vs Debian's placement`).toEqual([...deb.placement].sort());
      const debOrder = deb.controls.filter((x) => x.opcode === Control.TAKEOVER_IP).map((x) => x.ip);
      if (deb.status === 0) {
        expect(placement.filter((p) => p.pnn >= 0).map((p) => p.ip), `${about}allocate() order`).toEqual(debOrder);
      }

      // Our whole run (gather -> allocate -> release/takeover/ipreallocated) sends what Debian's sends.
      expect(ours.status, about).toBe(deb.status);
      expect(sequence(ours), `${about}controls`).toEqual(sequence(deb));
      expect(ours.ipAll, `${about}ctdb ip all`).toEqual(deb.ipAll);
    });
  }
});
