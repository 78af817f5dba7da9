import { CallFlag, CallId, Operation } from '../constants.ts';
import { encodeControlReply, encodeControlRequest } from '../control-payloads.ts';
import { Control } from '../controls.ts';
import { encodeMessagePayload } from '../message-payloads.ts';
import { encodePacket, type Packet } from '../packets.ts';
import { Srvid } from '../srvid.ts';
import { joinRecordData, recBufferDef, recDataDef } from '../types/index.ts';

/**
 * A synthetic node-to-node stream (fixtures/golden/node-link.bin) with the
 * layouts that are easy to get wrong, built from the live examples in the
 * reference: keepalives (also the old header-only one), election and
 * disable messages, TRAVERSE_ALL_EXT with garbage padding, DB_PUSH_START
 * with a garbage lmaster, a recovery record buffer, a traverse record,
 * DMASTER trailers, a ctdbd error reply without NUL, calls and a tunnel.
 * Regenerate with: node scripts/bin/run-ts.mjs legacy/protocol/testing/make-golden.ts
 */
export function nodeLinkPackets(): Array<{ packet: Packet; patch?: (b: Buffer) => void }> {
  const h = (reqid: number) => ({ generation: 0x7343b374, destnode: 1, srcnode: 0, reqid });
  const header = { rsn: 8n, dmaster: 0, reserved1: 0, flags: 0 };
  const traverseRecord = Buffer.from('2c00000092100000040000001800000' + '06b657930' + '0800000000000000'
    + '00000000000000000000000000000000', 'hex');
  return [
    { packet: { operation: Operation.REQ_KEEPALIVE, ...h(0), version: 0x00040011, uptime: 93 } },
    { packet: { operation: Operation.REQ_KEEPALIVE, ...h(0) } },
    { packet: { operation: Operation.REQ_MESSAGE, ...h(0), destnode: 1, srvid: Srvid.ELECTION,
      data: Buffer.from('0200000000000000ed46026b00000000708100000000000000000000' + '02000000', 'hex') } },
    { packet: { operation: Operation.REQ_MESSAGE, ...h(0), srvid: Srvid.DISABLE_TAKEOVER_RUNS,
      data: Buffer.from('ffffffff0000000000000000000000003c00000000000000', 'hex') } },
    { packet: { operation: Operation.REQ_MESSAGE, ...h(0), srvid: Srvid.LEADER, data: encodeMessagePayload(Srvid.LEADER, { pnn: 0 }) } },
    { packet: { operation: Operation.REQ_CONTROL, ...h(2147483460), opcode: Control.TRAVERSE_ALL_EXT, srvid: 0n, clientId: 0,
      flags: 1, data: encodeControlRequest(Control.TRAVERSE_ALL_EXT,
        { dbId: 0x37eb41c7, reqid: 4242, pnn: 0, clientReqid: 7, srvid: 0xbe00000000003eccn, withEmptyRecords: false }) },
    // ctdbd sends the raw struct: stack garbage in the 7 pad bytes after the bool (types.md §4).
    patch: (b) => Buffer.from('0105698' + '36a5500', 'hex').copy(b, 60 + 25) },
    { packet: { operation: Operation.REQ_CONTROL, ...h(2147483461), opcode: Control.DB_PUSH_START, srvid: 0n, clientId: 2147483449,
      flags: 0, data: encodeControlRequest(Control.DB_PUSH_START, { dbId: 0x37eb41c7, lmaster: 0x55d0cafe, srvid: Srvid.RECOVERY + 2n }) } },
    { packet: { operation: Operation.REQ_MESSAGE, ...h(0), srvid: Srvid.RECOVERY + 2n, data: recBufferDef.encode({ dbId: 0x37eb41c7,
      records: [{ reqid: 0, key: Buffer.from('key0'), data: joinRecordData(header, Buffer.from('value0')) }] }) } },
    { packet: { operation: Operation.REQ_CONTROL, ...h(2147483462), opcode: Control.DB_PUSH_CONFIRM, srvid: 0n, clientId: 2147483449,
      flags: 0, data: encodeControlRequest(Control.DB_PUSH_CONFIRM, { dbId: 0x37eb41c7 }) } },
    { packet: { operation: Operation.REPLY_CONTROL, ...h(2147483462), status: 0,
      data: encodeControlReply(Control.DB_PUSH_CONFIRM, { numRecords: 1 }), errorMessage: Buffer.alloc(0) } },
    { packet: { operation: Operation.REQ_CONTROL, ...h(0), destnode: 0, srcnode: 1, opcode: Control.TRAVERSE_DATA, srvid: 0n,
      clientId: 0, flags: 1, data: Buffer.from(recDataDef.encode(recDataDef.decode(traverseRecord))) } },
    { packet: { operation: Operation.REQ_CONTROL, ...h(2147483463), opcode: Control.GET_NODEMAP, srvid: 0n, clientId: 2147483448,
      flags: 0, data: Buffer.alloc(0) } },
    { packet: { operation: Operation.REPLY_CONTROL, ...h(2147483463), destnode: 0, srcnode: 1, status: 0, errorMessage: Buffer.alloc(0),
      data: encodeControlReply(Control.GET_NODEMAP, { nodes: [
        { pnn: 0, flags: 0, addr: { family: 'inet', address: '127.0.9.1', port: 4379 } },
        { pnn: 1, flags: 0, addr: { family: 'inet', address: '127.0.9.2', port: 4379 } }] }) } },
    { packet: { operation: Operation.REPLY_CONTROL, ...h(2147483464), destnode: 0, srcnode: 1, status: -1, data: Buffer.alloc(0),
      errorMessage: Buffer.from('ctdb_control to disconnected node') } },
    { packet: { operation: Operation.REQ_CALL, ...h(2147483465), flags: CallFlag.IMMEDIATE_MIGRATION, dbId: 0x37eb41c7,
      callId: CallId.NULL_FUNC, hopcount: 0, key: Buffer.from('key1'), callData: Buffer.alloc(0) } },
    { packet: { operation: Operation.REQ_DMASTER, ...h(2147483465), dbId: 0x37eb41c7, rsn: 5n, dmaster: 0, key: Buffer.from('key1'),
      data: Buffer.from('v'), recordFlags: 0x10000 } },
    { packet: { operation: Operation.REPLY_DMASTER, ...h(2147483465), destnode: 0, srcnode: 1, dbId: 0x37eb41c7, rsn: 5n,
      key: Buffer.from('key1'), data: Buffer.from('v'), recordFlags: 0x10000 } },
    { packet: { operation: Operation.REPLY_CALL, ...h(2147483465), status: 0, data: Buffer.alloc(0) } },
    { packet: { operation: Operation.REPLY_ERROR, ...h(2147483466), status: -1, msg: Buffer.from('Unknown database in request. db_id==0x12345678\0') } },
    { packet: { operation: Operation.REQ_TUNNEL, ...h(0), tunnelId: 0xffffffff00000001n, flags: 0x10, data: Buffer.from('{"hello":1}') } },
    { packet: { operation: Operation.REQ_CONTROL, ...h(2147483467), opcode: Control.DB_ATTACH,
      srvid: 0n, clientId: 0, flags: 1, data: encodeControlRequest(Control.DB_ATTACH, { name: 'locking.tdb' }) } },
  ];
}

/** The node-link golden stream as ctdbd would send it (daemon padding). */
export function nodeLinkStream(): Buffer {
  return Buffer.concat(nodeLinkPackets().map(({ packet, patch }) => {
    const b = encodePacket(packet, { padding: 'daemon' });
    patch?.(b);
    return b;
  }));
}
