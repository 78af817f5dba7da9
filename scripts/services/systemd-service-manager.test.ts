import { describe, expect, it } from 'vitest';
import { RemoteServiceError, SystemdServiceManager } from './systemd-service-manager.ts';
import { SystemctlError, type CommandResult } from './systemctl.ts';

/** A systemctl that records its arguments and answers from a script. */
function fakeSystemctl(answer: (args: string[]) => Partial<CommandResult> = () => ({})) {
  const calls: string[][] = [];
  const run = async (args: string[]): Promise<CommandResult> => {
    calls.push(args);
    return { code: 0, stdout: '', stderr: '', ...answer(args) };
  };
  return { calls, run };
}

describe('SystemdServiceManager', () => {
  it('starts and stops our units on this host', async () => {
    const s = fakeSystemctl();
    const m = new SystemdServiceManager({ localPnn: 2, systemctl: s.run });
    await m.start(2, 'clusterd');
    await m.stop(2, 'failoverd');
    expect(s.calls).toEqual([['start', 'ctdb-bridge-clusterd.service'], ['stop', 'ctdb-bridge-failoverd.service']]);
  });

  it('refuses another node\'s services without running anything (no ssh: the transport reaches other nodes)', async () => {
    const s = fakeSystemctl();
    let asked = 0;
    const m = new SystemdServiceManager({ localPnn: async () => { asked++; return 0; }, systemctl: s.run });
    await expect(m.start(1, 'transportd')).rejects.toThrow(RemoteServiceError);
    await expect(m.status(1, 'transportd')).rejects.toThrow(/node 1 is not this host \(node 0\)/);
    expect(s.calls).toEqual([]);
    expect(asked).toBe(1);
  });

  it('reads the state from systemctl show', async () => {
    const show: Record<string, string> = {
      'ctdb-bridge-transportd.service': 'LoadState=loaded\nActiveState=active\nSubState=running\nResult=success\nMainPID=4242\n',
      'ctdb-bridge-clusterd.service': 'LoadState=loaded\nActiveState=failed\nSubState=failed\nResult=exit-code\nMainPID=0\n',
      'ctdb-bridge-failoverd.service': 'LoadState=not-found\nActiveState=inactive\nSubState=dead\nResult=success\nMainPID=0\n',
    };
    const s = fakeSystemctl((args) => ({ stdout: show[args[1]] }));
    const m = new SystemdServiceManager({ localPnn: 0, systemctl: s.run });
    expect(await m.status(0, 'transportd')).toEqual({
      pnn: 0, service: 'transportd', state: 'running', pid: 4242, detail: 'active/running, result success' });
    expect(await m.status(0, 'clusterd')).toMatchObject({ state: 'failed', pid: null, detail: 'failed/failed, result exit-code' });
    expect(await m.status(0, 'failoverd')).toMatchObject({
      state: 'stopped', pid: null, detail: 'ctdb-bridge-failoverd.service is not installed (ctdb-bridge service install)' });
    expect(s.calls[0]).toEqual(['show', 'ctdb-bridge-transportd.service', '--property=LoadState,ActiveState,SubState,Result,MainPID']);
  });

  it('a failing systemctl is a typed error with its message', async () => {
    const s = fakeSystemctl(() => ({ code: 5, stderr: 'Failed to start ctdb-bridge-clusterd.service: Unit not found.\n' }));
    const m = new SystemdServiceManager({ localPnn: 0, systemctl: s.run });
    const err = await m.start(0, 'clusterd').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SystemctlError);
    expect((err as Error).message).toBe('systemctl start ctdb-bridge-clusterd.service failed (exit 5): Failed to start ctdb-bridge-clusterd.service: Unit not found.');
  });
});
