import type { LatencyCounter, Statistics } from '../protocol/types/statistics.ts';

/** Live counters in the codec's ctdb_statistics shape (types.md §6). */
export function newStatistics(): Statistics {
  const lat = (): LatencyCounter => ({ num: 0, min: 0, max: 0, total: 0 });
  const zeros = (n: number) => new Array<number>(n).fill(0);
  return {
    numClients: 0, frozen: 0, recovering: 0,
    clientPacketsSent: 0, clientPacketsRecv: 0, nodePacketsSent: 0, nodePacketsRecv: 0,
    keepalivePacketsSent: 0, keepalivePacketsRecv: 0,
    node: { reqCall: 0, replyCall: 0, reqDmaster: 0, replyDmaster: 0, replyError: 0, reqMessage: 0, reqControl: 0, replyControl: 0, reqTunnel: 0 },
    client: { reqCall: 0, reqMessage: 0, reqControl: 0, reqTunnel: 0 },
    timeouts: { call: 0, control: 0, traverse: 0 },
    reclock: { ctdbd: lat(), recd: lat() },
    locks: { numCalls: 0, numCurrent: 0, numPending: 0, numFailed: 0, latency: lat(), buckets: zeros(16) },
    totalCalls: 0, pendingCalls: 0, childwriteCalls: 0, pendingChildwriteCalls: 0,
    memoryUsed: 0, lastCounter: 0, maxHopCount: 0, hopCountBucket: zeros(16),
    callLatency: lat(), childwriteLatency: lat(), numRecoveries: 0,
    statisticsStartTime: { sec: 0, usec: 0 }, statisticsCurrentTime: { sec: 0, usec: 0 },
    totalRoDelegations: 0, totalRoRevokes: 0,
  };
}

/** u32 counters wrap like ctdbd's. */
export function wrapCounters(s: Statistics): Statistics {
  const w = (n: number) => n >>> 0;
  return {
    ...s,
    clientPacketsSent: w(s.clientPacketsSent), clientPacketsRecv: w(s.clientPacketsRecv),
    nodePacketsSent: w(s.nodePacketsSent), nodePacketsRecv: w(s.nodePacketsRecv),
    keepalivePacketsSent: w(s.keepalivePacketsSent), keepalivePacketsRecv: w(s.keepalivePacketsRecv),
    node: Object.fromEntries(Object.entries(s.node).map(([k, v]) => [k, w(v)])) as Statistics['node'],
    client: Object.fromEntries(Object.entries(s.client).map(([k, v]) => [k, w(v)])) as Statistics['client'],
  };
}
