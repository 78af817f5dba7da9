import { describe, expect, test } from 'vitest';
import { CtdbDecodeError, CtdbEncodeError } from '../errors.ts';
import {
  addrInfoDef, connectionDef, dbIdDef, dbMapDef, dbStatisticsDef, dbVacuumDef, defaultTunableList, disableMessageDef,
  echoDataDef, electionMessageDef, gLockListDef, getDbSeqnumRequestDef, getTunableRequestDef, ifaceDef, ifaceListDef,
  keyDataDef, latencyCounterDef, ltdbHeaderDef, nodeAndFlagsDef, nodeFlagChangeDef, nodeMapDef, notifyDataDef,
  pidSrvidDef, publicIpDef, publicIpInfoDef, publicIpListDef, pulldbExtDef, pushRecordDataDef, recBufferDef,
  recDataDef, scriptDef, scriptListDef, sockAddrCodec, sockAddrDef, splitRecordData, srvidMessageDef,
  statisticsDef, statisticsListDef, tickleListDef, transdbDef, traverseAllDef, traverseAllExtDef, traverseStartDef,
  traverseStartExtDef, tunableDef, tunableDefaults, tunableListDef, tunableListOrder, uptimeDef, varListDef,
  vnnMapDef, type DbStatistics, type Statistics,
} from './index.ts';

/** Hex with spaces and '|' separators as written in the reference tables. */
const hex = (s: string) => Buffer.from(s.replace(/[\s|]+/g, ''), 'hex');

describe('golden bytes from live ctdbd 4.17 (types.md)', () => {
  test('node map entry of node 0 at 127.0.9.1, port 4379 big endian', () => {
    const bytes = hex('00000000 00000000 0200 111b 7f000901 0000000000000000 000000000000000000000000');
    const value = { pnn: 0, flags: 0, addr: { family: 'inet', address: '127.0.9.1', port: 4379 } };
    expect(nodeAndFlagsDef.decodeExact(bytes)).toEqual(value);
    expect(nodeAndFlagsDef.encode(value as never).toString('hex')).toBe(bytes.toString('hex'));
    const map = nodeMapDef.encode({ nodes: [value as never, { ...value, pnn: 1, flags: 0x11 } as never] });
    expect(map.length).toBe(4 + 2 * 36);
    expect(map.readUInt32LE(0)).toBe(2);
    expect(nodeMapDef.decodeExact(map).nodes[1]).toEqual({ ...value, pnn: 1, flags: 0x11 });
  });

  test('vnn map: generation 0x31AF6C79, one entry (PNN 0)', () => {
    const bytes = hex('796caf31 01000000 00000000');
    expect(vnnMapDef.decodeExact(bytes)).toEqual({ generation: 0x31af6c79, map: [0] });
    expect(vnnMapDef.encode({ generation: 0x31af6c79, map: [0] })).toEqual(bytes);
  });

  test('dbid map with a persistent and a volatile database (u8 flags + 3 pad)', () => {
    const bytes = hex('02000000 c8abeadd 01 000000 c741eb37 00 000000');
    const value = { dbs: [{ dbId: 0xddeaabc8, flags: 1 }, { dbId: 0x37eb41c7, flags: 0 }] };
    expect(dbMapDef.decodeExact(bytes)).toEqual(value);
    expect(dbMapDef.encode(value)).toEqual(bytes);
  });

  test('traverse record "key0" with an ltdb header and empty value', () => {
    const bytes = hex('2c000000 92100000 04000000 18000000 6b657930 | 0800000000000000 00000000 00000000 00000000 00000000');
    const rec = recDataDef.decodeExact(bytes);
    expect(rec.reqid).toBe(0x1092);
    expect(rec.key.toString()).toBe('key0');
    const { header, value } = splitRecordData(rec.data);
    expect(header).toEqual({ rsn: 8n, dmaster: 0, reserved1: 0, flags: 0 });
    expect(value.length).toBe(0);
    expect(recDataDef.encode(rec)).toEqual(bytes);
  });

  test('election message: num_connected 2, pad, priority_time, pnn 0, flags 2', () => {
    const bytes = hex('02000000 00000000 ed46026b00000000 7081000000000000 00000000 02000000');
    const value = { numConnected: 2, priorityTime: { sec: 0x6b0246ed, usec: 0x8170 }, pnn: 0, nodeFlags: 2 };
    expect(electionMessageDef.decodeExact(bytes)).toEqual(value);
    expect(electionMessageDef.encode(value)).toEqual(bytes);
  });

  test('disable message: leader disabling takeover runs for 60 s, no reply wanted', () => {
    const bytes = hex('ffffffff 00000000 0000000000000000 3c000000 00000000');
    const value = { pnn: 0xffffffff, srvid: 0n, timeout: 60 };
    expect(disableMessageDef.decodeExact(bytes)).toEqual(value);
    expect(disableMessageDef.encode(value)).toEqual(bytes);
  });

  test('pid_srvid is 12 bytes with the u64 unaligned at offset 4', () => {
    const value = { pid: 15195, srvid: 0x65e33dac42268805n };
    const bytes = pidSrvidDef.encode(value);
    expect(bytes.toString('hex')).toBe('5b3b0000' + '05882642ac3de365');
    expect(pidSrvidDef.decodeExact(bytes)).toEqual(value);
    expect(() => pidSrvidDef.decodeExact(Buffer.alloc(16))).toThrow(/4 unexpected trailing bytes/);
  });

  test('empty public ip list is 4 zero bytes; empty rec buffer is exactly 8 bytes', () => {
    expect(publicIpListDef.encode({ ips: [] }).toString('hex')).toBe('00000000');
    expect(recBufferDef.encode({ dbId: 0x37eb41c7, records: [] }).toString('hex')).toBe('c741eb3700000000');
  });

  test('GET_ALL_TUNABLES defaults are 248 bytes in slot order; LIST_TUNABLES of 4.17 is 819 bytes', () => {
    const list = defaultTunableList();
    const bytes = tunableListDef.encode(list);
    expect(bytes.length).toBe(248);
    expect(bytes.readUInt32LE(4 * tunableListOrder.indexOf('VacuumFastPathCount'))).toBe(60);
    expect(tunableListOrder.indexOf('VacuumFastPathCount')).toBe(40);
    expect(bytes.readUInt32LE(17 * 4)).toBe(100001); // DatabaseHashSize
    expect(tunableListDef.decodeExact(bytes)).toEqual(list);
    const names = tunableDefaults.filter((t) => !t.obsolete).map((t) => t.name);
    expect(names).toHaveLength(49);
    expect(names[names.indexOf('RepackLimit') + 1]).toBe('VacuumFastPathCount');
    const varList = varListDef.encode({ names });
    expect(varList.length).toBe(4 + 819);
    expect(varList.readUInt32LE(0)).toBe(819);
    expect(varList.toString('latin1', 4, 20)).toBe(':SeqnumInterval:');
    expect(varListDef.decodeExact(varList)).toEqual({ names, leadingColon: true });
  });

  test('var list in the client library form (no leading colon) round-trips', () => {
    const bytes = Buffer.concat([hex('08000000'), Buffer.from('Abc:Def\0')]);
    expect(varListDef.decodeExact(bytes)).toEqual({ names: ['Abc', 'Def'], leadingColon: false });
    expect(varListDef.encode({ names: ['Abc', 'Def'], leadingColon: false })).toEqual(bytes);
  });
});

describe('sizes and layouts (types.md tables)', () => {
  test('fixed sizes', () => {
    const sizes: Array<[{ fixedSize: number | undefined; name: string }, number]> = [
      [ltdbHeaderDef, 24], [nodeAndFlagsDef, 36], [nodeFlagChangeDef, 12], [transdbDef, 8], [pulldbExtDef, 16],
      [dbVacuumDef, 5], [traverseStartDef, 16], [traverseStartExtDef, 24], [traverseAllDef, 24],
      [traverseAllExtDef, 32], [tunableListDef, 248], [uptimeDef, 64], [latencyCounterDef, 32],
      [statisticsDef, 488], [publicIpDef, 32], [ifaceDef, 24], [connectionDef, 56], [pidSrvidDef, 12],
      [electionMessageDef, 32], [srvidMessageDef, 16], [disableMessageDef, 24], [getDbSeqnumRequestDef, 8],
      [scriptDef, 584], [sockAddrDef, 28],
    ];
    for (const [def, size] of sizes) expect([def.name, def.fixedSize]).toEqual([def.name, size]);
  });

  test('statistics: fields land at the documented offsets', () => {
    const zero = statisticsDef.decodeExact(Buffer.alloc(488));
    const s = structuredClone(zero) as Statistics;
    s.node.reqTunnel = 0x11111111; // 36 + 8*4 = 68
    s.timeouts.traverse = 0x22222222; // 96
    s.reclock.recd.max = 1.5; // 136 + 16
    s.locks.buckets[15] = 0x33333333; // 216 + 60 = 276
    s.hopCountBucket[0] = 0x44444444; // 308
    s.childwriteLatency.num = 7; // 408
    s.numRecoveries = 9; // 440
    s.statisticsCurrentTime = { sec: 1700000000, usec: 5 }; // 464
    s.totalRoRevokes = 0x55555555; // 484
    const b = statisticsDef.encode(s);
    expect(b.readUInt32LE(68)).toBe(0x11111111);
    expect(b.readUInt32LE(96)).toBe(0x22222222);
    expect(b.readDoubleLE(152)).toBe(1.5);
    expect(b.readUInt32LE(276)).toBe(0x33333333);
    expect(b.readUInt32LE(308)).toBe(0x44444444);
    expect(b.readInt32LE(408)).toBe(7);
    expect(b.readUInt32LE(440)).toBe(9);
    expect(b.readBigInt64LE(464)).toBe(1700000000n);
    expect(b.readBigInt64LE(472)).toBe(5n);
    expect(b.readUInt32LE(484)).toBe(0x55555555);
    expect(statisticsDef.decodeExact(b)).toEqual(s);
  });

  test('statistics list: i32 num, 4 pad, entries of 488 bytes', () => {
    const stat = statisticsDef.decodeExact(Buffer.alloc(488));
    const b = statisticsListDef.encode({ stats: [stat, stat] });
    expect(b.length).toBe(8 + 2 * 488);
    expect(b.readUInt32LE(0)).toBe(2);
  });

  test('db statistics: 464 bytes when no hot key has bytes; keys follow back to back', () => {
    const v: DbStatistics = dbStatisticsDef.decodeExact(Buffer.alloc(464));
    expect(v.hotKeys).toHaveLength(10);
    v.numHotKeys = 10;
    v.hotKeys[0] = { count: 3, key: Buffer.from('abc') };
    v.hotKeys[2] = { count: 1, key: Buffer.from('zz') };
    const b = dbStatisticsDef.encode(v);
    expect(b.length).toBe(464 + 5);
    expect(b.readUInt32LE(216)).toBe(10);
    expect(b.readBigUInt64LE(224 + 16)).toBe(3n); // slot 0 key size
    expect(b.readBigUInt64LE(224 + 2 * 24 + 16)).toBe(2n);
    expect(b.toString('latin1', 464)).toBe('abczz');
    expect(dbStatisticsDef.decodeExact(b)).toEqual(v);
    // A key size beyond the payload names the hot key and its offset.
    const bad = Buffer.from(b);
    bad.writeBigUInt64LE(100n, 224 + 16);
    expect(() => dbStatisticsDef.decodeExact(bad)).toThrow(/hotKeys\[0\]\.key at offset 464/);
  });

  test('db statistics: the leaked pointer half of each hot key is padding (ignored, masked)', () => {
    const b = Buffer.alloc(464);
    b.writeBigUInt64LE(0x55d1234567890n, 224 + 8);
    const v = dbStatisticsDef.decodeExact(b);
    expect(dbStatisticsDef.padRanges(v)).toContainEqual([232, 240]);
  });

  test('iface: 18-byte NUL padded name, u16 link state, u32 references', () => {
    const b = ifaceDef.encode({ name: 'eth0', linkState: 1, references: 2 });
    expect(b.toString('hex')).toBe('65746830' + '00'.repeat(14) + '0100' + '02000000');
    expect(ifaceDef.decodeExact(b)).toEqual({ name: 'eth0', linkState: 1, references: 2 });
    expect(() => ifaceDef.encode({ name: 'x'.repeat(18), linkState: 0, references: 0 })).toThrow(CtdbEncodeError);
    const list = ifaceListDef.encode({ ifaces: [{ name: 'eth0', linkState: 1, references: 2 }] });
    expect(list.length).toBe(28);
  });

  test('public ip info: 40 + 24 per interface', () => {
    const v = {
      ip: { pnn: 1, addr: { family: 'inet' as const, address: '10.0.0.5', port: 0 } },
      activeIdx: 0,
      ifaces: [{ name: 'eth0', linkState: 1, references: 1 }, { name: 'eth1', linkState: 0, references: 0 }],
    };
    const b = publicIpInfoDef.encode(v);
    expect(b.length).toBe(40 + 48);
    expect(b.readUInt32LE(36)).toBe(2);
    expect(publicIpInfoDef.decodeExact(b)).toEqual(v);
  });

  test('addr_info: 36 + n with the interface name counted including NUL', () => {
    const v = { addr: { family: 'inet' as const, address: '10.0.0.5', port: 0 }, mask: 24, iface: 'eth0' };
    const b = addrInfoDef.encode(v);
    expect(b.length).toBe(36 + 5);
    expect(b.readUInt32LE(28)).toBe(24);
    expect(b.readUInt32LE(32)).toBe(5);
    expect(addrInfoDef.decodeExact(b)).toEqual(v);
  });

  test('tickle list: 32 + 56 per connection', () => {
    const a = { family: 'inet' as const, address: '10.0.0.5', port: 445 };
    const c = { family: 'inet' as const, address: '10.0.0.99', port: 50000 };
    const v = { addr: a, connections: [{ src: a, dst: c }] };
    const b = tickleListDef.encode(v);
    expect(b.length).toBe(32 + 56);
    expect(b.readUInt32LE(28)).toBe(1);
    expect(b.readUInt16BE(32 + 2)).toBe(445);
    expect(tickleListDef.decodeExact(b)).toEqual(v);
  });

  test('key_data: 36 + keylen (db_id, pad, ltdb header, keylen, key)', () => {
    const v = { dbId: 7, header: { rsn: 3n, dmaster: 1, reserved1: 0, flags: 0x10000 }, key: Buffer.from('k') };
    const b = keyDataDef.encode(v);
    expect(b.length).toBe(37);
    expect(b.readBigUInt64LE(8)).toBe(3n);
    expect(b.readUInt32LE(32)).toBe(1);
    expect(keyDataDef.decodeExact(b)).toEqual(v);
  });

  test('push_record_data: 40 + keylen + vallen, no alignment after the key', () => {
    const v = { generation: 5, dbId: 7, header: { rsn: 1n, dmaster: 0, reserved1: 0, flags: 1 }, key: Buffer.from('abc'), value: Buffer.from('xy') };
    const b = pushRecordDataDef.encode(v);
    expect(b.length).toBe(45);
    expect(b.readUInt32LE(36 + 3)).toBe(2);
    expect(pushRecordDataDef.decodeExact(b)).toEqual(v);
  });

  test('counted strings (SET_TUNABLE, GET_TUNABLE request) count the NUL', () => {
    expect(tunableDef.encode({ value: 120, name: 'RecoverTimeout' }).toString('hex'))
      .toBe('78000000' + '0f000000' + Buffer.from('RecoverTimeout\0').toString('hex'));
    expect(getTunableRequestDef.encode({ name: 'RecoverTimeout' }).length).toBe(4 + 15);
    expect(getTunableRequestDef.decodeExact(getTunableRequestDef.encode({ name: 'X' }))).toEqual({ name: 'X' });
  });

  test('notify_data, echo_data, db_vacuum, GET_DB_SEQNUM request', () => {
    expect(notifyDataDef.encode({ srvid: 1n, data: Buffer.from('ab') }).length).toBe(14);
    expect(echoDataDef.encode({ timeout: 0, data: Buffer.alloc(3) }).length).toBe(11);
    expect(dbVacuumDef.encode({ dbId: 1, fullVacuumRun: true }).toString('hex')).toBe('0100000001');
    expect(() => dbVacuumDef.decodeExact(Buffer.from('0100000002', 'hex'))).toThrow(/bool must be 0 or 1/);
    expect(getDbSeqnumRequestDef.encode({ dbId: 0x37eb41c7 }).toString('hex')).toBe('c741eb3700000000');
    expect(() => getDbSeqnumRequestDef.decodeExact(hex('c741eb37'))).toThrow(CtdbDecodeError);
  });

  test('traverse_all_ext: garbage in the 7 pad bytes is ignored on decode and masked', () => {
    const b = traverseAllExtDef.encode({ dbId: 1, reqid: 2, pnn: 0, clientReqid: 3, srvid: 0xbe00n, withEmptyRecords: true });
    hex('01 05 69 83 6a 55 00').copy(b, 25);
    const v = traverseAllExtDef.decodeExact(b);
    expect(v.withEmptyRecords).toBe(true);
    expect(traverseAllExtDef.padRanges(v)).toEqual([[25, 32]]);
  });

  test('script list: u32 num, pad 4, 584-byte scripts', () => {
    const s = { name: '10.interface', start: { sec: 1, usec: 2 }, finished: { sec: 3, usec: 4 }, status: -1, output: 'oops' };
    const b = scriptListDef.encode({ scripts: [s] });
    expect(b.length).toBe(8 + 584);
    expect(scriptListDef.decodeExact(b)).toEqual({ scripts: [s] });
  });

  test('g_lock list has no count: entries until the end; a partial entry is an error', () => {
    const lock = { type: 1, serverId: { pid: 1234n, taskId: 0, vnn: 1, uniqueId: 99n } };
    const b = gLockListDef.encode({ locks: [lock, lock] });
    expect(b.length).toBe(64);
    expect(gLockListDef.decodeExact(b)).toEqual({ locks: [lock, lock] });
    expect(() => gLockListDef.decodeExact(b.subarray(0, 40))).toThrow(/locks\[1\]/);
  });

  test('dbId payload and the single-value helpers', () => {
    expect(dbIdDef.encode({ dbId: 0x37eb41c7 }).toString('hex')).toBe('c741eb37');
  });
});

describe('ctdb_sock_addr', () => {
  test('IPv6: family 10 LE, port BE, flowinfo, 16 address bytes, scope id', () => {
    const v = { family: 'inet6' as const, address: 'fd00::1:2', port: 4379, scopeId: 3 };
    const b = Buffer.alloc(28);
    sockAddrCodec.encode(v, b, 0);
    expect(b.toString('hex')).toBe('0a00' + '111b' + '00000000' + 'fd000000000000000000000000010002' + '03000000');
    expect(sockAddrCodec.decode(b, 0)).toEqual(v);
  });

  test('IPv4-mapped IPv6 prints dotted and parses back', () => {
    const v = { family: 'inet6' as const, address: '::ffff:10.1.2.3', port: 0 };
    const b = Buffer.alloc(28);
    sockAddrCodec.encode(v, b, 0);
    expect(b.subarray(8, 24).toString('hex')).toBe('00000000000000000000ffff0a010203');
    expect(sockAddrCodec.decode(b, 0)).toEqual(v);
  });

  test('IPv4 tail bytes are padding; an unknown family is a decode error naming the field', () => {
    const b = Buffer.alloc(28);
    sockAddrCodec.encode({ family: 'inet', address: '1.2.3.4', port: 80 }, b, 0);
    b.fill(0xaa, 16);
    expect(sockAddrCodec.decode(b, 0)).toEqual({ family: 'inet', address: '1.2.3.4', port: 80 });
    b.writeUInt16LE(7, 0);
    expect(() => publicIpDef.decodeExact(Buffer.concat([Buffer.alloc(4), b])))
      .toThrow(/ctdb_public_ip: field addr.family at offset 4: unknown address family 7/);
  });

  test('bad addresses are encode errors', () => {
    const b = Buffer.alloc(28);
    expect(() => sockAddrCodec.encode({ family: 'inet', address: '1.2.3', port: 0 }, b, 0)).toThrow(CtdbEncodeError);
    expect(() => sockAddrCodec.encode({ family: 'inet6', address: '1::2::3', port: 0 }, b, 0)).toThrow(CtdbEncodeError);
    expect(() => sockAddrCodec.encode({ family: 'inet', address: '1.2.3.4', port: 70000 }, b, 0)).toThrow(CtdbEncodeError);
  });
});

describe('decode errors name field path and offset', () => {
  test('a node map whose count exceeds the data', () => {
    const b = nodeMapDef.encode({ nodes: [{ pnn: 0, flags: 0, addr: { family: 'inet', address: '1.1.1.1', port: 1 } }] });
    b.writeUInt32LE(3, 0);
    expect(() => nodeMapDef.decodeExact(b)).toThrow(/ctdb_node_map: field nodes at offset 4: 3 elements/);
  });

  test('a truncated record inside a record buffer names the record index', () => {
    const buf = recBufferDef.encode({ dbId: 1, records: [{ reqid: 0, key: Buffer.from('a'), data: Buffer.from('b') },
      { reqid: 0, key: Buffer.from('cc'), data: Buffer.from('dd') }] });
    try {
      recBufferDef.decodeExact(buf.subarray(0, buf.length - 1));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CtdbDecodeError);
      expect((e as CtdbDecodeError).field).toBe('records[1].length');
      expect((e as CtdbDecodeError).offset).toBe(8 + 18);
    }
  });

  test('a record whose length word disagrees with keylen + datalen', () => {
    const b = recDataDef.encode({ reqid: 1, key: Buffer.from('k'), data: Buffer.from('v') });
    b.writeUInt32LE(17, 0);
    expect(() => recDataDef.decodeExact(b)).toThrow(/field length at offset 0: record length 17 does not match its contents \(18 bytes\)/);
  });
});

describe('public ip list round trip', () => {
  test('two addresses', () => {
    const v = { ips: [{ pnn: 0, addr: { family: 'inet' as const, address: '10.0.0.1', port: 0 } },
      { pnn: 0xffffffff, addr: { family: 'inet6' as const, address: '2001:db8::1', port: 0 } }] };
    const b = publicIpListDef.encode(v);
    expect(b.length).toBe(4 + 64);
    expect(publicIpListDef.decodeExact(b)).toEqual(v);
  });
});
