import { describe, expect, it } from 'vitest';
import { resolveNodesFile, resolveSocketPath } from './socket-path.ts';

describe('socket and nodes file resolution like ctdb 4.17', () => {
  it('prefers --socket, then CTDB_SOCKET, then test mode, then the packaged path', () => {
    expect(resolveSocketPath('/x.sock', { CTDB_SOCKET: '/y.sock' })).toBe('/x.sock');
    expect(resolveSocketPath(undefined, { CTDB_SOCKET: '/y.sock', CTDB_TEST_MODE: 'yes', CTDB_BASE: '/b' })).toBe('/y.sock');
    expect(resolveSocketPath(undefined, { CTDB_TEST_MODE: '', CTDB_BASE: '/b' })).toBe('/b/run/ctdbd.socket');
    expect(resolveSocketPath(undefined, { CTDB_BASE: '/b' })).toBe('/run/ctdb/ctdbd.socket');
    expect(resolveSocketPath(undefined, {})).toBe('/run/ctdb/ctdbd.socket');
  });

  it('reads the nodes list from CTDB_BASE, else /etc/ctdb', () => {
    expect(resolveNodesFile({ CTDB_BASE: '/b' })).toBe('/b/nodes');
    expect(resolveNodesFile({})).toBe('/etc/ctdb/nodes');
  });
});
