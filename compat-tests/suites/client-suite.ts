import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Control } from '../../legacy/protocol/controls.ts';
import { Capability, Node, NodeFlag, RunState, TunnelFlag } from '../../legacy/protocol/constants.ts';
import { Srvid } from '../../legacy/protocol/srvid.ts';
import {
  LegacyClientClosedError, LegacyControlError, LegacyControlTimeoutError, LegacyDisconnectedError,
  LegacyInvalidArgumentError, LegacyNotConnectedError, type LegacyClient, type LegacyMessage, type LegacyTunnelPacket,
} from '../../legacy/client/index.ts';
import type { ClientSuiteCluster, ClientSuiteClusterFactory } from './client-cluster.ts';
import { ClientPool, eventually, Inbox, normaliseCliOutput, runOurs, type CliResult } from './client-support.ts';
import type { CtdbRunResult } from '../../scripts/local-cluster/index.ts';
import { runLegacyCommand } from '../../scripts/cli/legacy/run.ts';

/**
 * Runs a pair of CLI invocations until both print the same (normalised)
 * output, at most 3 times: a recovery between the two runs legitimately
 * changes the generation. The last pair is returned either way.
 */
async function sameOutputOnce(run: () => Promise<[CliResult, CtdbRunResult]>): Promise<[CliResult, CtdbRunResult]> {
  let pair = await run();
  const same = ([a, b]: [CliResult, CtdbRunResult]) =>
    normaliseCliOutput('', a.stdout) === normaliseCliOutput('', b.stdout) && a.exitCode === b.exitCode;
  for (let i = 0; i < 2 && !same(pair); i++) pair = await run();
  return pair;
}

/** SRVIDs and tunnel ids in the test range, unique per run so parallel suites cannot cross-talk. */
const TEST_BASE = 0xae00000000000000n | (BigInt(process.pid & 0xffff) << 32n);
let nextId = 1n;
const testId = () => TEST_BASE | nextId++;

/**
 * The legacy client and `ctdb-bridge legacy` against a 3-node cluster.
 * `startCluster` supplies the cluster (real ctdbd today, the embedded
 * daemon later); it must fail, not skip, when the daemon is missing.
 */
export function defineClientSuite(name: string, startCluster: ClientSuiteClusterFactory): void {
  describe(name, () => {
    let cluster: ClientSuiteCluster;
    const pool = new ClientPool();
    const node = (pnn: number) => cluster.nodes[pnn];

    beforeAll(async () => {
      cluster = await startCluster();
      expect(cluster.nodes.length).toBe(3);
    });
    afterEach(async () => {
      await pool.closeAll();
    });
    afterAll(async () => {
      await pool.closeAll();
      await cluster?.teardown();
    });

    describe('control helpers', () => {
      it('learns the PNN and counts reqids like the C library', async () => {
        for (const n of cluster.nodes) {
          const c = await pool.open(n);
          expect(c.pnn).toBe(n.pnn);
          expect(await c.getPnn()).toBe(n.pnn);
          expect(await c.getPnn({ destnode: (n.pnn + 1) % 3 })).toBe((n.pnn + 1) % 3);
        }
      });

      it('ping, getpid, runstate, recmode, capabilities, debug level, reclock on local and remote nodes', async () => {
        const c = await pool.open(node(0));
        for (const pnn of [0, 1, 2]) {
          const at = { destnode: pnn };
          expect(await c.ping(at)).toBeGreaterThanOrEqual(pnn === 0 ? 1 : 0);
          const pid = await c.getPid(at);
          expect((await cluster.ctdb(pnn, ['getpid'])).stdout).toBe(`${pid}\n`);
          expect(await c.getRunstate(at)).toBe(RunState.RUNNING);
          expect(await c.getRecmode(at)).toBe(0);
          const caps = await c.getCapabilities(at);
          expect(caps & Capability.LMASTER).toBe(Capability.LMASTER);
          expect(caps & Capability.RECMASTER).toBe(Capability.RECMASTER);
          expect(await c.getDebug(at)).toBe(3); // NOTICE, from ctdb.conf
          expect(await c.getReclockFile(at)).toBe(cluster.clusterLock);
        }
      });

      it('node map, nodes file, VNN map and uptime agree with the real ctdb', async () => {
        const c = await pool.open(node(1));
        const map = await c.getNodeMap();
        expect(map.nodes.map((n) => [n.pnn, n.flags, n.addr.address, n.addr.port]))
          .toEqual(cluster.nodes.map((n) => [n.pnn, 0, n.address, 4379]));
        const file = await c.getNodesFile({ destnode: 2 });
        expect(file.nodes.map((n) => n.addr.address)).toEqual(cluster.nodes.map((n) => n.address));
        const vnn = await c.getVnnMap({ destnode: 0 });
        const status = (await cluster.ctdb(1, ['status'])).stdout;
        expect(status).toContain(`Generation:${vnn.generation}\n`);
        expect(status).toContain(`Size:${vnn.map.length}\n`);
        expect([...vnn.map].sort()).toEqual([0, 1, 2]);
        const up = await c.uptime({ destnode: 2 });
        expect(up.ctdbdStartTime.sec).toBeLessThanOrEqual(up.currentTime.sec);
        expect(up.lastRecoveryStarted.sec).toBeLessThanOrEqual(up.lastRecoveryFinished.sec);
        expect(Math.abs(up.currentTime.sec - Date.now() / 1000)).toBeLessThan(30);
      });

      it('databases: attach, db map, name, path, health, seqnum', async () => {
        const c = await pool.open(node(0));
        if (cluster.hasDatabases === false) {
          const err = await c.attachDb('client_suite_vol.tdb').catch((e: unknown) => e);
          expect(err).toBeInstanceOf(LegacyControlError);
          expect((err as LegacyControlError).errorText).toMatch(/no databases yet/);
          expect((await c.getDbMap()).dbs).toEqual([]);
          return;
        }
        const vol = await c.attachDb('client_suite_vol.tdb');
        const pers = await c.attachDb('client_suite_pers.tdb', { persistent: true });
        const repl = await c.attachDb('client_suite_repl.tdb', { replicated: true });
        expect(new Set([vol, pers, repl]).size).toBe(3);
        const map = await c.getDbMap();
        const flags = new Map(map.dbs.map((d) => [d.dbId, d.flags]));
        expect(flags.get(vol)).toBe(0);
        expect(flags.get(pers)).toBe(1);
        expect(flags.get(repl)).toBe(8);
        expect(await c.getDbName(pers)).toBe('client_suite_pers.tdb');
        expect(await c.getDbPath(vol)).toBe(`${node(0).base}/db/volatile/client_suite_vol.tdb.0`);
        expect(await c.getDbHealth(vol)).toBe('');
        expect(await c.getDbSeqnum(pers)).toBe(0n);
        // The attach is broadcast: node 2 knows the database too.
        expect(await c.getDbName(vol, { destnode: 2 })).toBe('client_suite_vol.tdb');
        const real = (await cluster.ctdb(0, ['getdbmap'])).stdout;
        expect(real).toContain(`dbid:0x${vol.toString(16).padStart(8, '0')} name:client_suite_vol.tdb`);
      });

      it('tunables: list, get, set (also on a remote node), all', async () => {
        const c = await pool.open(node(0));
        const names = await c.listTunables();
        expect(names).toContain('RecoverTimeout');
        expect(names).not.toContain('MaxRedirectCount'); // obsolete ones are left out
        const all = await c.getAllTunables({ destnode: 1 });
        expect(await c.getTunable('recovertimeout', { destnode: 1 })).toBe(all.RecoverTimeout);
        const before = await c.getTunable('RecoverTimeout', { destnode: 2 });
        expect(await c.setTunable('RecoverTimeout', before + 7, { destnode: 2 })).toBe('set');
        expect((await cluster.ctdb(2, ['getvar', 'RecoverTimeout'])).stdout).toContain(`= ${before + 7}`);
        expect(await c.getTunable('RecoverTimeout')).toBe(before); // only node 2 changed
        expect(await c.setTunable('RecoverTimeout', before, { destnode: 2 })).toBe('set');
        const err = await c.getTunable('NoSuchTunable').catch((e: unknown) => e);
        expect(err).toBeInstanceOf(LegacyControlError);
        expect((err as LegacyControlError).status).toBe(-22);
      });

      it('public IPs, interfaces, statistics, process-exists, check-pid-srvid, echo', async () => {
        const c = await pool.open(node(2));
        expect((await c.getPublicIps()).ips).toEqual([]); // test mode: failover disabled
        expect((await c.getPublicIps({ destnode: 0, onlyAvailable: true })).ips).toEqual([]);
        expect((await c.getIfaces({ destnode: 1 })).ifaces).toEqual([]);
        const stats = await c.statistics();
        expect(stats.numClients).toBeGreaterThanOrEqual(1);
        expect(stats.statisticsStartTime.sec).toBeLessThanOrEqual(stats.statisticsCurrentTime.sec);
        expect(await c.processExists(process.pid)).toBe(true); // ctdbd knows us by SO_PEERCRED
        expect(await c.processExists(process.pid, { destnode: 0 })).toBe(false); // not a client of node 0
        const srvid = testId();
        await c.registerSrvid(srvid, () => undefined);
        expect(await c.checkPidSrvid(process.pid, srvid)).toBe(true);
        expect(await c.checkPidSrvid(process.pid, srvid + 1n)).toBe(false);
        const payload = Buffer.from('echo through ctdbd');
        expect((await c.echoData(payload, { destnode: 1 })).equals(payload)).toBe(true);
      });

      it('NOREPLY controls reach every node of a broadcast', async () => {
        const c = await pool.open(node(0));
        const level = Buffer.alloc(4);
        level.writeInt32LE(4);
        c.controlNoReply(Control.SET_DEBUG, { destnode: Node.BROADCAST_ALL, data: level });
        for (const pnn of [0, 1, 2]) {
          await eventually(async () => (await c.getDebug({ destnode: pnn })) === 4, 5000, `debug level 4 on node ${pnn}`);
        }
        for (const pnn of [0, 1, 2]) await c.setDebug(3, { destnode: pnn });
        expect(await c.getDebug({ destnode: 2 })).toBe(3);
      });

      it('typed errors: disconnected node, bad arguments, closed client', async () => {
        const c = await pool.open(node(0));
        const err = await c.ping({ destnode: 9 }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(LegacyControlError);
        expect(err).toMatchObject({ status: -1, errorText: 'ctdb_control to disconnected node', destnode: 9 });
        await expect(c.control(Control.PING, { destnode: Node.BROADCAST_ALL })).rejects.toBeInstanceOf(LegacyInvalidArgumentError);
        expect(() => c.sendTunnel({ destnode: Node.CURRENT, tunnelId: 1n })).toThrow(LegacyInvalidArgumentError);
        // Unknown opcode: status -1, no text, connection unharmed.
        expect((await c.control(200)).status).toBe(-1);
        expect(await c.getPnn()).toBe(0);
        await c.close();
        await expect(c.ping()).rejects.toBeInstanceOf(LegacyClientClosedError);
      });

      it('per-call timeout while a remote daemon is frozen; its late reply is ignored', async () => {
        const c = await pool.open(node(0));
        await cluster.pauseNode(2);
        try {
          const started = Date.now();
          const err = await c.ping({ destnode: 2, timeoutMs: 500 }).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(LegacyControlTimeoutError);
          expect(err).toMatchObject({ opcode: Control.PING, destnode: 2, timeoutMs: 500 });
          expect(Date.now() - started).toBeLessThan(3000);
          expect(await c.ping({ destnode: 1 })).toBeGreaterThanOrEqual(0); // other traffic unaffected
        } finally {
          await cluster.resumeNode(2);
        }
        expect(await c.ping({ destnode: 2 })).toBeGreaterThanOrEqual(0);
        expect(c.pendingRequests).toBe(0);
      });
    });

    describe('messages and leader', () => {
      it('delivers a message to a client on another node, and fans out locally to every handler once', async () => {
        const receiver = await pool.open(node(0));
        const sender = await pool.open(node(1));
        const srvid = testId();
        const a = new Inbox<LegacyMessage>();
        const b = new Inbox<LegacyMessage>();
        await receiver.registerSrvid(srvid, a.push);
        const subB = await receiver.registerSrvid(srvid, b.push);
        // Registered once with the daemon, visible to the real CLI.
        const check = await cluster.ctdb(0, ['process-exists', String(process.pid), `0x${srvid.toString(16)}`]);
        expect(check.stdout).toBe(`PID ${process.pid} with SRVID 0x${srvid.toString(16)} exists\n`);
        sender.sendMessage(0, srvid, Buffer.from('hello node 0'));
        const got = await a.next();
        expect(got.data.toString()).toBe('hello node 0');
        expect(got.srcnode).toBe(0); // ctdbd does not tell who sent it
        expect((await b.next()).data.toString()).toBe('hello node 0');
        expect(await a.nothingWithin(300)).toBe(true);
        await subB.close();
        sender.sendMessage(0, srvid, Buffer.from('second'));
        expect((await a.next()).data.toString()).toBe('second');
        expect(await b.nothingWithin(300)).toBe(true);
      });

      it('broadcasts to all, connected and active nodes reach every node; CURRENT stays local', async () => {
        const clients = await Promise.all([0, 1, 2].map((p) => pool.open(node(p))));
        const srvid = testId();
        const inboxes = clients.map(() => new Inbox<LegacyMessage>());
        await Promise.all(clients.map((c, i) => c.registerSrvid(srvid, inboxes[i].push)));
        const send: Array<[string, (c: LegacyClient, d: Buffer) => void]> = [
          ['all', (c, d) => c.sendMessageToAll(srvid, d)],
          ['connected', (c, d) => c.sendMessageToConnected(srvid, d)],
          ['active', (c, d) => c.sendMessageToActive(srvid, d)],
        ];
        for (const [kind, fn] of send) {
          fn(clients[1], Buffer.from(kind));
          for (const inbox of inboxes) {
            const m = await inbox.next();
            expect(m.data.toString()).toBe(kind);
          }
        }
        clients[2].sendMessageToLocal(srvid, Buffer.from('local'));
        expect((await inboxes[2].next()).data.toString()).toBe('local');
        expect(await inboxes[0].nothingWithin(300)).toBe(true);
        expect(await inboxes[1].nothingWithin(0)).toBe(true);
      });

      it('carries 64 KiB payloads intact across nodes', async () => {
        const receiver = await pool.open(node(2));
        const sender = await pool.open(node(0));
        const srvid = testId();
        const inbox = new Inbox<LegacyMessage>();
        await receiver.registerSrvid(srvid, inbox.push);
        const payload = Buffer.alloc(65536);
        for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
        sender.sendMessage(2, srvid, payload);
        expect((await inbox.next()).data.equals(payload)).toBe(true);
      });

      it('learns the leader from SRVID_LEADER broadcasts, same as ctdb leader', async () => {
        const c = await pool.open(node(2));
        const leader = await c.waitForLeader(5000);
        expect(leader).not.toBe(Node.UNKNOWN_PNN);
        expect((await cluster.ctdb(0, ['leader'])).stdout).toBe(`${leader}\n`);
        expect(c.registeredSrvids()).toContain(Srvid.LEADER);
      });
    });

    describe('tunnels', () => {
      it('sends tunnel packets between clients on two nodes; one holder per id and daemon', async () => {
        const a = await pool.open(node(0));
        const b = await pool.open(node(1));
        const other = await pool.open(node(1));
        const tunnelId = testId();
        const inboxA = new Inbox<LegacyTunnelPacket>();
        const inboxB = new Inbox<LegacyTunnelPacket>();
        await a.registerTunnel(tunnelId, inboxA.push);
        const subB = await b.registerTunnel(tunnelId, inboxB.push);
        const dup = await other.registerTunnel(tunnelId, () => undefined).catch((e: unknown) => e);
        expect(dup).toBeInstanceOf(LegacyControlError);
        expect(other.registeredTunnels()).toEqual([]);

        a.sendTunnel({ destnode: 1, tunnelId, flags: TunnelFlag.REQUEST, reqid: 77, data: Buffer.from('to b') });
        const got = await inboxB.next();
        expect(got).toMatchObject({ tunnelId, flags: TunnelFlag.REQUEST, srcnode: 1, reqid: 0 });
        expect(got.data.toString()).toBe('to b');
        b.sendTunnel({ destnode: 0, tunnelId, flags: TunnelFlag.NOREPLY, data: Buffer.from('to a') });
        expect((await inboxA.next()).data.toString()).toBe('to a');

        await subB.close();
        a.sendTunnel({ destnode: 1, tunnelId, data: Buffer.from('nobody home') });
        expect(await inboxB.nothingWithin(300)).toBe(true);
        // Now the id is free on node 1.
        await other.registerTunnel(tunnelId, () => undefined);
      });
    });

    describe('ctdb CLI output', () => {
      const commands: string[][] = [
        ['status'], ['nodestatus'], ['nodestatus', 'all'], ['nodestatus', '0,2'], ['pnn'], ['ping'], ['uptime'],
        ['listnodes'], ['getdbmap'], ['ip'], ['ip', 'all'], ['ifaces'], ['getcapabilities'], ['runstate'],
        ['runstate', 'running'], ['runstate', 'setup'], ['runstate', 'bogus'], ['leader'], ['getvar', 'RecoverTimeout'],
        ['getvar', 'recoverinterval'], ['getvar', 'NoSuchVar'], ['listvars'], ['statistics'], ['getpid'],
        ['process-exists', '1'], ['process-exists', '1', '0xae00000000000001'], ['getreclock'], ['getdebug'],
        ['-n', '1', 'ping'], ['-n', '2', 'status'], ['-n', '1', 'getvar', 'KeepaliveLimit'], ['-n', '2', 'uptime'],
        ['-n', '7', 'ping'], ['-n', '1', 'pnn'], ['-n', '1', 'listnodes'], ['setvar', 'NoSuchVar', '1'],
        ['-n', '2', 'nodestatus', 'all'], ['nodestatus', '5'],
      ];

      for (const args of commands) {
        it(`ctdb ${args.join(' ')}`, async () => {
          const [ours, theirs] = await sameOutputOnce(async () => [await runOurs(node(0), args), await cluster.ctdb(0, args)]);
          const cmd = args.find((a, i) => !a.startsWith('-') && args[i - 1] !== '-n')!;
          expect(normaliseCliOutput(cmd, ours.stdout)).toBe(normaliseCliOutput(cmd, theirs.stdout));
          expect(ours.exitCode).toBe(theirs.exitCode);
          // CLI-level complaints (not the library's debug lines) read the same.
          if (theirs.stderr && !theirs.stderr.includes('ctdb[')) expect(ours.stderr).toBe(theirs.stderr);
        });
      }

      it('setvar changes the value like ctdb setvar', async () => {
        const before = (await runOurs(node(0), ['getvar', 'RecoverTimeout'])).stdout;
        expect((await runOurs(node(0), ['setvar', 'RecoverTimeout', '0x29'])).exitCode).toBe(0);
        expect((await cluster.ctdb(0, ['getvar', 'RecoverTimeout'])).stdout).toBe(`${'RecoverTimeout'.padEnd(26)} = 41\n`);
        const value = before.split('=')[1].trim();
        expect((await runOurs(node(0), ['setvar', 'RecoverTimeout', value])).exitCode).toBe(0);
        expect((await cluster.ctdb(0, ['getvar', 'RecoverTimeout'])).stdout).toBe(before);
        expect((await runOurs(node(0), ['setvar', 'RecoverTimeout', '-5'])).exitCode).toBe(22);
      });

      it('--json emits the decoded wire data', async () => {
        let json = '';
        const code = await runLegacyCommand({
          command: 'status', args: [], json: true, socket: node(1).socketPath, env: {},
          stdout: (t) => { json += t; }, stderr: () => undefined,
        });
        expect(code).toBe(0);
        const parsed = JSON.parse(json);
        expect(parsed.nodemap.nodes.map((n: { addr: { address: string } }) => n.addr.address))
          .toEqual(cluster.nodes.map((n) => n.address));
        expect(parsed.vnnmap.map).toHaveLength(3);
        expect(parsed.recmode).toBe(0);
        expect(parsed.runstate).toBe(RunState.RUNNING);
      });

      it('the ctdb-bridge binary runs the same command end to end', async () => {
        const bin = fileURLToPath(new URL('../../scripts/bin/ctdb-bridge.cjs', import.meta.url));
        const result = await new Promise<{ stdout: string; code: number | null }>((resolve, reject) => {
          const child = spawn(process.execPath, [bin, 'legacy', 'nodestatus', 'all'], {
            env: { ...process.env, CTDB_TEST_MODE: 'yes', CTDB_BASE: node(2).base, CTDB_SOCKET: undefined },
            stdio: ['ignore', 'pipe', 'inherit'],
          });
          let stdout = '';
          child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
          child.once('error', reject);
          child.once('close', (code) => resolve({ stdout, code }));
        });
        const theirs = await cluster.ctdb(2, ['nodestatus', 'all']);
        expect(result.stdout).toBe(theirs.stdout);
        expect(result.code).toBe(theirs.exitCode);
      });
    });

    describe('ctdbd going away', () => {
      it('fails in-flight requests, reconnects, re-registers SRVIDs and tunnels, and the CLI matches ctdb meanwhile', async () => {
        const victim = node(2);
        const c = await pool.open(victim);
        const peer = await pool.open(node(0));
        const srvid = testId();
        const tunnelId = testId();
        const messages = new Inbox<LegacyMessage>();
        const tunnelPackets = new Inbox<LegacyTunnelPacket>();
        await c.registerSrvid(srvid, messages.push);
        await c.registerTunnel(tunnelId, tunnelPackets.push);
        await peer.registerTunnel(tunnelId, () => undefined); // the sender must hold the id on its own daemon
        const events: string[] = [];
        c.on('disconnect', (e) => events.push(`disconnect:${e.failedRequests}:${e.willReconnect}`));
        c.on('reconnect', (e) => events.push(`reconnect:${e.srvids}:${e.tunnels}`));
        c.on('reregisterFailed', (e) => events.push(`reregisterFailed:${e.kind}`));

        // A request the frozen daemon will never answer, then the crash.
        await cluster.pauseNode(2);
        const inFlight = c.getPnn({ timeoutMs: 60_000 }).catch((e: unknown) => e);
        await cluster.killNode(2);
        const err = await inFlight;
        expect(err).toBeInstanceOf(LegacyDisconnectedError);
        await eventually(() => events.includes('disconnect:1:true'), 5000, 'disconnect event');
        expect(c.state).toBe('reconnecting');
        await expect(c.ping()).rejects.toBeInstanceOf(LegacyNotConnectedError);
        expect(() => c.sendMessage(0, srvid)).toThrow(LegacyNotConnectedError);

        // While node 2 is down, the CLI must agree with ctdb on what node 0 sees
        // (once the survivors have recovered without it: the VNN map shrinks).
        await eventually(async () => (await peer.getVnnMap()).map.length === 2 && (await peer.getRecmode()) === 0,
          30_000, 'recovery without node 2');
        for (const args of [['nodestatus', 'all'], ['status'], ['-n', '2', 'ping']]) {
          const [ours, theirs] = await sameOutputOnce(async () => [await runOurs(node(0), args), await cluster.ctdb(0, args)]);
          expect(normaliseCliOutput(args[0], ours.stdout)).toBe(normaliseCliOutput(args[0], theirs.stdout));
          expect(ours.exitCode).toBe(theirs.exitCode);
          expect(ours.stderr).toBe(theirs.stderr);
        }

        await cluster.startNode(2);
        await eventually(() => c.connected, 30_000, 'client reconnected');
        expect(events.filter((e) => e.startsWith('reconnect:'))).toEqual(['reconnect:2:1']); // test srvid + LEADER, tunnel
        expect(events).not.toContain('reregisterFailed:srvid');
        expect(c.pnn).toBe(2);
        expect(await c.getPnn()).toBe(2);

        // Proof of re-registration: the daemon knows our SRVID again and delivers messages and tunnel packets.
        const check = await cluster.ctdb(2, ['process-exists', String(process.pid), `0x${srvid.toString(16)}`]);
        expect(check.stdout).toContain('exists');
        expect(check.exitCode).toBe(0);
        const got = await eventually(async () => {
          peer.sendMessage(2, srvid, Buffer.from('after restart'));
          try { return await messages.next(500); } catch { return undefined; }
        }, 15_000, 'message after restart');
        expect(got.data.toString()).toBe('after restart');
        const packet = await eventually(async () => {
          peer.sendTunnel({ destnode: 2, tunnelId, data: Buffer.from('tunnel after restart') });
          try { return await tunnelPackets.next(500); } catch { return undefined; }
        }, 15_000, 'tunnel packet after restart');
        expect(packet.data.toString()).toBe('tunnel after restart');
        expect(await c.waitForLeader(5000)).not.toBe(Node.UNKNOWN_PNN);
        const map = await c.getNodeMap();
        expect(map.nodes.every((n) => (n.flags & NodeFlag.INACTIVE) === 0)).toBe(true);
      });
    });
  });
}
