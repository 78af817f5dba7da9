import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../../legacy/common/log.ts';
import type { LegacyMessage } from '../../../legacy/client/events.ts';
import { BridgeSrvid } from '../../../legacy/protocol/srvid.ts';
import type { CommandRunner } from './commands.ts';
import { enabledScripts } from './event-scripts.ts';
import { HostExecutor } from './executor.ts';
import { addAddressArgs, deleteAddressArgs, findDrift, parseAddresses } from './host-addresses.ts';
import { parseEstablished } from './release-kill.ts';
import { MAX_QUEUED_EVENTS, NativeHost, parseRequest, type NativeLink } from './native-host.ts';

const h1 = { address: '10.5.1.1', prefixLength: 24, iface: 'eth1' };
const h6 = { address: 'fd00::5', prefixLength: 64, iface: 'eth1' };
const log = silentLogger('test');

describe('host addresses', () => {
  it('ip command lines for IPv4 and IPv6', () => {
    expect(addAddressArgs(h1)).toEqual(['addr', 'add', '10.5.1.1/24', 'brd', '+', 'dev', 'eth1']);
    expect(deleteAddressArgs(h1)).toEqual(['addr', 'del', '10.5.1.1/24', 'dev', 'eth1']);
    expect(addAddressArgs(h6)).toEqual(['-6', 'addr', 'add', 'fd00::5/64', 'dev', 'eth1', 'nodad']);
    expect(deleteAddressArgs(h6)).toEqual(['-6', 'addr', 'del', 'fd00::5/64', 'dev', 'eth1']);
  });

  it('reads `ip -j addr show` and finds what is missing and what is stray', () => {
    const shown = JSON.stringify([
      { ifname: 'lo', addr_info: [{ local: '127.0.0.1' }] },
      { ifname: 'eth1', addr_info: [{ local: '10.5.0.1' }, { local: '10.5.1.2' }] },
    ]);
    const onHost = parseAddresses(shown);
    expect(onHost.get('10.5.1.2')).toBe('eth1');
    const pub = [{ address: '10.5.1.1', prefixLength: 24 }, { address: '10.5.1.2', prefixLength: 24 }, { address: '10.5.1.3', prefixLength: 24 }];
    expect(findDrift(onHost, [h1], pub)).toEqual({ missing: [h1], stray: [{ address: '10.5.1.2', prefixLength: 24, iface: 'eth1' }] });
    expect(() => parseAddresses('nope')).toThrow(/no JSON/);
  });
});

describe('HostExecutor', () => {
  it('deleting an IPv4 address first makes its interface promote secondaries (else the subnet\'s other addresses go with a primary); IPv6 needs no such step', async () => {
    const ran: string[] = [];
    const onHost = JSON.stringify([{ ifname: 'eth1', addr_info: [{ local: h1.address }, { local: h6.address }] }]);
    const x = new HostExecutor({ base: '/nonexistent', log, run: async (program, args) => {
      ran.push([program, ...args].join(' '));
      return { exitCode: program === 'sysctl' ? 255 : 0, stdout: onHost, stderr: program === 'sysctl' ? 'permission denied' : '' };
    } });
    await x.reconcile([], [{ address: h1.address, prefixLength: 24 }, { address: h6.address, prefixLength: 64 }]);
    expect(ran, 'a failing sysctl is reported; the delete still happens').toEqual([
      'ip -j addr show', 'sysctl -q -w net/ipv4/conf/eth1/promote_secondaries=1', 'ip addr del 10.5.1.1/24 dev eth1', 'ip -6 addr del fd00::5/64 dev eth1',
    ]);
  });

  let base: string;
  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'native-exec-'));
    const dir = join(base, 'events', 'legacy');
    await mkdir(dir, { recursive: true });
    for (const [name, mode] of [['10.interface.script', 0o755], ['49.winbind.script', 0o644], ['50.samba.script', 0o755], ['README', 0o755]] as const) {
      await writeFile(join(dir, name), '#!/bin/sh\nexit 0\n');
      await chmod(join(dir, name), mode);
    }
  });
  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  function recorder(fail: (program: string, args: readonly string[]) => { exitCode: number; stderr: string } | undefined = () => undefined) {
    const ran: string[] = [];
    const run: CommandRunner = async (program, args) => {
      ran.push([program.split('/').pop(), ...args].join(' '));
      const f = fail(program, args);
      return { exitCode: f?.exitCode ?? 0, stdout: '[]', stderr: f?.stderr ?? '' };
    };
    return { ran, run };
  }

  it('runs only enabled NN.name.script files, not 10.interface (native mode adds addresses itself)', async () => {
    expect((await enabledScripts(join(base, 'events', 'legacy'))).map((p) => p.split('/').pop())).toEqual(['50.samba.script']);
    expect(await enabledScripts(join(base, 'nowhere'))).toEqual([]);
  });

  it('takeip: address, then scripts, then gratuitous ARP; releaseip: scripts, connections reset, then address', async () => {
    const r = recorder();
    const x = new HostExecutor({ base, log, run: r.run, arpCount: 1 });
    await x.execute({ event: 'takeip', ...h1 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(r.ran).toEqual([
      'ip addr add 10.5.1.1/24 brd + dev eth1', '50.samba.script takeip eth1 10.5.1.1 24', 'arping -U -c 1 -w 1 -I eth1 10.5.1.1',
    ]);
    r.ran.length = 0;
    await x.execute({ event: 'releaseip', ...h1 });
    await x.execute({ event: 'ipreallocated' });
    expect(r.ran).toEqual([
      '50.samba.script releaseip eth1 10.5.1.1 24', 'ss -tnH state established src [10.5.1.1]',
      'sysctl -q -w net/ipv4/conf/eth1/promote_secondaries=1', 'ip addr del 10.5.1.1/24 dev eth1',
      '50.samba.script ipreallocated',
    ]);
  });

  it('takeip with connections: three rounds, each an ARP and then `ctdb tickle` fed "CLIENT SERVER" lines; releaseip ends the rounds', async () => {
    const r = recorder();
    const inputs: string[] = [];
    const slept: number[] = [];
    let release: (() => void) | undefined;
    const run: CommandRunner = async (program, args, opts) => {
      if (opts?.input !== undefined) inputs.push(opts.input);
      return r.run(program, args, opts);
    };
    const x = new HostExecutor({
      base, log, run, arpIntervalMs: 1100, tickleDelayMs: 100,
      sleep: async (ms) => { slept.push(ms); if (slept.length === 3 && release) await new Promise<void>((res) => { release = res; }); },
    });
    const connections = [
      { client: { address: '10.5.9.1', port: 40000 }, server: { address: h1.address, port: 445 } },
      { client: { address: '10.5.9.2', port: 40001 }, server: { address: h1.address, port: 139 } },
    ];
    await x.execute({ event: 'takeip', ...h1, connections });
    await x.idle();
    expect(r.ran.filter((c) => !c.startsWith('50.'))).toEqual([
      'ip addr add 10.5.1.1/24 brd + dev eth1',
      'arping -U -c 1 -w 1 -I eth1 10.5.1.1', 'ctdb tickle',
      'arping -U -c 1 -w 1 -I eth1 10.5.1.1', 'ctdb tickle',
      'arping -U -c 1 -w 1 -I eth1 10.5.1.1', 'ctdb tickle',
    ]);
    expect(slept, 'tickles 100 ms after their ARP, rounds 1.1 s apart').toEqual([100, 1000, 100, 1000, 100]);
    expect(inputs).toEqual(Array(3).fill('10.5.9.1:40000 10.5.1.1:445\n10.5.9.2:40001 10.5.1.1:139\n'));
    expect(x.counters).toMatchObject({ tickles: 6, failedTickles: 0, announcements: 3 });

    // Released during the second round: nothing more is sent for it.
    r.ran.length = 0;
    slept.length = 0;
    release = () => undefined;
    await x.execute({ event: 'takeip', ...h1, connections });
    await vi.waitFor(() => expect(slept).toHaveLength(3));
    await x.execute({ event: 'releaseip', ...h1 });
    release();
    await x.idle();
    expect(r.ran.filter((c) => c === 'ctdb tickle')).toHaveLength(1);
    expect(r.ran.filter((c) => c.startsWith('arping'))).toHaveLength(2);
  });

  it('IPv6: unsolicited neighbour advertisements (ndptool) and bracketed tickle endpoints', async () => {
    const r = recorder();
    const inputs: string[] = [];
    const run: CommandRunner = async (program, args, opts) => {
      if (opts?.input !== undefined) inputs.push(opts.input);
      return r.run(program, args, opts);
    };
    const x = new HostExecutor({ base, log, run, arpCount: 1, sleep: async () => undefined });
    await x.execute({ event: 'takeip', ...h6, connections: [{ client: { address: 'fd00::9', port: 40000 }, server: { address: h6.address, port: 445 } }] });
    await x.idle();
    expect(r.ran.filter((c) => !c.startsWith('50.'))).toEqual([
      'ip -6 addr add fd00::5/64 dev eth1 nodad', 'ndptool -t na -U -i eth1 -T fd00::5 send', 'ctdb tickle',
    ]);
    expect(inputs).toEqual(['[fd00::9]:40000 [fd00::5]:445\n']);
  });

  it('updateip: off the old interface, onto the new one, scripts with ctdbd\'s arguments, then announced and tickled there', async () => {
    const r = recorder();
    const inputs: string[] = [];
    const run: CommandRunner = async (program, args, opts) => {
      if (opts?.input !== undefined) inputs.push(opts.input);
      const res = await r.run(program, args, opts);
      return program === 'ss' ? { ...res, stdout: '0 0 10.5.1.1:445 10.5.9.1:1\n0 0 10.5.1.1:2049 10.5.9.2:700\n' } : res;
    };
    const x = new HostExecutor({ base, log, run, arpCount: 1, sleep: async () => undefined });
    await x.execute({ event: 'updateip', oldIface: 'eth0', ...h1, connections: [{ client: { address: '10.5.9.1', port: 1 }, server: { address: h1.address, port: 445 } }] });
    await x.idle();
    expect(r.ran).toEqual([
      'sysctl -q -w net/ipv4/conf/eth0/promote_secondaries=1', 'ip addr del 10.5.1.1/24 dev eth0', 'ip addr add 10.5.1.1/24 brd + dev eth1', '50.samba.script updateip eth0 eth1 10.5.1.1 24',
      'ss -tnH state established src [10.5.1.1]', 'arping -U -c 1 -w 1 -I eth1 10.5.1.1', 'ctdb tickle',
    ]);
    // The tracked connection once, and what the host has on the address both ways (10.interface's tickle_tcp_connections).
    expect(inputs).toEqual([[
      '10.5.9.1:1 10.5.1.1:445', '10.5.1.1:445 10.5.9.1:1', '10.5.9.2:700 10.5.1.1:2049', '10.5.1.1:2049 10.5.9.2:700', '',
    ].join('\n')]);
  });

  it('releaseip resets what is established on the address with ctdb_killtcp, both ways except CIFS (10.interface\'s step)', async () => {
    const shown = [
      '0      0      10.5.1.1:445  10.5.9.1:40000', '0      0      10.5.1.1:2049 10.5.9.2:700 users:(("x",pid=1,fd=3))', '',
    ].join('\n');
    const inputs: string[] = [];
    const ran: string[] = [];
    const run: CommandRunner = async (program, args, opts) => {
      ran.push([program.split('/').pop(), ...args].join(' '));
      if (opts?.input !== undefined) inputs.push(opts.input);
      return { exitCode: 0, stdout: program === 'ss' ? shown : '', stderr: '' };
    };
    const x = new HostExecutor({ base, log, run });
    await x.execute({ event: 'releaseip', ...h1 });
    expect(ran.slice(1)).toEqual(['ss -tnH state established src [10.5.1.1]', 'ctdb_killtcp eth1', 'sysctl -q -w net/ipv4/conf/eth1/promote_secondaries=1',
      'ip addr del 10.5.1.1/24 dev eth1']);
    expect(inputs).toEqual(['10.5.9.1:40000 10.5.1.1:445\n10.5.9.2:700 10.5.1.1:2049\n10.5.1.1:2049 10.5.9.2:700\n']);
    expect(x.counters).toMatchObject({ killed: 2, failedKills: 0 });
    expect(parseEstablished('0 0 [fd00::5]:445 [fd00::9]:40000\n')).toEqual([{ local: '[fd00::5]:445', peer: '[fd00::9]:40000' }]);

    const failing = recorder((p) => (p.endsWith('ctdb_killtcp') ? { exitCode: 1, stderr: 'no' } : undefined));
    const run2: CommandRunner = async (program, args, opts) => ({ ...(await failing.run(program, args, opts)), stdout: program === 'ss' ? shown : '' });
    const y = new HostExecutor({ base, log, run: run2 });
    await y.execute({ event: 'releaseip', ...h1 });
    expect(failing.ran.at(-1), 'the address still comes off').toBe('ip addr del 10.5.1.1/24 dev eth1');
    expect(y.counters.failedKills).toBe(1);
  });

  it('a failing `ctdb tickle` is counted and logged, never fatal', async () => {
    const r = recorder((p) => (p === 'ctdb' ? { exitCode: 1, stderr: 'Failed to send 1 tickles' } : undefined));
    const x = new HostExecutor({ base, log, run: r.run, arpCount: 2, sleep: async () => undefined });
    await x.execute({ event: 'takeip', ...h1, connections: [{ client: { address: '10.5.9.1', port: 1 }, server: { address: h1.address, port: 445 } }] });
    await x.idle();
    expect(x.counters).toMatchObject({ tickles: 0, failedTickles: 2 });
  });

  it('an address already there (or already gone) is fine; any other failure fails the event with the command and its error', async () => {
    const exists = recorder((p, a) => (a[1] === 'add' ? { exitCode: 2, stderr: 'RTNETLINK answers: File exists' } : undefined));
    await new HostExecutor({ base, log, run: exists.run }).execute({ event: 'takeip', ...h1 });
    const gone = recorder((p, a) => (a[1] === 'del' ? { exitCode: 2, stderr: 'RTNETLINK answers: Cannot assign requested address' } : undefined));
    await new HostExecutor({ base, log, run: gone.run }).execute({ event: 'releaseip', ...h1 });
    // Newer iproute2 says it this way.
    const goneNow = recorder((p, a) => (a[1] === 'del' ? { exitCode: 2, stderr: 'Error: ipv4: Address not found.' } : undefined));
    await new HostExecutor({ base, log, run: goneNow.run }).execute({ event: 'releaseip', ...h1 });
    const noDevice = recorder((p, a) => (a[1] === 'add' ? { exitCode: 1, stderr: 'Cannot find device "eth1"' } : undefined));
    await expect(new HostExecutor({ base, log, run: noDevice.run }).execute({ event: 'takeip', ...h1 }))
      .rejects.toThrow(/ip addr add 10.5.1.1\/24 brd \+ dev eth1 failed \(exit 1\): Cannot find device "eth1"/);
    const script = recorder((p) => (p.endsWith('50.samba.script') ? { exitCode: 3, stderr: 'smbd not running' } : undefined));
    await expect(new HostExecutor({ base, log, run: script.run }).execute({ event: 'ipreallocated' })).rejects.toThrow(/smbd not running/);
  });
});

describe('NativeHost', () => {
  function fakeLink() {
    const answers: Array<Record<string, unknown>> = [];
    let handler: ((m: LegacyMessage) => void) | undefined;
    const link: NativeLink = {
      registerSrvid: async (srvid, h) => {
        expect(srvid).toBe(BridgeSrvid.IP_EVENT);
        handler = h;
        return { id: srvid, close: async () => undefined };
      },
      sendMessage: (_dest, srvid, data) => {
        expect(srvid).toBe(BridgeSrvid.IP_EVENT_DONE);
        answers.push(JSON.parse(data!.toString()));
      },
      getPnn: async () => 1,
      getPublicIps: async () => ({ ips: [{ pnn: 1, addr: { family: 'inet', address: '10.5.1.1', port: 0 } }, { pnn: 0, addr: { family: 'inet', address: '10.5.1.2', port: 0 } }] }),
      getPublicIpInfo: async () => ({ ip: { pnn: 1, addr: { family: 'inet', address: '10.5.1.1', port: 0 } }, activeIdx: 0, ifaces: [{ name: 'eth1', linkState: 1, references: 1 }] }),
    };
    const send = (v: unknown) => handler!({ srvid: BridgeSrvid.IP_EVENT, data: Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)), srcnode: 1, generation: 1 });
    return { link, answers, send };
  }

  it('carries events out in order and answers each; a failure is answered with its error; junk is ignored', async () => {
    const l = fakeLink();
    const done: string[] = [];
    const host = new NativeHost({
      link: l.link, log, checkIntervalMs: 60_000, publicAddresses: [{ address: h1.address, prefixLength: 24, interfaces: ['eth1'] }],
      executor: {
        execute: async (e) => {
          await new Promise((r) => setTimeout(r, e.event === 'takeip' ? 20 : 0));
          if (e.event === 'ipreallocated') throw new Error('script failed');
          done.push(e.event);
        },
        reconcile: async () => ({ missing: [], stray: [] }),
      },
    });
    await host.start();
    l.send({ id: 1, event: 'takeip', ...h1 });
    l.send({ id: 2, event: 'releaseip', ...h1 });
    l.send('{"id":3,"event":"rm -rf"}');
    l.send({ id: 4, event: 'ipreallocated' });
    l.send({ id: 5, event: 'takeip', ...h1, address: '192.0.2.9' });
    await host.stop();
    expect(done).toEqual(['takeip', 'releaseip']);
    expect(l.answers).toEqual([
      { id: 5, ok: false, error: '192.0.2.9 is not a public address of this node' },
      { id: 1, ok: true }, { id: 2, ok: true }, { id: 4, ok: false, error: 'script failed' },
    ]);
    expect(host.counters).toMatchObject({ events: 2, failedEvents: 2 });
  });

  it('a flood of requests is bounded: beyond MAX_QUEUED_EVENTS waiting, each is refused at once', async () => {
    const l = fakeLink();
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const host = new NativeHost({
      link: l.link, log, checkIntervalMs: 60_000, publicAddresses: [],
      executor: { execute: () => gate, reconcile: async () => ({ missing: [], stray: [] }) },
    });
    await host.start();
    for (let id = 1; id <= MAX_QUEUED_EVENTS + 1; id++) l.send({ id, event: 'ipreallocated' });
    expect(l.answers).toEqual([{ id: MAX_QUEUED_EVENTS + 1, ok: false, error: `more than ${MAX_QUEUED_EVENTS} events waiting` }]);
    release();
    await host.stop();
    expect(l.answers).toHaveLength(MAX_QUEUED_EVENTS + 1);
  });

  it('the drift check hands the executor what this node hosts, with interface and mask', async () => {
    const l = fakeLink();
    const seen: unknown[] = [];
    const host = new NativeHost({
      link: l.link, log, checkIntervalMs: 60_000,
      publicAddresses: [{ address: '10.5.1.1', prefixLength: 24, interfaces: ['eth1'] }, { address: '10.5.1.2', prefixLength: 24, interfaces: ['eth1'] }],
      executor: { execute: async () => undefined, reconcile: async (hosted) => { seen.push(hosted); return { missing: [...hosted], stray: [] }; } },
    });
    await host.check();
    await host.start();
    await vi.waitFor(() => expect(seen).toHaveLength(2));
    await host.stop();
    expect(seen).toEqual([[h1], [h1]]);
    expect(host.counters.repairs).toBe(2);
  });

  it('refuses malformed requests by field', () => {
    expect(() => parseRequest(Buffer.from('{"id":1,"event":"takeip","iface":"eth1;reboot","address":"10.0.0.1","prefixLength":24}'))).toThrow(/interface/);
    expect(() => parseRequest(Buffer.from('{"id":1,"event":"takeip","iface":"eth1","address":"$(x)","prefixLength":24}'))).toThrow(/address/);
    expect(() => parseRequest(Buffer.from('{"id":1,"event":"takeip","iface":"eth1","address":"10.0.0.1","prefixLength":999}'))).toThrow(/prefix/);
    expect(() => parseRequest(Buffer.from('{"event":"ipreallocated"}'))).toThrow(/id/);
    expect(parseRequest(Buffer.from('{"id":9,"event":"ipreallocated"}'))).toEqual({ id: 9, event: { event: 'ipreallocated' } });
    const take = { id: 2, event: 'takeip', iface: 'eth1', address: '10.0.0.1', prefixLength: 24 };
    const c = { client: { address: '10.9.0.1', port: 40000 }, server: { address: '10.0.0.1', port: 445 } };
    expect(parseRequest(Buffer.from(JSON.stringify({ ...take, connections: [c] }))).event).toEqual({ ...take, id: undefined, connections: [c] });
    expect(() => parseRequest(Buffer.from(JSON.stringify({ ...take, connections: [{ ...c, client: { address: '10.9.0.1; reboot', port: 1 } }] })))).toThrow(/connection address/);
    expect(() => parseRequest(Buffer.from(JSON.stringify({ ...take, connections: [{ ...c, server: { address: '10.0.0.1', port: 70000 } }] })))).toThrow(/connection port/);
    expect(() => parseRequest(Buffer.from(JSON.stringify({ ...take, connections: 'all' })))).toThrow(/not a list/);
    expect(() => parseRequest(Buffer.from(JSON.stringify({ ...take, event: 'updateip' })))).toThrow(/old interface/);
    expect(parseRequest(Buffer.from(JSON.stringify({ ...take, event: 'updateip', oldIface: 'eth0' }))).event)
      .toEqual({ event: 'updateip', oldIface: 'eth0', iface: 'eth1', address: '10.0.0.1', prefixLength: 24 });
  });
});
