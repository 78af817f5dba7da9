import { describe, expect, test } from 'vitest';
import { allControls, Control, controlByName, controlInfo, controlName, STATUS_REPLY_CONTROLS } from './controls.ts';

describe('control opcode table (controls.md)', () => {
  test('covers 0..162 in order', () => {
    const all = allControls();
    expect(all).toHaveLength(163);
    all.forEach((c, i) => expect(c.opcode).toBe(i));
  });

  test('names and numbers', () => {
    expect(Control.GET_PNN).toBe(35);
    expect(Control.GET_NODEMAP).toBe(91);
    expect(Control.TUNNEL_REGISTER).toBe(152);
    expect(Control.PUSH_RECORD).toBe(162);
    expect(Control.GET_NODEMAPv4).toBe(10);
    expect(controlName(124)).toBe('GET_IFACES');
    expect(controlName(2)).toBe('CONTROL_2');
    expect(controlName(93)).toBe('CONTROL_93');
    expect(controlName(500)).toBe('CONTROL_500');
    expect(controlByName('get_pnn')).toBe(35);
    for (const [name, opcode] of Object.entries(Control)) expect(controlName(opcode)).toBe(name);
  });

  test('states: removed, undefined, obsolete, active', () => {
    expect(controlInfo(2).state).toBe('removed');
    expect([38, 39, 40, 41, 12, 28, 68, 73].map((n) => controlInfo(n).state)).toEqual(Array(8).fill('removed'));
    expect([92, 93, 94, 95, 106].map((n) => controlInfo(n).state)).toEqual(Array(5).fill('undefined'));
    expect(controlInfo(13).state).toBe('obsolete');
    expect(controlInfo(81)).toMatchObject({ state: 'obsolete', stillImplemented: true });
    expect(controlInfo(35).state).toBe('active');
    expect(controlInfo(1000).state).toBe('undefined');
    expect(allControls().filter((c) => c.state === 'active')).toHaveLength(
      163 - allControls().filter((c) => c.state !== 'active').length);
  });

  test('exactly 159..162 are new in master', () => {
    expect(allControls().filter((c) => c.newInMaster).map((c) => c.opcode)).toEqual([159, 160, 161, 162]);
  });

  test('controls answering in status', () => {
    expect([...STATUS_REPLY_CONTROLS].sort((a, b) => a - b)).toEqual([0, 3, 15, 30, 35, 151]);
    expect(controlInfo(35)).toMatchObject({ statusReply: true, statusMeaning: 'PNN of the daemon' });
    expect(controlInfo(91).statusReply).toBe(false);
  });

  test('flags: async, noreply, client only, header srvid', () => {
    expect(controlInfo(Control.START_RECOVERY).async).toBe(true);
    expect(controlInfo(Control.TRAVERSE_ALL_EXT).noReply).toBe(true);
    expect(controlInfo(Control.REGISTER_SRVID)).toMatchObject({ clientOnly: true, headerSrvid: 'srvid' });
    expect(controlInfo(Control.TUNNEL_REGISTER).headerSrvid).toBe('tunnelId');
  });
});
