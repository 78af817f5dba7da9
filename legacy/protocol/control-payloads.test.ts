import { describe, expect, test } from 'vitest';
import {
  controlPayloadCodecs, decodeControlReply, decodeControlRequest, encodeControlReply, encodeControlRequest,
  modelledControls,
} from './control-payloads.ts';
import { Control, controlInfo } from './controls.ts';
import { CtdbDecodeError, CtdbEncodeError } from './errors.ts';
import { decodeMessagePayload, encodeMessagePayload } from './message-payloads.ts';
import { Srvid } from './srvid.ts';

/** Controls seen from the real ctdb CLI and smbd (traffic-4.17.md). */
const fromClients = [128, 23, 4, 149, 18, 119, 35, 91, 61, 26, 44, 90, 151, 9, 25, 122, 3, 30, 69, 80, 1, 50, 49, 48,
  131, 24, 132, 138, 7, 8, 17, 99, 124, 0, 15, 120, 5];
/** Controls a real ctdbd cluster sends to a member (behaviour.md §6, controls.md). */
const fromLeader = [80, 91, 15, 5, 16, 52, 9, 70, 6, 25, 18, 61, 150, 141, 143, 120, 146, 67, 147, 148, 144, 142, 71,
  90, 88, 89, 137, 161, 109, 139, 47, 97, 27, 21, 135, 22, 45, 46, 56, 63, 74, 154, 99, 87, 53, 138];

describe('coverage', () => {
  const modelled = new Set(modelledControls());
  test('every control the real CLI, smbd and a leader send is modelled, plus tunnels and status controls', () => {
    const missing = [...fromClients, ...fromLeader, Control.TUNNEL_REGISTER, Control.TUNNEL_DEREGISTER,
      0, 3, 15, 30, 35, 151].filter((op) => !modelled.has(op));
    expect(missing).toEqual([]);
  });

  test('every active control is modelled; obsolete/removed ones are raw', () => {
    for (let op = 0; op <= 162; op++) {
      const info = controlInfo(op);
      if (info.state === 'active') expect([op, modelled.has(op)]).toEqual([op, true]);
      else if (!info.stillImplemented) expect([op, modelled.has(op)]).toEqual([op, false]);
    }
  });

  test('controls that answer in status decode their empty data as {}', () => {
    for (const op of [0, 3, 15, 30, 35, 151, Control.REGISTER_SRVID, Control.TUNNEL_REGISTER]) {
      expect(decodeControlReply(op, Buffer.alloc(0))).toEqual({});
      expect(encodeControlReply(op, {}).length).toBe(0);
    }
  });
});

describe('decode / encode', () => {
  test('unknown and obsolete opcodes decode to { raw } and never throw', () => {
    const data = Buffer.from('0102', 'hex');
    expect(decodeControlRequest(2, data)).toEqual({ raw: data });
    expect(decodeControlReply(13, data)).toEqual({ raw: data });
    expect(decodeControlRequest(9999, data)).toEqual({ raw: data });
    expect(decodeControlRequest(-1, data)).toEqual({ raw: data });
    expect(encodeControlRequest(13, { raw: data })).toEqual(data);
    expect(() => encodeControlRequest(13, { foo: 1 })).toThrow(CtdbEncodeError);
  });

  test('a payload that does not match its layout is a CtdbDecodeError', () => {
    expect(() => decodeControlRequest(Control.GET_DB_SEQNUM, Buffer.alloc(4))).toThrow(CtdbDecodeError);
    expect(() => decodeControlReply(Control.GET_PNN, Buffer.alloc(4))).toThrow(/GET_PNN reply \(empty\): field \(end\) at offset 0: 4 unexpected trailing bytes/);
    expect(() => decodeControlReply(Control.GET_NODEMAP, Buffer.alloc(3))).toThrow(CtdbDecodeError);
  });

  test('typical requests', () => {
    expect(encodeControlRequest(Control.DB_ATTACH, { name: 'locking.tdb' }).toString('latin1')).toBe('locking.tdb\0');
    expect(decodeControlRequest(Control.DB_ATTACH, Buffer.from('locking.tdb\0'))).toEqual({ name: 'locking.tdb' });
    // A reader accepts a missing NUL.
    expect(decodeControlRequest(Control.DB_ATTACH, Buffer.from('x.tdb'))).toEqual({ name: 'x.tdb' });
    expect(encodeControlRequest(Control.GET_DB_SEQNUM, { dbId: 1 }).length).toBe(8);
    expect(encodeControlRequest(Control.GET_TUNABLE, { name: 'RecoverTimeout' }).readUInt32LE(0)).toBe(15);
    expect(encodeControlRequest(Control.CHECK_PID_SRVID, { pid: 1, srvid: 2n }).length).toBe(12);
    expect(encodeControlRequest(Control.GET_PNN)).toEqual(Buffer.alloc(0));
    expect(decodeControlReply(Control.GET_RECLOCK_FILE, Buffer.alloc(0))).toEqual({ path: '' });
    expect(decodeControlReply(Control.DB_GET_HEALTH, Buffer.alloc(0))).toEqual({ reason: '' });
    expect(decodeControlReply(Control.DUMP_MEMORY, Buffer.from('full talloc report'))).toEqual({ text: 'full talloc report' });
    expect(decodeControlReply(Control.GET_DB_SEQNUM, Buffer.from('0500000000000000', 'hex'))).toEqual({ seqnum: 5n });
    expect(decodeControlReply(Control.DB_OPEN_FLAGS, Buffer.from('411c0000', 'hex'))).toEqual({ tdbFlags: 0x1c41 });
  });

  test('the request/reply codecs are StructDefs with names', () => {
    expect(controlPayloadCodecs(Control.GET_NODEMAP)?.reply.name).toBe('ctdb_node_map');
    expect(controlPayloadCodecs(Control.GET_IFACES)?.reply.name).toBe('ctdb_iface_list');
    expect(controlPayloadCodecs(Control.THAW)).toBeUndefined();
  });
});

describe('message payloads', () => {
  test('leader broadcast, election, release ip, recovery stream, opaque', () => {
    expect(decodeMessagePayload(Srvid.LEADER, Buffer.from('01000000', 'hex'))).toEqual({ pnn: 1 });
    expect(decodeMessagePayload(Srvid.RELEASE_IP, Buffer.from('10.0.0.1\0'))).toEqual({ ip: '10.0.0.1' });
    expect(decodeMessagePayload(Srvid.RECOVERY + 1n, Buffer.from('c741eb3700000000', 'hex'))).toEqual({ dbId: 0x37eb41c7, records: [] });
    const opaque = Buffer.alloc(64, 1);
    expect(decodeMessagePayload(Srvid.SAMBA_NOTIFY_PROXY, opaque)).toEqual({ raw: opaque });
    expect(encodeMessagePayload(Srvid.ELECTION, { numConnected: 2, priorityTime: { sec: 1, usec: 2 }, pnn: 0, nodeFlags: 0 }).length).toBe(32);
    expect(decodeMessagePayload(0x1234n, Buffer.from('ffffffff', 'hex'), 'result')).toEqual({ result: -1 });
    expect(() => decodeMessagePayload(Srvid.ELECTION, Buffer.alloc(31))).toThrow(/message ELECTION \(ctdb_election_message\)/);
  });
});
