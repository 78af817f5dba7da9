import { describe, expect, test } from 'vitest';
import { clientNamespace, clusterId, nodeNamespace, ownerOfId, parseNamespace } from './names.ts';
import { netnsTopology, renderPublicAddresses } from './topology.ts';
import { parsePublicIpsX } from '../ctdb-command.ts';
import { inNamespace, inNodeNamespaces } from './launcher.ts';
import { isStale, namespacesById } from './sweep.ts';
import { nodePaths, renderCtdbConf } from '../layout.ts';

/** The pure parts of the netns harness (the namespaces themselves: compat-tests/netns-harness.real.test.ts). */

describe('namespace names', () => {
  test('carry the owner PID, so a sweep needs nothing but the name', () => {
    const id = clusterId(4_194_303, () => 35);
    expect(id).toBe('0z' + (4_194_303).toString(36));
    expect(ownerOfId(id)).toBe(4_194_303);
    expect(parseNamespace(nodeNamespace(id, 2))).toEqual({ id, role: 'node', pnn: 2 });
    expect(parseNamespace(clientNamespace(id))).toEqual({ id, role: 'client' });
  });

  test('an id without owner has none; foreign names are not ours', () => {
    expect(ownerOfId(clusterId(undefined, () => 1))).toBeUndefined();
    expect(parseNamespace('ctdbb-x')).toBeNull();
    expect(parseNamespace('other-ab12-n0')).toBeNull();
  });

  test('stale: owner dead; ownerless only when asked', () => {
    const dead = clusterId(1234);
    expect(isStale(dead, { isOwnerAlive: () => false })).toBe(true);
    expect(isStale(dead, { isOwnerAlive: () => true })).toBe(false);
    expect(isStale(clusterId(undefined), { isOwnerAlive: () => false })).toBe(false);
    expect(isStale(clusterId(undefined), { includeOwnerless: true })).toBe(true);
  });

  test('namespaces are grouped by cluster id', () => {
    const grouped = namespacesById(['ctdbb-ab1-cl', 'ctdbb-ab1-n0', 'ctdbb-cd2-n0', 'foreign']);
    expect(Object.fromEntries(grouped)).toEqual({ ab1: ['ctdbb-ab1-cl', 'ctdbb-ab1-n0'], cd2: ['ctdbb-cd2-n0'] });
  });
});

describe('topology', () => {
  test('nodes on 10.x.0.0/24, public addresses on 10.x.1.0/24, the client on .254 of both', () => {
    const t = netnsTopology({ id: 'ab1', subnet: 213, nodes: 3, publicAddresses: 6 });
    expect(t.privateAddresses).toEqual(['10.213.0.1', '10.213.0.2', '10.213.0.3']);
    expect(t.publicAddresses).toHaveLength(6);
    expect(t.publicAddresses[5]).toBe('10.213.1.6');
    expect(t.clientAddresses).toEqual(['10.213.0.254', '10.213.1.254']);
    expect(t.nodeNamespaces).toEqual(['ctdbb-ab1-n0', 'ctdbb-ab1-n1', 'ctdbb-ab1-n2']);
    expect(renderPublicAddresses(t).split('\n')[0]).toBe('10.213.1.1/24 eth0');
  });

  test('refuses a subnet octet out of range and more nodes than a /24 holds', () => {
    expect(() => netnsTopology({ id: 'a', subnet: 256, nodes: 3, publicAddresses: 6 })).toThrow(/out of range/);
    expect(() => netnsTopology({ id: 'a', subnet: 1, nodes: 254, publicAddresses: 1 })).toThrow(/no room/);
  });
});

test('ctdb -X ip all: address -> hosting PNN, -1 for an unhosted one', () => {
  const out = '|Public IP|Node|\n|10.213.1.1|2|\n|10.213.1.2|-1|\n';
  expect(Object.fromEntries(parsePublicIpsX(out))).toEqual({ '10.213.1.1': 2, '10.213.1.2': -1 });
});

describe('launcher', () => {
  test('every wrapper ends by exec-ing the program with its arguments (same PID)', () => {
    const launch = { file: '/usr/sbin/ctdbd', args: ['-i'], env: { A: '1' } };
    expect(inNamespace('ns', launch)).toEqual({ file: 'ip', args: ['netns', 'exec', 'ns', '/usr/sbin/ctdbd', '-i'], env: { A: '1' } });
    const wrapped = inNodeNamespaces('ns', '/d/node.0', launch);
    expect(wrapped.args.slice(0, 6)).toEqual(['netns', 'exec', 'ns', 'unshare', '--mount', '--propagation']);
    expect(wrapped.args.slice(-3)).toEqual(['/d/node.0', '/usr/sbin/ctdbd', '-i']);
    const script = wrapped.args[wrapped.args.indexOf('-c') + 1];
    expect(script).toMatch(/mount --bind "\$base" \/etc\/ctdb/);
    expect(script).toMatch(/exec "\$@"$/);
  });
});

test('ctdb.conf: failover on (no realtime scheduling) only when asked', () => {
  const node = nodePaths('/d', 0, '10.213.0.1');
  expect(renderCtdbConf(node, '/d/cluster.lock', 'NOTICE')).toContain('[failover]\n\tdisabled = true');
  const on = renderCtdbConf(node, '/d/cluster.lock', 'NOTICE', { failover: true });
  expect(on).not.toContain('[failover]');
  expect(on).toContain('realtime scheduling = false');
});
