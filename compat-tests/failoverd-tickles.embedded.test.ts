import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { silentLogger } from '../legacy/common/log.ts';
import { runCommand, type CommandRunner } from '../components/failoverd/native/commands.ts';
import { HostExecutor } from '../components/failoverd/native/executor.ts';
import { Control } from '../legacy/protocol/controls.ts';
import { connectionDef } from '../legacy/protocol/types/public-ip.ts';
import { RawClient } from '../legacy/daemon/testing/raw-client.ts';
import { signal, waitForExit } from '../scripts/local-cluster/processes.ts';
import { FailoverdNetnsCluster, type FailoverdClusterKind } from './support/failoverd-netns.ts';

/**
 * Tickle ACKs after a failover, end to end: a TCP server in a node's
 * namespace listens on a public address the node hosts, a client in the
 * client namespace holds two idle connections to it, and a local client of
 * that node's daemon registers one of them with TCP_CLIENT, as smbd does.
 * Every other node then lists it (`ctdb gettickles`). After kill -9 of the
 * node, the node that takes the address over sends the client a tickle ACK:
 * the client answers it, the taker has no socket for it and resets it, so the
 * registered connection fails (ECONNRESET) about as soon as the address
 * moved, while the unregistered one sits there until it sends something.
 *
 * Embedded: our daemon with failoverd native (its executor runs `ctdb
 * tickle`). Real: Debian's ctdbd doing its own failover, the same
 * expectations (they are ctdbd's). Subnets 10.160-169.0.0/24.
 *
 * IPv6 (the netns clusters have IPv4 public addresses only): native mode's
 * executor alone, on three namespaces of its own (old host, taker, client on
 * a bridge, fd00:169::/64): a releaseip resets the connections still
 * established on the address (ctdb_killtcp, as 10.interface); after the old
 * host's link goes down, the taker's takeip announces the address with an
 * unsolicited neighbour advertisement (the client's neighbour cache moves to
 * the taker's MAC) and tickles the registered connection (reset), not the
 * other one; an updateip moves the address to the host's other interface,
 * announces it there and the connections go on.
 */
const run = promisify(execFile);

const SERVER_PORT = 4450;
/** From "the address answers on the taker" to the reset: the first tickle round follows the takeover at once. */
const RESET_BOUND_MS = 3000;

/** A small node script inside a network namespace, its stdout lines kept. */
class NsScript {
  readonly lines: string[] = [];
  private readonly waiters: Array<() => void> = [];
  private constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.lines.push(line);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static start(ns: string, script: string, args: string[]): NsScript {
    // `ip netns exec` execs the program: the PID is node's own.
    return new NsScript(spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] }));
  }

  find(re: RegExp): RegExpMatchArray | undefined {
    for (const l of this.lines) {
      const m = re.exec(l);
      if (m) return m;
    }
    return undefined;
  }

  async waitFor(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.find(re);
      if (m) return m;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${re} (lines: ${JSON.stringify(this.lines)})`);
      await Promise.race([new Promise<void>((r) => this.waiters.push(r)), sleep(Math.min(left, 500))]);
    }
  }

  send(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  async stop(): Promise<void> {
    const pid = this.child.pid;
    if (pid === undefined || this.child.exitCode !== null) return;
    signal(pid, 'SIGKILL');
    await waitForExit([pid], 5000);
  }
}

const SERVER = `
const net = require('net');
const [host, port] = process.argv.slice(1);
const held = [];
net.createServer((c) => {
  held.push(c);
  c.on('error', () => {});
  c.on('data', (d) => console.log('data ' + d.length));
  console.log('accepted ' + c.remotePort);
})
  .listen(Number(port), host, () => console.log('listening'));
`;

/** Two idle connections; "poke" on stdin writes on the untracked one. */
const CLIENT = `
const net = require('net');
const [host, port] = process.argv.slice(1);
const socks = {};
for (const name of ['tracked', 'untracked']) {
  const s = net.connect(Number(port), host, () => console.log('connected ' + name + ' ' + s.localAddress + ' ' + s.localPort));
  s.on('error', (e) => console.log('error ' + name + ' ' + e.code + ' ' + Date.now()));
  s.on('close', () => console.log('closed ' + name + ' ' + Date.now()));
  socks[name] = s;
}
process.stdin.on('data', () => socks.untracked.write('x'));
`;

function defineTickleScenario(kind: FailoverdClusterKind, subnetRange: [number, number]): void {
  describe(`tickle ACKs after kill -9 of the host (${kind === 'embedded' ? 'embedded daemon + failoverd native' : 'real ctdbd'})`, () => {
    let fc: FailoverdNetnsCluster | undefined;
    const scripts: NsScript[] = [];
    let smbd: RawClient | undefined;

    afterAll(async () => {
      for (const s of scripts) await s.stop().catch(() => undefined);
      await smbd?.close().catch(() => undefined);
      await fc?.down();
    }, 60_000);

    test('the registered connection is reset as soon as the address moves; gettickles listed it before on every other node', async () => {
      const startedUp = Date.now();
      fc = await FailoverdNetnsCluster.up({ kind, nodes: 3, subnetRange, prefix: 'ctdb-bridge-tickles-' });
      // Embedded: failoverd native does the failover. Real: ctdbd does it itself (no bridge).
      if (kind === 'embedded') for (const n of fc.cluster.nodes) await fc.startBridge(n.pnn);
      const placement = await fc.steady(60_000, 1000);
      const leader = kind === 'embedded' ? (await fc.status()).leader : await fc.cluster.leader();
      const victim = [0, 1, 2].find((p) => p !== leader && [...placement.values()].includes(p))!;
      const address = [...placement].find(([, p]) => p === victim)![0];
      const topology = fc.cluster.netns.topology;
      console.info(`tickles ${kind}: cluster up and settled in ${Date.now() - startedUp} ms; ${address} on node ${victim}, leader ${leader}`);

      const server = NsScript.start(topology.nodeNamespaces[victim]!, SERVER, [address, String(SERVER_PORT)]);
      scripts.push(server);
      await server.waitFor(/^listening$/, 10_000);
      const client = NsScript.start(topology.clientNamespace, CLIENT, [address, String(SERVER_PORT)]);
      scripts.push(client);
      const [, clientIp, clientPort] = await client.waitFor(/^connected tracked (\S+) (\d+)$/, 10_000);
      await client.waitFor(/^connected untracked /, 10_000);

      // As smbd does for each client: TCP_CLIENT (dst the public address, src the client) on the hosting node.
      smbd = await RawClient.open(fc.cluster.nodes[victim]!.socketPath);
      const registered = await smbd.control(Control.TCP_CLIENT, {
        data: connectionDef.encode({
          src: { family: 'inet', address: clientIp!, port: Number(clientPort) }, dst: { family: 'inet', address, port: SERVER_PORT },
        }),
      });
      expect(registered.status).toBe(0);
      const endpoint = `${clientIp}:${clientPort}`;
      for (const pnn of [0, 1, 2].filter((p) => p !== victim)) {
        const deadline = Date.now() + 10_000;
        for (;;) {
          const r = await fc.cluster.ctdb(pnn, ['gettickles', address], { timeoutMs: 5000 });
          if (r.exitCode === 0 && r.stdout.includes(`SRC: ${endpoint}`) && r.stdout.includes(`DST: ${address}:${SERVER_PORT}`)) break;
          if (Date.now() > deadline) throw new Error(`ctdb gettickles ${address} on node ${pnn} never listed ${endpoint}: ${r.stdout}${r.stderr}`);
          await sleep(100);
        }
      }

      // Debian's addtickle / deltickle (TCP_ADD_DELAYED_UPDATE / TCP_REMOVE) on a node that does not host it.
      const other = [0, 1, 2].find((p) => p !== victim)!;
      const fake = `${topology.clientAddresses[1]!.replace(/\.\d+$/, '.253')}:5555`;
      const listed = async () => (await fc!.cluster.ctdb(other, ['gettickles', address], { timeoutMs: 5000 })).stdout;
      expect((await fc.cluster.ctdb(other, ['addtickle', fake, `${address}:${SERVER_PORT}`], { timeoutMs: 5000 })).exitCode).toBe(0);
      expect(await listed()).toContain(`SRC: ${fake}`);
      expect((await fc.cluster.ctdb(other, ['deltickle', fake, `${address}:${SERVER_PORT}`], { timeoutMs: 5000 })).exitCode).toBe(0);
      const after = await listed();
      expect(after).not.toContain(`SRC: ${fake}`);
      expect(after).toContain(`SRC: ${endpoint}`);

      const killed = Date.now();
      await fc.killNode(victim);
      let taker: number | undefined;
      let moved = 0;
      while (Date.now() - killed < 30_000) {
        const p = await fc.cluster.netns.whoAnswers(address);
        if (p !== undefined && p !== victim) {
          taker = p;
          moved = Date.now();
          break;
        }
        await sleep(20);
      }
      expect(taker, `${address} answered by a survivor`).toBeDefined();
      const [, code, at] = await client.waitFor(/^error tracked (\S+) (\d+)$/, 15_000);
      const resetAfterMove = Number(at) - moved;
      console.info(`tickles ${kind}: kill -9 node ${victim} -> ${address} answered by node ${taker} after ${moved - killed} ms, `
        + `registered connection reset (${code}) ${Number(at) - killed} ms after the kill, ${resetAfterMove} ms after the move`);
      expect(['ECONNRESET', 'EPIPE']).toContain(code);
      expect(resetAfterMove).toBeLessThan(RESET_BOUND_MS);

      // The unregistered one got no tickle: it only learns when it sends (then the taker resets it too).
      await sleep(Math.max(0, Number(at) + 2500 - Date.now()));
      expect(client.find(/^(error|closed) untracked/), 'the unregistered connection is untouched').toBeUndefined();
      client.send('poke');
      const [, pokedCode] = await client.waitFor(/^error untracked (\S+) \d+$/, 10_000);
      expect(pokedCode).toBe('ECONNRESET');
    }, 150_000);
  });
}

defineTickleScenario('embedded', [160, 164]);
defineTickleScenario('real', [165, 169]);

describe('IPv6: unsolicited neighbour advertisement and tickle ACKs from native mode\'s executor', () => {
  const tag = `fttk${process.pid.toString(36)}`;
  const ns = { old: `${tag}-old`, taker: `${tag}-take`, client: `${tag}-cl` };
  const address = 'fd00:169::1';
  const clientAddress = 'fd00:169::fe';
  const scripts: NsScript[] = [];
  let base: string;
  const ip = (...args: string[]) => run('ip', args);

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'ctdb-bridge-tickles6-'));
    for (const name of Object.values(ns)) await ip('netns', 'add', name);
    await ip('-n', ns.client, 'link', 'add', 'br0', 'type', 'bridge');
    for (const [host, port] of [[ns.old, 'p-old'], [ns.taker, 'p-take']] as const) {
      // Made inside the namespaces (nothing in the host's own).
      await ip('-n', ns.client, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host);
      await ip('-n', ns.client, 'link', 'set', port, 'master', 'br0', 'up');
      await ip('-n', host, 'link', 'set', 'eth0', 'up');
      await ip('-n', host, 'link', 'set', 'lo', 'up');
    }
    await ip('-n', ns.client, 'link', 'set', 'br0', 'up');
    await ip('-n', ns.client, 'addr', 'add', `${clientAddress}/64`, 'dev', 'br0', 'nodad');
  }, 30_000);

  afterAll(async () => {
    for (const s of scripts) await s.stop().catch(() => undefined);
    for (const name of Object.values(ns)) await ip('netns', 'del', name).catch(() => undefined);
    await rm(base, { recursive: true, force: true });
  }, 30_000);

  test('releaseip on the old host resets what is still established on the address, the client\'s end too (10.interface\'s killtcp step)', async () => {
    await ip('-n', ns.old, 'addr', 'add', `${address}/64`, 'dev', 'eth0', 'nodad');
    const port = String(SERVER_PORT + 1);
    const server = NsScript.start(ns.old, SERVER, [address, port]);
    scripts.push(server);
    await server.waitFor(/^listening$/, 10_000);
    const client = NsScript.start(ns.client, CLIENT, [address, port]);
    scripts.push(client);
    await client.waitFor(/^connected untracked /, 10_000);
    await client.waitFor(/^connected tracked /, 10_000);
    const inOld: CommandRunner = (program, args, opts) => runCommand('ip', ['netns', 'exec', ns.old, program, ...args], opts);
    const executor = new HostExecutor({ base, log: silentLogger('tickles6'), run: inOld });
    const started = Date.now();
    await executor.execute({ event: 'releaseip', iface: 'eth0', address, prefixLength: 64 });
    console.info(`tickles IPv6: releaseip with 2 established connections took ${Date.now() - started} ms`);
    expect(executor.counters).toMatchObject({ killed: 2, failedKills: 0 });
    await client.waitFor(/^error tracked ECONNRESET/, 5000);
    await client.waitFor(/^error untracked ECONNRESET/, 5000);
    expect((await ip('-n', ns.old, '-6', 'addr', 'show', 'dev', 'eth0')).stdout).not.toContain(address);
    await server.stop();
    await client.stop();
  }, 60_000);

  test('the taker announces the address (the client\'s neighbour cache follows) and the registered connection is reset', async () => {
    await ip('-n', ns.old, 'addr', 'add', `${address}/64`, 'dev', 'eth0', 'nodad');
    const server = NsScript.start(ns.old, SERVER, [address, String(SERVER_PORT)]);
    scripts.push(server);
    await server.waitFor(/^listening$/, 10_000);
    const client = NsScript.start(ns.client, CLIENT, [address, String(SERVER_PORT)]);
    scripts.push(client);
    const [, clientIp, clientPort] = await client.waitFor(/^connected tracked (\S+) (\d+)$/, 10_000);
    await client.waitFor(/^connected untracked /, 10_000);
    const mac = async (n: string) => JSON.parse((await ip('-j', '-n', n, 'link', 'show', 'eth0')).stdout)[0].address as string;
    const neighbour = async () => (JSON.parse((await ip('-j', '-n', ns.client, '-6', 'neigh', 'show', address)).stdout)[0]?.lladdr as string | undefined);
    expect(await neighbour()).toBe(await mac(ns.old));

    // The old host dies off the network; the taker (native mode's executor, in its namespace) takes the address over.
    await ip('-n', ns.client, 'link', 'set', 'p-old', 'down');
    const inTaker: CommandRunner = (program, args, opts) => runCommand('ip', ['netns', 'exec', ns.taker, program, ...args], opts);
    const executor = new HostExecutor({ base, log: silentLogger('tickles6'), run: inTaker });
    const took = Date.now();
    await executor.execute({
      event: 'takeip', iface: 'eth0', address, prefixLength: 64,
      connections: [{ client: { address: clientIp!, port: Number(clientPort) }, server: { address, port: SERVER_PORT } }],
    });
    const [, code, at] = await client.waitFor(/^error tracked (\S+) (\d+)$/, 10_000);
    console.info(`tickles IPv6: registered connection reset (${code}) ${Number(at) - took} ms after takeip; client's neighbour entry now ${await neighbour()}`);
    expect(code).toBe('ECONNRESET');
    expect(await neighbour(), 'the unsolicited NA moved the client to the taker').toBe(await mac(ns.taker));
    await executor.idle();
    expect(executor.counters).toMatchObject({ announcements: 3, tickles: 3, failedTickles: 0 });
    expect(client.find(/^(error|closed) untracked/), 'the unregistered connection is untouched').toBeUndefined();
  }, 60_000);

  test('updateip: the address moves to the host\'s other interface, is announced there, and its connections go on', async () => {
    // The taker gets a second interface on the bridge; the address is on its eth0 (previous test).
    await ip('-n', ns.client, 'link', 'add', 'p-take1', 'type', 'veth', 'peer', 'name', 'eth1', 'netns', ns.taker);
    await ip('-n', ns.client, 'link', 'set', 'p-take1', 'master', 'br0', 'up');
    await ip('-n', ns.taker, 'link', 'set', 'eth1', 'up');
    const port = String(SERVER_PORT + 2);
    const server = NsScript.start(ns.taker, SERVER, [address, port]);
    scripts.push(server);
    await server.waitFor(/^listening$/, 10_000);
    const client = NsScript.start(ns.client, CLIENT, [address, port]);
    scripts.push(client);
    await client.waitFor(/^connected untracked /, 10_000);
    const inTaker: CommandRunner = (program, args, opts) => runCommand('ip', ['netns', 'exec', ns.taker, program, ...args], opts);
    const executor = new HostExecutor({ base, log: silentLogger('tickles6'), run: inTaker });
    await executor.execute({ event: 'updateip', oldIface: 'eth0', iface: 'eth1', address, prefixLength: 64 });
    const shown = async (dev: string) => (await ip('-n', ns.taker, '-6', 'addr', 'show', 'dev', dev)).stdout;
    expect(await shown('eth1')).toContain(address);
    expect(await shown('eth0')).not.toContain(address);
    const macOf = async (dev: string) => JSON.parse((await ip('-j', '-n', ns.taker, 'link', 'show', dev)).stdout)[0].address as string;
    const neighbour = async () => (JSON.parse((await ip('-j', '-n', ns.client, '-6', 'neigh', 'show', address)).stdout)[0]?.lladdr as string | undefined);
    await executor.idle();
    expect(await neighbour(), 'announced on the new interface').toBe(await macOf('eth1'));
    expect(executor.counters.tickles, 'both connections, both ways, every round').toBe(3 * 4);
    client.send('poke');
    await server.waitFor(/^data 1$/, 5000);
    expect(client.find(/^(error|closed) /), 'nothing was reset').toBeUndefined();
  }, 60_000);
});
