import { describe, expect, it } from 'vitest';
import { parsePublicAddresses } from '../config/public-addresses.ts';
import { NO_OWNER, PublicIpTable } from './public-ips.ts';

const addresses = [
  { address: '10.0.1.1', prefixLength: 24, interfaces: ['eth0', 'eth1'] },
  { address: '10.0.1.2', prefixLength: 24, interfaces: ['eth0', 'eth1'] },
  { address: 'fd00::3', prefixLength: 64, interfaces: ['eth2'] },
];

describe('PublicIpTable (ctdbd 4.17 vnn bookkeeping)', () => {
  it('starts with nobody owning anything; every address available while running', () => {
    const t = new PublicIpTable(1, addresses);
    expect(t.list(false, false)).toEqual(addresses.map((a) => ({ address: a.address, owner: NO_OWNER })));
    expect(t.list(true, true)).toHaveLength(3);
    expect(t.list(true, false), 'not RUNNING: nothing available').toEqual([]);
    expect(t.interfaces()).toEqual([
      { name: 'eth0', linkState: 1, references: 0 }, { name: 'eth1', linkState: 1, references: 0 }, { name: 'eth2', linkState: 1, references: 0 },
    ]);
  });

  it('takeover puts an address on the least used interface; a second takeover is redundant', () => {
    const t = new PublicIpTable(1, addresses);
    expect(t.takeover(1, '10.0.1.1')).toEqual({ kind: 'take', hosted: { address: '10.0.1.1', prefixLength: 24, iface: 'eth0' } });
    expect(t.takeover(1, '10.0.1.2')).toEqual({ kind: 'take', hosted: { address: '10.0.1.2', prefixLength: 24, iface: 'eth1' } });
    expect(t.takeover(1, '10.0.1.1')).toEqual({ kind: 'redundant' });
    expect(t.hosts('10.0.1.1')).toBe(true);
    expect(t.hosts('fd00::3')).toBe(false);
    expect(t.hosts('10.9.9.9')).toBeUndefined();
    expect(t.info('10.0.1.2')).toEqual({
      owner: 1, activeIdx: 1,
      ifaces: [{ name: 'eth0', linkState: 1, references: 1 }, { name: 'eth1', linkState: 1, references: 1 }],
    });
  });

  it('refuses a takeover meant for another node, or with no interface up; ignores unknown addresses', () => {
    const t = new PublicIpTable(1, addresses);
    expect(t.takeover(2, '10.0.1.1').kind).toBe('refused');
    expect(t.takeover(1, '192.168.0.1')).toEqual({ kind: 'unknown' });
    expect(t.setLink('eth2', false)).toBe(true);
    expect(t.setLink('nope', false)).toBe(false);
    expect(t.takeover(1, 'fd00::3').kind).toBe('refused');
    expect(t.list(true, true).map((i) => i.address)).toEqual(['10.0.1.1', '10.0.1.2']);
  });

  it('release learns the new owner; only a hosted address is released', () => {
    const t = new PublicIpTable(1, addresses);
    expect(t.release(2, '10.0.1.1')).toEqual({ kind: 'redundant' });
    expect(t.list(false, true)[0]).toEqual({ address: '10.0.1.1', owner: 2 });
    t.takeover(1, '10.0.1.2');
    expect(t.release(0, '10.0.1.2')).toEqual({ kind: 'release', hosted: { address: '10.0.1.2', prefixLength: 24, iface: 'eth0' } });
    expect(t.list(false, true)[1]).toEqual({ address: '10.0.1.2', owner: 0 });
    expect(t.interfaces()[0]!.references).toBe(0);
    expect(t.info('10.0.1.2')!.activeIdx).toBe(-1);
    t.takeover(1, '10.0.1.2');
    expect(t.release(NO_OWNER, '10.0.1.2').kind).toBe('release');
    expect(t.list(false, true)[1]!.owner).toBe(NO_OWNER);
  });

  it('releaseAll gives back everything hosted', () => {
    const t = new PublicIpTable(0, addresses);
    t.takeover(0, '10.0.1.1');
    t.takeover(0, 'fd00::3');
    expect(t.releaseAll().map((h) => h.address)).toEqual(['10.0.1.1', 'fd00::3']);
    expect(t.hosted()).toEqual([]);
    expect(t.list(false, true).every((i) => i.owner === NO_OWNER)).toBe(true);
  });

  // Issue 10 (bad input), as ctdbd 4.17 behaves (compat-tests/public-addresses-bad-input.test.ts).
  it('nodes whose files differ: each node hosts with its own mask, and one that does not list an address ignores it', () => {
    const read = (text: string) => parsePublicAddresses(text, { interfaceExists: (n) => n === 'eth0' }).addresses;
    const n1 = new PublicIpTable(1, read('10.0.1.1/24 eth0\n10.0.1.4/16 eth0\n'));
    const n2 = new PublicIpTable(2, read('10.0.1.1/24 eth0\n10.0.1.4/24 eth0\n'));
    const n0 = new PublicIpTable(0, read('10.0.1.1/24 eth0\n10.0.1.3/24 eth0\n'));
    expect(n1.takeover(1, '10.0.1.4')).toEqual({ kind: 'take', hosted: { address: '10.0.1.4', prefixLength: 16, iface: 'eth0' } });
    expect(n1.release(2, '10.0.1.4').kind).toBe('release');
    expect(n2.takeover(2, '10.0.1.4')).toEqual({ kind: 'take', hosted: { address: '10.0.1.4', prefixLength: 24, iface: 'eth0' } });
    // A TAKEOVER_IP or RELEASE_IP for an address this node does not list: status 0, nothing hosted.
    expect(n1.takeover(1, '10.0.1.3')).toEqual({ kind: 'unknown' });
    expect(n1.release(0, '10.0.1.3')).toEqual({ kind: 'unknown' });
    expect(n1.hosts('10.0.1.3')).toBeUndefined();
    expect(n0.list(false, true).map((i) => i.address)).toEqual(['10.0.1.1', '10.0.1.3']);
  });

  it('a mask longer than the address (ctdbd accepts /33, then bans nodes) is listed but never available, and its takeover is refused', () => {
    const t = new PublicIpTable(0, parsePublicAddresses('10.0.1.2/33 eth0\n10.0.1.3/24 eth0\nfd00::1/129 eth0\nfd00::2/128 eth0\n').addresses);
    expect(t.list(false, true).map((i) => i.address)).toEqual(['10.0.1.2', '10.0.1.3', 'fd00::1', 'fd00::2']);
    expect(t.list(true, true).map((i) => i.address)).toEqual(['10.0.1.3', 'fd00::2']);
    expect(t.takeover(0, '10.0.1.2')).toEqual({ kind: 'refused', reason: '10.0.1.2/33: the mask is longer than the address' });
    expect(t.takeover(0, 'fd00::1').kind).toBe('refused');
    expect(t.takeover(0, '10.0.1.3').kind).toBe('take');
    expect(t.hosted().map((h) => h.address)).toEqual(['10.0.1.3']);
  });
});
