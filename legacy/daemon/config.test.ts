import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { candidateAddresses, loadDaemonConfig, parseTunablesFile } from './config.ts';
import { Daemon } from './daemon.ts';
import { DaemonConfigError } from './errors.ts';
import { silentLogger } from '../common/log.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function base(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ctdb-config-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

const CONF = `[logging]
\tlocation = file:/var/log/log.ctdb
\tlog level = INFO
[cluster]
\tnode address = 10.0.0.2
\tcluster lock = /shared/lock
\tleader timeout = 7
[database]
\tvolatile database directory = /tmp
[failover]
\tdisabled = true
[legacy]
\tstart as disabled = yes
`;

describe('daemon configuration', () => {
  it('reads ctdb.conf, nodes, public_addresses and ctdb.tunables like ctdbd in test mode', async () => {
    const dir = await base({
      'ctdb.conf': CONF,
      nodes: '10.0.0.1\n\n10.0.0.2\n# 10.0.0.9 retired\n10.0.0.3\n',
      public_addresses: '192.168.1.10/24 eth0,eth1\n# comment\nfd00::5/64 eth2\n',
      'ctdb.tunables': 'RecoverTimeout=42\n# note\nkeepaliveinterval = 2\n',
    });
    const c = await loadDaemonConfig(dir, { interfaces: 'any' });
    expect(c.socketPath).toBe(join(dir, 'run', 'ctdbd.socket'));
    expect(c.pidFile).toBe(join(dir, 'run', 'ctdbd.pid'));
    expect(c.nodes).toEqual([
      { pnn: 0, address: '10.0.0.1', deleted: false },
      { pnn: 1, address: '10.0.0.2', deleted: false },
      { pnn: 2, address: '0.0.0.0', deleted: true },
      { pnn: 3, address: '10.0.0.3', deleted: false },
    ]);
    expect(c.nodeAddress).toBe('10.0.0.2');
    expect(c.port).toBe(4379);
    expect(c.logLevel).toBe(5);
    expect(c.clusterLock).toBe('/shared/lock');
    expect(c.leaderTimeoutSec).toBe(7);
    expect(c.failoverDisabled).toBe(true);
    expect(c.startAsDisabled).toBe(true);
    expect(c.startAsStopped).toBe(false);
    expect(c.volatileDbDir).toBe('/tmp');
    expect(c.publicAddresses).toEqual([
      { address: '192.168.1.10', prefixLength: 24, interfaces: ['eth0', 'eth1'] },
      { address: 'fd00::5', prefixLength: 64, interfaces: ['eth2'] },
    ]);
    expect(c.tunables.map((t) => [t.name, t.value])).toEqual([['RecoverTimeout', 42], ['keepaliveinterval', 2]]);
    const d = new Daemon({ config: c, logger: silentLogger(), writePidFile: false });
    expect(d.tunables.get('RecoverTimeout')).toBe(42);
    expect(d.tunables.get('KeepaliveInterval')).toBe(2);
    expect(candidateAddresses(c)).toEqual(['10.0.0.2']);
  });

  it('without node address every listed address is a candidate, deleted ones excepted', async () => {
    const dir = await base({ nodes: '10.0.0.1\n#\n10.0.0.3\n' });
    const c = await loadDaemonConfig(dir, { port: 12345 });
    expect(candidateAddresses(c)).toEqual(['10.0.0.1', '10.0.0.3']);
    expect(c.port).toBe(12345);
    expect(c.logLevel).toBe(3);
  });

  it('turns every bad input into a DaemonConfigError naming file and line', async () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{}, /nodes: nodes file not found/],
      [{ nodes: 'not-an-ip\n' }, /nodes:1: Invalid IP address not-an-ip$/],
      [{ nodes: '10.0.0.1\n10.0.0.2 # second\n' }, /nodes:2: Invalid IP address 10.0.0.2 # second/],
      [{ nodes: '\n#\n' }, /no nodes listed/],
      [{ nodes: '10.0.0.1\n', 'ctdb.conf': '[cluster]\nnode address = 10.0.0.9\n' }, /ctdb.conf:2: node address 10.0.0.9 is not in the nodes list/],
      [{ nodes: '10.0.0.1\n', 'ctdb.conf': '[cluster]\nnode address = banana\n' }, /ctdb.conf:2: .*"banana" is not an IP address/],
      [{ nodes: '10.0.0.1\n', 'ctdb.conf': '[logging]\nlog level = LOUD\n' }, /ctdb.conf:2: .*log level = "LOUD" is not a debug level/],
      [{ nodes: '10.0.0.1\n', 'ctdb.conf': '[logging]\nlocation = stderr\n' }, /is not a log location/],
      [{ nodes: '10.0.0.1\n', 'ctdb.conf': '[legacy]\nstart as stopped = maybe\n' }, /is not true, yes, false or no/],
      [{ nodes: '10.0.0.1\n', 'ctdb.conf': '[cluster]\ntransport = ib\n' }, /transport = "ib" is not supported/],
      [{ nodes: '10.0.0.1\n', 'ctdb.conf': '[database]\nstate database directory = /nonexistent/state\n' }, /ctdb.conf:2: .*does not exist/],
      [{ nodes: '10.0.0.1\n', public_addresses: '10.1.1.1 lo\n' }, /public_addresses:1: "10.1.1.1" has no \/MASK/],
      [{ nodes: '10.0.0.1\n', public_addresses: '# x\n10.1.1.1/24 no-such-if0\n' }, /public_addresses:2: unknown interface no-such-if0/],
      [{ nodes: '10.0.0.1\n', 'ctdb.tunables': 'RecoverTimeout: 3\n' }, /ctdb.tunables:1: expected "Name=value"/],
    ];
    for (const [files, re] of cases) {
      const dir = await base(files);
      const err = await loadDaemonConfig(dir).catch((e: unknown) => e);
      expect(err, JSON.stringify(files)).toBeInstanceOf(DaemonConfigError);
      expect((err as Error).message).toMatch(re);
    }
  });

  it('accepts what ctdbd accepts, with a warning: unknown settings, duplicate nodes', async () => {
    const dir = await base({
      nodes: '10.0.0.1\n10.0.0.1\n',
      'ctdb.conf': '[bogus]\nx = 1\n[cluster]\nnode adress = 10.0.0.1\n',
    });
    const warned: string[] = [];
    const logger = { warn: (_o: unknown, msg: string) => warned.push(msg) } as unknown as import('pino').Logger;
    const c = await loadDaemonConfig(dir, { logger });
    expect(c.nodes.map((n) => n.address)).toEqual(['10.0.0.1', '10.0.0.1']);
    expect(c.warnings.map((w) => `${w.line}`)).toEqual(['1', '4', '2']);
    expect(warned).toHaveLength(3);
    expect(warned[0]).toMatch(/unknown section \[bogus\]/);
    expect(warned[2]).toMatch(/already node 0/);
  });

  it('spells the node address as the nodes list does (IPv4-mapped, IPv6 case)', async () => {
    const dir = await base({ nodes: '10.0.0.1\nFD00:0::5\n', 'ctdb.conf': '[cluster]\nnode address = ::ffff:10.0.0.1\n' });
    expect((await loadDaemonConfig(dir)).nodeAddress).toBe('10.0.0.1');
    expect((await loadDaemonConfig(dir, { nodeAddress: 'fd00::0:5' })).nodeAddress).toBe('fd00::5');
  });

  it('an unknown tunable name in ctdb.tunables fails when the daemon is built', async () => {
    const dir = await base({ nodes: '10.0.0.1\n', 'ctdb.tunables': 'NoSuchTunable=1\n' });
    const c = await loadDaemonConfig(dir);
    expect(() => new Daemon({ config: c, logger: silentLogger() })).toThrow(/ctdb.tunables:1: unknown tunable "NoSuchTunable"/);
  });

  it('parsers accept the documented forms', () => {
    expect(parseTunablesFile('# only comments\n\n', 't')).toEqual([]);
  });
});
