import { describe, expect, it } from 'vitest';
import { AllocationJsonError, canonicalAddress, parseAllocationInput, parseAllocationInputText } from './allocation-input.ts';

const node = (pnn: number, extra: Record<string, unknown> = {}) => ({ pnn, ...extra });

/** The error `value` gives, as "path: reason" pieces. */
function failure(value: unknown): { path: string; reason: string } {
  try {
    parseAllocationInput(value);
  } catch (err) {
    expect(err).toBeInstanceOf(AllocationJsonError);
    const e = err as AllocationJsonError;
    expect(e.name).toBe('AllocationJsonError');
    expect(e.message).toBe(`${e.path}: ${e.reason}`);
    return { path: e.path, reason: e.reason };
  }
  throw new Error('the input was accepted');
}

describe('failover allocate input', () => {
  it('fills the defaults: lcp2, tunables 0, flags 0, runstate RUNNING, no ips, available true', () => {
    const input = parseAllocationInput({ nodes: [node(1), node(0, { ips: [{ ip: '10.0.0.1', pnn: 1 }, { ip: '10.0.0.2' }] })] });
    expect(input).toEqual({
      algorithm: 'lcp2',
      tunables: { NoIPFailback: 0, NoIPTakeover: 0, NoIPHostOnAllDisabled: 0 },
      nodes: [
        { pnn: 0, flags: 0, runstate: 5, ips: [{ ip: '10.0.0.1', pnn: 1, available: true }, { ip: '10.0.0.2', pnn: -1, available: true }] },
        { pnn: 1, flags: 0, runstate: 5, ips: [] },
      ],
    });
  });

  it('keeps what is given and spells addresses as inet_ntop does', () => {
    const input = parseAllocationInput({
      algorithm: 'nondeterministic', tunables: { NoIPTakeover: 1 }, forceRebalanceNodes: [1],
      nodes: [node(0, { flags: 0x08, runstate: 3, ips: [{ ip: '2001:DB8:0:0:0:0:0:1', pnn: 0, available: false }] }), node(1)],
    });
    expect(input.algorithm).toBe('nondeterministic');
    expect(input.tunables).toEqual({ NoIPFailback: 0, NoIPTakeover: 1, NoIPHostOnAllDisabled: 0 });
    expect(input.forceRebalanceNodes).toEqual([1]);
    expect(input.nodes[0]).toEqual({ pnn: 0, flags: 8, runstate: 3, ips: [{ ip: '2001:db8::1', pnn: 0, available: false }] });
  });

  it.each([
    [{ nodes: [node(0)], algorithm: 'lpc2' }, '$.algorithm', /unknown algorithm the string "lpc2"/],
    [{ nodes: [node(0)], algoritm: 'lcp2' }, '$.algoritm', /unknown field/],
    [{ nodes: [node(0)], tunables: { NoIPFailBack: 1 } }, '$.tunables.NoIPFailBack', /unknown field/],
    [{ nodes: [node(0)], tunables: { NoIPFailback: -1 } }, '$.tunables.NoIPFailback', /out of range 0\.\.4294967295/],
    [{ nodes: [node(0)], tunables: { NoIPTakeover: '1' } }, '$.tunables.NoIPTakeover', /expected an integer, got the string "1"/],
    [{}, '$.nodes', /expected an array, got nothing/],
    [{ nodes: [] }, '$.nodes', /no node/],
    [[], '$', /expected an object, got an array/],
    [{ nodes: [node(0), node(0)] }, '$.nodes[1].pnn', /duplicate PNN 0/],
    [{ nodes: [node(-1)] }, '$.nodes[0].pnn', /negative PNN -1/],
    [{ nodes: [node(0), node(2)] }, '$.nodes[1].pnn', /PNN 2 with 2 node\(s\): a node map has PNNs 0\.\.1/],
    [{ nodes: [{}] }, '$.nodes[0].pnn', /missing/],
    [{ nodes: [node(0.5)] }, '$.nodes[0].pnn', /expected an integer, got the number 0.5/],
    [{ nodes: [node(0, { flags: 2 ** 32 })] }, '$.nodes[0].flags', /out of range/],
    [{ nodes: [node(0, { runstate: 9 })] }, '$.nodes[0].runstate', /out of range 0\.\.6/],
    [{ nodes: [node(0, { ips: {} })] }, '$.nodes[0].ips', /expected an array, got an object/],
    [{ nodes: [node(0, { ips: [{ ip: '10.0.0.256' }] })] }, '$.nodes[0].ips[0].ip', /bad ip "10.0.0.256"/],
    [{ nodes: [node(0, { ips: [{ ip: '::1::2' }] })] }, '$.nodes[0].ips[0].ip', /bad ip/],
    [{ nodes: [node(0, { ips: [{ ip: 10 }] })] }, '$.nodes[0].ips[0].ip', /expected an address, got the number 10/],
    [{ nodes: [node(0, { ips: [{ ip: '10.0.0.1' }, { ip: '10.0.0.1' }] })] }, '$.nodes[0].ips[1].ip', /duplicate address 10.0.0.1/],
    [{ nodes: [node(0, { ips: [{ ip: 'fe80::1' }, { ip: 'FE80:0::1' }] })] }, '$.nodes[0].ips[1].ip', /duplicate address fe80::1/],
    [{ nodes: [node(0, { ips: [{ ip: '10.0.0.1', pnn: 1 }] })] }, '$.nodes[0].ips[0].pnn', /owner 1 is not a node/],
    [{ nodes: [node(0, { ips: [{ ip: '10.0.0.1', pnn: -2 }] })] }, '$.nodes[0].ips[0].pnn', /out of range -1\.\./],
    [{ nodes: [node(0, { ips: [{ ip: '10.0.0.1', available: 1 }] })] }, '$.nodes[0].ips[0].available', /expected true or false/],
    [{ nodes: [node(0, { ips: [{ ip: '10.0.0.1', owner: 0 }] })] }, '$.nodes[0].ips[0].owner', /unknown field/],
    [{ nodes: [node(0)], forceRebalanceNodes: [3] }, '$.forceRebalanceNodes[0]', /out of range 0\.\.0/],
    [{ nodes: [node(0)], forceRebalanceNodes: 0 }, '$.forceRebalanceNodes', /expected an array/],
  ])('refuses %j at %s', (value, path, reason) => {
    const e = failure(value);
    expect(e.path).toBe(path);
    expect(e.reason).toMatch(reason);
  });

  it('reports bad JSON at $', () => {
    expect(() => parseAllocationInputText('{"nodes": [')).toThrow(AllocationJsonError);
    expect(() => parseAllocationInputText('{"nodes": [')).toThrow(/^\$: not JSON: /);
    expect(parseAllocationInputText('{"nodes":[{"pnn":0}]}').nodes).toHaveLength(1);
  });

  it('canonical addresses', () => {
    expect(canonicalAddress('192.168.1.1')).toBe('192.168.1.1');
    expect(canonicalAddress('::ffff:1.2.3.4')).toBe('::ffff:1.2.3.4');
    expect(canonicalAddress('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(canonicalAddress('1.2.3')).toBeUndefined();
    expect(canonicalAddress('host.example')).toBeUndefined();
  });
});
