import { describe, expect, test } from 'vitest';
import { parseCtdbConf, parseNodesFile } from '../../legacy/config/index.ts';
import { parseBridgeConf } from '../framework/bridge-conf.ts';
import { configPaths, type OperatorConfig } from '../framework/config-files.ts';
import { configureClusterd } from './config.ts';

function files(bridge: string, nodes = '10.0.0.1\n#10.0.0.2\n10.0.0.3\n', ctdbConf = '[cluster]\ncluster lock = /shared/ctdb.lock\n'): OperatorConfig {
  const paths = configPaths('/etc/ctdb');
  return {
    paths, nodes: parseNodesFile(nodes, paths.nodes), ctdbConf: parseCtdbConf(ctdbConf, { file: paths.ctdbConf }),
    bridge: parseBridgeConf(bridge, paths.bridgeConf),
  };
}

describe('clusterd configuration', () => {
  test('nodes from the nodes file (deleted ones left out, PNNs kept), timings and mode from ctdb-bridge.conf', () => {
    const c = configureClusterd(files('[clusterd]\nmode = active\nheartbeat interval = 100\nlease = 500\n'));
    expect(c.nodes).toEqual([{ pnn: 0, address: '10.0.0.1' }, { pnn: 2, address: '10.0.0.3' }]);
    expect(c).toMatchObject({ mode: 'active', heartbeatIntervalMs: 100, leaseMs: 500, deadAfterMs: 2000, clusterLock: undefined });
  });

  test.each([
    ['[clusterd]\nheartbeat interval = 1500\n', '/etc/ctdb/ctdb-bridge.conf:2', /dead after: 2000 ms must be at least twice the heartbeat interval \(1500 ms\)/],
    ['[clusterd]\nheartbeat interval = 500\nlease = 900\n', '/etc/ctdb/ctdb-bridge.conf:3', /lease: 900 ms must be at least twice/],
    ['[clusterd]\ncluster lock = /shared/ctdb.lock\n', '/etc/ctdb/ctdb-bridge.conf:2', /is ctdbd's own cluster lock/],
  ])('%j is refused', (bridge, where, reason) => {
    expect(() => configureClusterd(files(bridge))).toThrow(reason);
    try {
      configureClusterd(files(bridge));
    } catch (err) {
      expect((err as Error).message.startsWith(`${where}: [clusterd]`)).toBe(true);
    }
  });

  test('a nodes file with no live node is refused', () => {
    expect(() => configureClusterd(files('', '#10.0.0.1\n'))).toThrow('/etc/ctdb/nodes: no live node in the nodes file');
  });
});
