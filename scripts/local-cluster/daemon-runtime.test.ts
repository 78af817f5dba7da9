import { describe, expect, it } from 'vitest';
import { CLI_ENTRY } from '../../legacy/common/package-info.ts';
import {
  BRIDGE_DAEMON_ENV, BRIDGE_DAEMON_FLAGS, DAEMON_NODE_ENV, DAEMON_NODE_FLAGS, DEFAULT_DAEMON_RUNTIME, daemonArgv, daemonEnv, daemonFlags,
} from './daemon-runtime.ts';

describe('daemon runtime', () => {
  it('puts the Node flags before the entry and the subcommand after it', () => {
    expect(daemonArgv(['node', '--config', '/x'])).toEqual([...DAEMON_NODE_FLAGS, CLI_ENTRY, 'node', '--config', '/x']);
    expect(daemonArgv(['transportd'], { entry: '/other/ctdb-bridge.cjs', nodeFlags: [], env: {} })).toEqual(['/other/ctdb-bridge.cjs', 'transportd']);
  });

  it('starts transportd and the components with the bridge daemon flags, the node daemon without --optimize-for-size', () => {
    for (const command of ['transportd', 'clusterd', 'failoverd', 'components']) {
      expect(daemonFlags(command)).toEqual(BRIDGE_DAEMON_FLAGS);
      expect(daemonArgv([command, '--socket', '/s'])).toEqual([...BRIDGE_DAEMON_FLAGS, CLI_ENTRY, command, '--socket', '/s']);
    }
    expect(BRIDGE_DAEMON_FLAGS).toEqual(expect.arrayContaining(['--optimize-for-size', '--interrupt-budget=1081344']));
    expect(daemonFlags('node')).toEqual(DAEMON_NODE_FLAGS);
    expect(DAEMON_NODE_FLAGS.filter((f) => /optimize-for-size|interrupt-budget/.test(f))).toEqual([]);
    // Every daemon keeps the small young generation and no helper threads.
    for (const flags of [DAEMON_NODE_FLAGS, BRIDGE_DAEMON_FLAGS]) expect(flags).toEqual(expect.arrayContaining(['--max-semi-space-size=1', '--single-threaded']));
  });

  it('gives every daemon the same flags when a runtime names them (benchmarks trying settings)', () => {
    const runtime = { ...DEFAULT_DAEMON_RUNTIME, nodeFlags: ['--lite-mode'] };
    expect(daemonArgv(['node'], runtime)).toEqual(['--lite-mode', CLI_ENTRY, 'node']);
    expect(daemonArgv(['clusterd'], runtime)).toEqual(['--lite-mode', CLI_ENTRY, 'clusterd']);
  });

  it('adds the daemon environment; what the operator set wins', () => {
    expect(daemonEnv('node', { PATH: '/bin' })).toEqual({ ...DAEMON_NODE_ENV, PATH: '/bin' });
    expect(daemonEnv('node', { MALLOC_ARENA_MAX: '8' }).MALLOC_ARENA_MAX).toBe('8');
  });

  it('maps 64 KiB reads on their own only in the node daemon (in transportd they cost two thirds of 64 KiB requests/s)', () => {
    expect(daemonEnv('node', {}).GLIBC_TUNABLES).toBe('glibc.malloc.mmap_threshold=65536');
    for (const command of ['transportd', 'clusterd', 'failoverd', 'components']) {
      expect(daemonEnv(command, { PATH: '/bin' })).toEqual({ ...BRIDGE_DAEMON_ENV, PATH: '/bin' });
      expect(daemonEnv(command, {}).GLIBC_TUNABLES).toBeUndefined();
    }
    expect(DAEMON_NODE_ENV.MALLOC_ARENA_MAX).toBe('2');
    expect(BRIDGE_DAEMON_ENV.MALLOC_ARENA_MAX).toBe('2');
  });

  it('starts no daemon with NODE_EXTRA_CA_CERTS (parsed at start-up, never used: no TLS)', () => {
    for (const command of ['node', 'transportd', 'clusterd', 'failoverd', 'components']) {
      const env = daemonEnv(command, { PATH: '/bin', NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/ca-certificates.crt' });
      expect(env).not.toHaveProperty('NODE_EXTRA_CA_CERTS');
      expect(env.PATH).toBe('/bin');
    }
  });

  it('gives every daemon the same environment when a runtime names it', () => {
    const runtime = { ...DEFAULT_DAEMON_RUNTIME, env: {} };
    expect(daemonEnv('node', { PATH: '/bin' }, runtime)).toEqual({ PATH: '/bin' });
    expect(daemonEnv('transportd', { PATH: '/bin' }, runtime)).toEqual({ PATH: '/bin' });
  });
});
