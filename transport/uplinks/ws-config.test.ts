import { describe, expect, it } from 'vitest';
import { parseHostPort, parseNodesFile, parsePeerList, peersFromNodesFile } from './ws-config.ts';

describe('WebSocket peer configuration', () => {
  it('numbers nodes like ctdb: blank lines skipped, # lines keep their PNN as deleted', () => {
    const text = '10.0.0.1\n\n#10.0.0.2\n  10.0.0.3  \nfd00::4\n';
    expect(parseNodesFile(text)).toEqual([
      { node: 0, address: '10.0.0.1' }, { node: 1, address: undefined }, { node: 2, address: '10.0.0.3' }, { node: 3, address: 'fd00::4' },
    ]);
    expect(peersFromNodesFile(text, 4390).map((p) => `${p.node}=${p.host}:${p.port}`)).toEqual(['0=10.0.0.1:4390', '2=10.0.0.3:4390', '3=fd00::4:4390']);
  });

  it('parses explicit peer lists and addresses', () => {
    expect(parsePeerList('1=127.0.0.2:4380, 2=[::1]:4381')).toEqual([
      { node: 1, host: '127.0.0.2', port: 4380 }, { node: 2, host: '::1', port: 4381 },
    ]);
    expect(parseHostPort('[fd00::1]:80')).toEqual({ host: 'fd00::1', port: 80 });
    for (const bad of ['1=host', 'x=h:1', '1=h:70000']) expect(() => parsePeerList(bad)).toThrow();
    expect(() => parseHostPort('nohost')).toThrow();
  });
});
