import type { LatencyCounter, Statistics } from '../../../legacy/protocol/types/statistics.ts';
import { ageDhms, ctime, right } from './text.ts';

/**
 * The u32 counters of ctdb_statistics by their C names (dotted for nested
 * structs), in the order `ctdb statistics` prints them.
 */
export const STATISTICS_COUNTERS: ReadonlyArray<[string, (s: Statistics) => number]> = [
  ['num_clients', (s) => s.numClients],
  ['frozen', (s) => s.frozen],
  ['recovering', (s) => s.recovering],
  ['num_recoveries', (s) => s.numRecoveries],
  ['client_packets_sent', (s) => s.clientPacketsSent],
  ['client_packets_recv', (s) => s.clientPacketsRecv],
  ['node_packets_sent', (s) => s.nodePacketsSent],
  ['node_packets_recv', (s) => s.nodePacketsRecv],
  ['keepalive_packets_sent', (s) => s.keepalivePacketsSent],
  ['keepalive_packets_recv', (s) => s.keepalivePacketsRecv],
  ['node.req_call', (s) => s.node.reqCall],
  ['node.reply_call', (s) => s.node.replyCall],
  ['node.req_dmaster', (s) => s.node.reqDmaster],
  ['node.reply_dmaster', (s) => s.node.replyDmaster],
  ['node.reply_error', (s) => s.node.replyError],
  ['node.req_message', (s) => s.node.reqMessage],
  ['node.req_control', (s) => s.node.reqControl],
  ['node.reply_control', (s) => s.node.replyControl],
  ['node.req_tunnel', (s) => s.node.reqTunnel],
  ['client.req_call', (s) => s.client.reqCall],
  ['client.req_message', (s) => s.client.reqMessage],
  ['client.req_control', (s) => s.client.reqControl],
  ['client.req_tunnel', (s) => s.client.reqTunnel],
  ['timeouts.call', (s) => s.timeouts.call],
  ['timeouts.control', (s) => s.timeouts.control],
  ['timeouts.traverse', (s) => s.timeouts.traverse],
  ['locks.num_calls', (s) => s.locks.numCalls],
  ['locks.num_current', (s) => s.locks.numCurrent],
  ['locks.num_pending', (s) => s.locks.numPending],
  ['locks.num_failed', (s) => s.locks.numFailed],
  ['total_calls', (s) => s.totalCalls],
  ['pending_calls', (s) => s.pendingCalls],
  ['childwrite_calls', (s) => s.childwriteCalls],
  ['pending_childwrite_calls', (s) => s.pendingChildwriteCalls],
  ['memory_used', (s) => s.memoryUsed],
  ['max_hop_count', (s) => s.maxHopCount],
  ['total_ro_delegations', (s) => s.totalRoDelegations],
  ['total_ro_revokes', (s) => s.totalRoRevokes],
];

const avg = (l: LatencyCounter) => (l.num ? l.total / l.num : 0.0);

function latencyLine(label: string, l: LatencyCounter): string {
  return ` ${label.padEnd(30, ' ')}     ${l.min.toFixed(6)}/${avg(l).toFixed(6)}/${l.max.toFixed(6)} sec out of ${l.num | 0}\n`;
}

/** `ctdb statistics`. */
export function formatStatistics(s: Statistics): string {
  const now = s.statisticsCurrentTime.sec;
  const start = s.statisticsStartTime.sec;
  let out = 'CTDB version 1\n';
  out += `Current time of statistics  :                ${ctime(now)}`;
  out += `Statistics collected since  : ${ageDhms(now - start)} ${ctime(start)}`;
  let prefix: string | undefined;
  for (const [name, get] of STATISTICS_COUNTERS) {
    const dot = name.indexOf('.');
    const preflen = dot === -1 ? 0 : dot + 1;
    if (preflen && (!prefix || !name.startsWith(prefix.slice(0, preflen)))) {
      prefix = name;
      out += ` ${name.slice(0, preflen - 1)}\n`;
    }
    // " %*s%-22s%*s%10u": 4 spaces of indent inside a group, else 4 after the name.
    const label = name.slice(preflen).padEnd(22, ' ');
    out += ` ${preflen ? '    ' : ''}${label}${preflen ? '' : '    '}${right(get(s) >>> 0, 10)}\n`;
  }
  out += ` hop_count_buckets:${s.hopCountBucket.map((b) => ` ${b | 0}`).join('')}\n`;
  out += ` lock_buckets:${s.locks.buckets.map((b) => ` ${b | 0}`).join('')}\n`;
  out += latencyLine('locks_latency      MIN/AVG/MAX', s.locks.latency);
  out += latencyLine('reclock_ctdbd      MIN/AVG/MAX', s.reclock.ctdbd);
  out += latencyLine('reclock_recd       MIN/AVG/MAX', s.reclock.recd);
  out += latencyLine('call_latency       MIN/AVG/MAX', s.callLatency);
  out += latencyLine('childwrite_latency MIN/AVG/MAX', s.childwriteLatency);
  return out;
}
