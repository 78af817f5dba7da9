import { describe, expect, it } from 'vitest';
import { CLI_ENTRY } from '../../legacy/common/package-info.ts';
import { DAEMON_ENV, DAEMON_NODE_FLAGS, daemonArgv, daemonEnv } from './daemon-runtime.ts';

describe('daemon runtime', () => {
  it('puts the Node flags before the entry and the subcommand after it', () => {
    expect(daemonArgv(['node', '--config', '/x'])).toEqual([...DAEMON_NODE_FLAGS, CLI_ENTRY, 'node', '--config', '/x']);
    expect(daemonArgv(['transportd'], { entry: '/other/ctdb-bridge.mjs', nodeFlags: [], env: {} })).toEqual(['/other/ctdb-bridge.mjs', 'transportd']);
  });

  it('adds the daemon environment; what the operator set wins', () => {
    expect(daemonEnv({ PATH: '/bin' })).toEqual({ ...DAEMON_ENV, PATH: '/bin' });
    expect(daemonEnv({ MALLOC_ARENA_MAX: '8' }).MALLOC_ARENA_MAX).toBe('8');
  });
});
