import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { daemonFlags } from '../local-cluster/daemon-runtime.ts';
import { DEFAULT_TRANSPORT_SOCKET } from '../../components/framework/services.ts';
import { bridgeConfDefaults, parseBridgeConf } from '../../components/framework/bridge-conf.ts';
import { DRAIN_WAIT_MS, startOrder } from './services.ts';
import { RUNTIME_DIRECTORY, UnitPathError, renderUnit, renderUnits, unitName } from './units.ts';
import { DEFAULT_BRIDGE_CONF } from './default-config.ts';

const paths = { node: '/usr/bin/node', bin: '/usr/lib/node_modules/ctdb-bridge/scripts/bin/ctdb-bridge.cjs' };

/** key -> values of a rendered unit (repeated keys in order). */
function entries(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) out.set(m[1], [...(out.get(m[1]) ?? []), m[2]]);
  }
  return out;
}

describe('systemd units', () => {
  it('start every daemon as the local cluster does: Node flags, environment, the entry, the subcommand', () => {
    for (const service of ['transportd', 'clusterd', 'failoverd'] as const) {
      const u = entries(renderUnit(service, paths));
      expect(u.get('ExecStart')).toEqual([
        `/usr/bin/node ${daemonFlags(service).join(' ')} ${paths.bin} ${service} $CTDB_BRIDGE_${service.toUpperCase()}_OPTIONS`]);
      expect(u.get('Environment')).toEqual(expect.arrayContaining(['MALLOC_ARENA_MAX=2', 'CTDB_BASE=/etc/ctdb']));
      // The node daemon's 64 KiB mmap threshold is not theirs (daemon-runtime.ts).
      expect(u.get('Environment')!.filter((e) => e.startsWith('GLIBC_TUNABLES='))).toEqual([]);
      expect(u.get('EnvironmentFile')).toEqual(['-/etc/default/ctdb-bridge']);
      expect(u.get('UnsetEnvironment')).toEqual(['NODE_EXTRA_CA_CERTS']);
      expect(u.get('Restart')).toEqual(['on-failure']);
      expect(u.get('Type')).toEqual(['exec']);
    }
  });

  it('transportd goes with ctdbd; components come after transportd (failoverd after clusterd) and only want them', () => {
    const t = entries(renderUnit('transportd', paths));
    expect(t.get('Requires')).toEqual(['ctdb.service']);
    expect(t.get('After')).toEqual(['ctdb.service']);
    const c = entries(renderUnit('clusterd', paths));
    expect(c.get('Requires')).toBeUndefined();
    expect(c.get('Wants')).toEqual([unitName('transportd')]);
    expect(c.get('After')).toEqual([`ctdb.service ${unitName('transportd')}`]);
    const f = entries(renderUnit('failoverd', paths));
    expect(f.get('Wants')).toEqual([`${unitName('transportd')} ${unitName('clusterd')}`]);
    expect(startOrder('failoverd')).toEqual(['transportd', 'clusterd', 'failoverd']);
  });

  it('failoverd drains this node before it stops, never blocking the stop, within the stop timeout', () => {
    const f = entries(renderUnit('failoverd', paths));
    expect(f.get('ExecStop')).toEqual([`-/usr/bin/node ${paths.bin} failover drain --wait ${DRAIN_WAIT_MS}`]);
    expect(Number(f.get('TimeoutStopSec')![0].replace('s', '')) * 1000).toBeGreaterThan(DRAIN_WAIT_MS);
    for (const service of ['transportd', 'clusterd'] as const) expect(entries(renderUnit(service, paths)).get('ExecStop')).toBeUndefined();
  });

  it('transportd\'s runtime directory is where everyone looks for its socket', () => {
    expect(dirname(DEFAULT_TRANSPORT_SOCKET)).toBe(`/run/${RUNTIME_DIRECTORY}`);
    expect(entries(renderUnit('transportd', paths)).get('RuntimeDirectory')).toEqual([RUNTIME_DIRECTORY]);
  });

  it('escapes paths systemd would expand or split, refuses ones it cannot hold', () => {
    const u = renderUnit('clusterd', { node: '/usr/bin/node', bin: '/opt/my tools/100%/$x/ctdb-bridge.cjs' });
    expect(u).toContain(' "/opt/my tools/100%%/$$x/ctdb-bridge.cjs" clusterd ');
    expect(() => renderUnit('clusterd', { node: 'node', bin: paths.bin })).toThrow(UnitPathError);
    expect(() => renderUnit('clusterd', { node: '/usr/bin/node', bin: '/a\n[Service]' })).toThrow(/line break/);
  });

  it('one unit per service, under /etc/systemd/system', () => {
    expect(renderUnits(paths).map((f) => f.path)).toEqual([
      '/etc/systemd/system/ctdb-bridge-transportd.service', '/etc/systemd/system/ctdb-bridge-clusterd.service',
      '/etc/systemd/system/ctdb-bridge-failoverd.service']);
  });

  it('the default ctdb-bridge.conf is valid and says what the defaults are', () => {
    expect(parseBridgeConf(DEFAULT_BRIDGE_CONF).values).toEqual(bridgeConfDefaults());
  });
});
