import { CtdbDecodeError, CtdbEncodeError } from '../errors.ts';
import { f, struct } from '../struct.ts';
import { timevalDef, type Timeval } from './basic.ts';

/** Time and statistics payloads (types.md §6). */

export interface Uptime {
  currentTime: Timeval;
  ctdbdStartTime: Timeval;
  lastRecoveryStarted: Timeval;
  lastRecoveryFinished: Timeval;
}
export const uptimeDef = struct<Uptime>('ctdb_uptime', [
  f.struct('currentTime', timevalDef), f.struct('ctdbdStartTime', timevalDef),
  f.struct('lastRecoveryStarted', timevalDef), f.struct('lastRecoveryFinished', timevalDef),
]);

export interface LatencyCounter { num: number; min: number; max: number; total: number }
export const latencyCounterDef = struct<LatencyCounter>('ctdb_latency_counter', [
  f.i32('num'), f.pad(4), f.f64('min'), f.f64('max'), f.f64('total'),
]);

const MAX_COUNT_BUCKETS = 16;
const MAX_HOT_KEYS = 10;

export interface Statistics {
  numClients: number;
  frozen: number;
  recovering: number;
  clientPacketsSent: number;
  clientPacketsRecv: number;
  nodePacketsSent: number;
  nodePacketsRecv: number;
  keepalivePacketsSent: number;
  keepalivePacketsRecv: number;
  node: {
    reqCall: number; replyCall: number; reqDmaster: number; replyDmaster: number; replyError: number;
    reqMessage: number; reqControl: number; replyControl: number; reqTunnel: number;
  };
  client: { reqCall: number; reqMessage: number; reqControl: number; reqTunnel: number };
  timeouts: { call: number; control: number; traverse: number };
  reclock: { ctdbd: LatencyCounter; recd: LatencyCounter };
  locks: {
    numCalls: number; numCurrent: number; numPending: number; numFailed: number;
    latency: LatencyCounter; buckets: number[];
  };
  totalCalls: number;
  pendingCalls: number;
  childwriteCalls: number;
  pendingChildwriteCalls: number;
  memoryUsed: number;
  lastCounter: number;
  maxHopCount: number;
  hopCountBucket: number[];
  callLatency: LatencyCounter;
  childwriteLatency: LatencyCounter;
  numRecoveries: number;
  statisticsStartTime: Timeval;
  statisticsCurrentTime: Timeval;
  totalRoDelegations: number;
  totalRoRevokes: number;
}

const u32s = (...names: string[]) => names.map((n) => f.u32(n));

const nodeCountersDef = struct('ctdb_statistics.node', u32s('reqCall', 'replyCall', 'reqDmaster', 'replyDmaster',
  'replyError', 'reqMessage', 'reqControl', 'replyControl', 'reqTunnel'));
const clientCountersDef = struct('ctdb_statistics.client', u32s('reqCall', 'reqMessage', 'reqControl', 'reqTunnel'));
const timeoutsDef = struct('ctdb_statistics.timeouts', u32s('call', 'control', 'traverse'));
const reclockDef = struct('ctdb_statistics.reclock', [f.struct('ctdbd', latencyCounterDef), f.struct('recd', latencyCounterDef)]);
const locksDef = struct('ctdb_statistics.locks', [
  ...u32s('numCalls', 'numCurrent', 'numPending', 'numFailed'),
  f.struct('latency', latencyCounterDef), f.values('buckets', 'u32', MAX_COUNT_BUCKETS),
]);

/** STATISTICS reply and element of GET_STAT_HISTORY: 488 bytes. */
export const statisticsDef = struct<Statistics>('ctdb_statistics', [
  ...u32s('numClients', 'frozen', 'recovering', 'clientPacketsSent', 'clientPacketsRecv', 'nodePacketsSent',
    'nodePacketsRecv', 'keepalivePacketsSent', 'keepalivePacketsRecv'),
  f.struct('node', nodeCountersDef),
  f.struct('client', clientCountersDef),
  f.struct('timeouts', timeoutsDef),
  f.pad(4),
  f.struct('reclock', reclockDef),
  f.struct('locks', locksDef),
  ...u32s('totalCalls', 'pendingCalls', 'childwriteCalls', 'pendingChildwriteCalls', 'memoryUsed', 'lastCounter',
    'maxHopCount'),
  f.values('hopCountBucket', 'u32', MAX_COUNT_BUCKETS),
  f.pad(4),
  f.struct('callLatency', latencyCounterDef),
  f.struct('childwriteLatency', latencyCounterDef),
  f.u32('numRecoveries'),
  f.pad(4),
  f.struct('statisticsStartTime', timevalDef),
  f.struct('statisticsCurrentTime', timevalDef),
  f.u32('totalRoDelegations'),
  f.u32('totalRoRevokes'),
]);

/** GET_STAT_HISTORY reply: i32 num, pad 4, num statistics (ctdbd sends 100). */
export interface StatisticsList { stats: Statistics[] }
export const statisticsListDef = struct<StatisticsList>('ctdb_statistics_list', [
  f.lengthOf('stats'), f.pad(4), f.array('stats', statisticsDef),
]);

export interface HotKey { count: number; key: Buffer }
export interface DbStatistics {
  locks: {
    numCalls: number; numCurrent: number; numPending: number; numFailed: number;
    latency: LatencyCounter; buckets: number[];
  };
  vacuumLatency: LatencyCounter;
  dbRoDelegations: number;
  dbRoRevokes: number;
  hopCountBucket: number[];
  /** ctdbd always writes 10 (the fixed number of slots). */
  numHotKeys: number;
  /** Always 10 slots; unused ones have count 0 and an empty key. */
  hotKeys: HotKey[];
}

/** One hot-key slot: count, pad, a leaked pointer (garbage, treated as padding), u64 key size. */
const hotKeySlotDef = struct<{ count: number; keySize: bigint }>('ctdb_db_hot_key', [
  f.u32('count'), f.pad(4), f.pad(8), f.u64('keySize'),
]);
const DB_STATISTICS_FIXED = 464;

interface DbStatisticsRaw extends Omit<DbStatistics, 'hotKeys'> {
  hotKeySlots: Array<{ count: number; keySize: bigint }>;
  keyBytes: Buffer;
}

/** GET_DB_STATISTICS reply: 464 bytes then the 10 hot keys' bytes back to back. */
export const dbStatisticsDef = struct<DbStatistics>('ctdb_db_statistics', [
  f.struct('locks', locksDef),
  f.struct('vacuumLatency', latencyCounterDef),
  f.u32('dbRoDelegations'),
  f.u32('dbRoRevokes'),
  f.values('hopCountBucket', 'u32', MAX_COUNT_BUCKETS),
  f.u32('numHotKeys'),
  f.pad(4),
  f.array('hotKeySlots', hotKeySlotDef, MAX_HOT_KEYS),
  f.rest('keyBytes'),
], {
  decode(raw: DbStatisticsRaw, start: number): DbStatistics {
    let off = 0;
    const hotKeys = raw.hotKeySlots.map((slot, i) => {
      const size = slot.keySize;
      if (size > BigInt(raw.keyBytes.length - off)) {
        throw new CtdbDecodeError('ctdb_db_statistics', `hotKeys[${i}].key`, start + DB_STATISTICS_FIXED + off,
          `key size ${size} exceeds the ${raw.keyBytes.length - off} bytes left`);
      }
      const key = raw.keyBytes.subarray(off, off + Number(size));
      off += Number(size);
      return { count: slot.count, key };
    });
    if (off !== raw.keyBytes.length) {
      throw new CtdbDecodeError('ctdb_db_statistics', '(end)', start + DB_STATISTICS_FIXED + off,
        `${raw.keyBytes.length - off} bytes after the hot keys`);
    }
    const { hotKeySlots: _slots, keyBytes: _bytes, ...rest } = raw;
    return { ...rest, hotKeys };
  },
  encode(v: DbStatistics): DbStatisticsRaw {
    const keys = Array.isArray(v?.hotKeys) ? v.hotKeys : [];
    keys.forEach((k, i) => {
      if (!(k?.key instanceof Uint8Array)) throw new CtdbEncodeError('ctdb_db_statistics', `hotKeys[${i}].key`, 'expected a Buffer');
    });
    return {
      ...v,
      hotKeySlots: keys.map((k) => ({ count: k.count, keySize: BigInt(k.key.length) })),
      keyBytes: Buffer.concat(keys.map((k) => k.key)),
    };
  },
});
