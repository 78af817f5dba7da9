import { describe, expect, test } from 'vitest';
import { OperatorFileError } from '../../legacy/config/errors.ts';
import { bridgeConfDefaults, formatBridgeConf, parseBridgeConf } from './bridge-conf.ts';

function refusal(text: string): OperatorFileError {
  try {
    parseBridgeConf(text, '/etc/ctdb/ctdb-bridge.conf');
  } catch (err) {
    expect(err).toBeInstanceOf(OperatorFileError);
    return err as OperatorFileError;
  }
  throw new Error('accepted');
}

describe('ctdb-bridge.conf', () => {
  test('an empty or missing file is every default', () => {
    expect(parseBridgeConf('').values).toEqual(bridgeConfDefaults());
    expect(bridgeConfDefaults()['clusterd/mode']).toBe('shadow');
  });

  test('values are read with ctdb.conf\'s syntax: comments, case-insensitive names, tabs, continuations', () => {
    const conf = parseBridgeConf([
      '# ours', '[ClusterD]', '\tmode = active', '  heartbeat   interval = 100', '; comment', 'dead after = \\', '  900',
      '[components]', 'state directory = /var/lib/x', '[clusterd]', 'cluster lock = !/usr/bin/helper a b',
    ].join('\n'));
    expect(conf.values['clusterd/mode']).toBe('active');
    expect(conf.values['clusterd/heartbeat interval']).toBe(100);
    expect(conf.values['clusterd/dead after']).toBe(900);
    expect(conf.values['components/state directory']).toBe('/var/lib/x');
    expect(conf.values['clusterd/cluster lock']).toBe('!/usr/bin/helper a b');
    expect(conf.lines['clusterd/mode']).toBe(3);
    expect(conf.lines['clusterd/dead after']).toBe(6);
  });

  test.each([
    ['[clusterd]\nmode = fast\n', 2, /\[clusterd\] mode = "fast": must be one of shadow, active/],
    ['[clusterd]\nheartbeat interval = 5\n', 2, /must be from 10 to 60000 ms/],
    ['[clusterd]\nheartbeat interval = 1s\n', 2, /not a whole number of milliseconds/],
    ['[clusterd]\nlease =\n', 2, /empty value/],
    ['[clusterd]\nleader timeout = 5\n', 2, /unknown key "leader timeout" in \[clusterd\] \(known: mode, /],
    ['\n[cluster]\nmode = active\n', 2, /unknown section \[cluster\]/],
    ['mode = active\n', 1, /outside any section/],
    ['[clusterd\n', 1, /no closing/],
    ['[clusterd]\njust words\n', 2, /is not "key = value"/],
    ['[components]\nstate directory = relative/dir\n', 2, /absolute path/],
  ])('%j is refused at line %i', (text, line, reason) => {
    const err = refusal(text);
    expect(err.file).toBe('/etc/ctdb/ctdb-bridge.conf');
    expect(err.line).toBe(line);
    expect(err.reason).toMatch(reason);
  });

  test('formatBridgeConf writes what parseBridgeConf reads back', () => {
    const values = { ...bridgeConfDefaults(), 'clusterd/mode': 'active' as const, 'clusterd/cluster lock': '/shared/clusterd.lock' };
    expect(parseBridgeConf(formatBridgeConf(values)).values).toEqual(values);
  });
});
