import { beforeAll, describe, expect, it } from 'vitest';
import { statisticsDef, type Statistics } from '../../../legacy/protocol/types/statistics.ts';
import { formatStatistics } from './format-statistics.ts';
import { formatUptime } from './format-uptime.ts';
import { applyUnknownFlags, formatNodeMap, formatStatus, nodestatusExitCode, prettyFlags } from './format-nodes.ts';
import { formatDbMap } from './format-dbmap.ts';
import { formatIfaces, formatPublicIps, sortPublicIps } from './format-ips.ts';
import { formatGetvar, hasTunable } from './format-tunables.ts';
import { debugLevelName, formatProcessExists, formatRunstate } from './format-simple.ts';
import { ageDhms, ctime } from './text.ts';
import { atoi, cStrtoul } from './c-numbers.ts';

beforeAll(() => {
  process.env.TZ = 'UTC'; // the golden texts below were printed by ctdb on a UTC host
});

/** `ctdb statistics` from Debian ctdb 4.17.12 (live node, 2026-11-22). */
const REAL_STATISTICS = `CTDB version 1
Current time of statistics  :                Sun Nov 22 02:48:54 2026
Statistics collected since  : (000 00:00:12) Sun Nov 22 02:48:42 2026
 num_clients                        2
 frozen                             0
 recovering                         0
 num_recoveries                     1
 client_packets_sent              223
 client_packets_recv              204
 node_packets_sent                442
 node_packets_recv                119
 keepalive_packets_sent             4
 keepalive_packets_recv             4
 node
     req_call                       0
     reply_call                     0
     req_dmaster                    0
     reply_dmaster                  0
     reply_error                    0
     req_message                   19
     req_control                  229
     reply_control                203
     req_tunnel                     0
 client
     req_call                       0
     req_message                    1
     req_control                  203
     req_tunnel                     0
 timeouts
     call                           0
     control                        0
     traverse                       0
 locks
     num_calls                      0
     num_current                    0
     num_pending                    0
     num_failed                     0
 total_calls                        0
 pending_calls                      0
 childwrite_calls                   0
 pending_childwrite_calls             0
 memory_used                    82882
 max_hop_count                      0
 total_ro_delegations               0
 total_ro_revokes                   0
 hop_count_buckets: 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
 lock_buckets: 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
 locks_latency      MIN/AVG/MAX     0.000000/0.000000/0.000000 sec out of 0
 reclock_ctdbd      MIN/AVG/MAX     0.015103/0.015103/0.015103 sec out of 1
 reclock_recd       MIN/AVG/MAX     0.000000/0.000000/0.000000 sec out of 0
 call_latency       MIN/AVG/MAX     0.000000/0.000000/0.000000 sec out of 0
 childwrite_latency MIN/AVG/MAX     0.000000/0.000000/0.000000 sec out of 0
`;

function statistics(): Statistics {
  const s = statisticsDef.decodeExact(Buffer.alloc(488));
  Object.assign(s, {
    numClients: 2, numRecoveries: 1, clientPacketsSent: 223, clientPacketsRecv: 204, nodePacketsSent: 442,
    nodePacketsRecv: 119, keepalivePacketsSent: 4, keepalivePacketsRecv: 4, memoryUsed: 82882,
    statisticsStartTime: { sec: 1795315722, usec: 0 }, statisticsCurrentTime: { sec: 1795315734, usec: 0 },
  });
  Object.assign(s.node, { reqMessage: 19, reqControl: 229, replyControl: 203 });
  Object.assign(s.client, { reqMessage: 1, reqControl: 203 });
  s.reclock.ctdbd = { num: 1, min: 0.015103, max: 0.015103, total: 0.015103 };
  return s;
}

describe('ctdb formatters', () => {
  it('statistics is byte-identical to ctdb 4.17 for the same values', () => {
    expect(formatStatistics(statistics())).toBe(REAL_STATISTICS);
  });

  it('uptime, with ctime in local time and (DDD HH:MM:SS) ages', () => {
    const text = formatUptime(0, {
      currentTime: { sec: 1795315733, usec: 0 }, ctdbdStartTime: { sec: 1795315722, usec: 0 },
      lastRecoveryStarted: { sec: 1795315727, usec: 267509 }, lastRecoveryFinished: { sec: 1795315727, usec: 295268 },
    });
    expect(text).toBe(`Current time of node 0        :                Sun Nov 22 02:48:53 2026
Ctdbd start time              : (000 00:00:11) Sun Nov 22 02:48:42 2026
Time of last recovery/failover: (000 00:00:06) Sun Nov 22 02:48:47 2026
Duration of last recovery/failover: 0.027759 seconds
`);
    expect(ctime(0)).toBe('Thu Jan  1 00:00:00 1970\n');
    expect(ageDhms(90061)).toBe('(001 01:01:01)');
    expect(ageDhms(-61)).toBe('(000 00:-1:-1)');
  });

  it('node map, status and nodestatus exit code', () => {
    const nodes = [
      { pnn: 0, flags: 0, address: '127.0.90.1' },
      { pnn: 1, flags: 0x10, address: '0.0.0.0' },
      { pnn: 2, flags: 0x3, address: '127.0.90.3' },
    ];
    expect(formatNodeMap(nodes, 0, true, new Set([0]))).toBe(
      'Number of nodes:3 (including 1 deleted nodes)\npnn:0 127.0.90.1       PARTIALLYONLINE (THIS NODE)\n' +
      'pnn:2 127.0.90.3       DISCONNECTED|UNHEALTHY|INACTIVE\n');
    expect(prettyFlags(0x39 | 0x02)).toBe('DISCONNECTED|BANNED|UNHEALTHY|DELETED|STOPPED|INACTIVE');
    expect(nodestatusExitCode(nodes)).toBe(3);
    expect(applyUnknownFlags(nodes, 3, 0).map((n) => n.flags)).toEqual([0, 0x10, 0x3]);
    expect(applyUnknownFlags([{ pnn: 1, flags: 2, address: 'x' }], 2, 0)[0].flags).toBe(0x40);
    expect(formatStatus(nodes.slice(0, 1), 0, new Set(), { generation: 1, map: [0] }, 1, 0xffffffff))
      .toBe('Number of nodes:1\npnn:0 127.0.90.1       OK (THIS NODE)\nGeneration:INVALID\nSize:1\n' +
        'hash:0 lmaster:0\nRecovery mode:RECOVERY (1)\nLeader:UNKNOWN\n');
  });

  it('dbmap, ips, ifaces, getvar, runstate, process-exists, debug names', () => {
    expect(formatDbMap([{ dbId: 0xa870bacf, flags: 0x8 | 0x4, name: 'r.tdb', path: '/p/r.tdb.0', health: 'bad' }]))
      .toBe('Number of databases:1\ndbid:0xa870bacf name:r.tdb path:/p/r.tdb.0 STICKY REPLICATED UNHEALTHY\n');
    const ip = (address: string, last: number, pnn: number) => ({ pnn, address, sortKey: Buffer.from([0, 2, 10, 0, 0, last, 0, 0]) });
    const sorted = sortPublicIps([ip('10.0.0.9', 9, 1), ip('10.0.0.2', 2, 0xffffffff)]);
    expect(formatPublicIps(sorted, 0, true)).toBe('Public IPs on ALL nodes\n10.0.0.2 -1\n10.0.0.9 1\n');
    sorted[1].info = { activeIdx: 1, ifaces: [{ name: 'eth0', linkState: 0, references: 0 }, { name: 'eth1', linkState: 1, references: 2 }] };
    expect(formatPublicIps(sorted, 0, false, true)).toBe('Public IPs on node 0\n10.0.0.2 node[-1] active[] available[] configured[]\n' +
      '10.0.0.9 node[1] active[eth1] available[eth1] configured[eth0,eth1]\n');
    expect(formatIfaces([], 2)).toBe('No interfaces configured on node 2\n');
    expect(formatIfaces([{ name: 'eth1', linkState: 1, references: 2 }], 2)).toBe('Interfaces on node 2\nname:eth1 link:up references:2\n');
    expect(formatGetvar('recovertimeout', 31)).toBe('recovertimeout             = 31\n');
    expect(hasTunable(['RecoverTimeout'], 'RECOVERTIMEOUT')).toBe(true);
    expect(formatRunstate(5, ['setup', 'Running'])).toEqual({ stdout: 'RUNNING\n', exitCode: 0 });
    expect(formatRunstate(5, ['startup'])).toEqual({ stdout: 'CTDB not in required run state (got RUNNING)\n', exitCode: 1 });
    expect(formatRunstate(5, ['nope', 'running'])).toEqual({ stdout: 'Invalid run state (nope)\n', exitCode: 1 });
    expect(formatProcessExists(12, 0xae01n, -1)).toBe('PID 12 with SRVID 0xae01 does not exist\n');
    expect([0, 2, 3, 9, 10, 11].map(debugLevelName)).toEqual(['ERROR', 'WARNING', 'NOTICE', 'INFO', 'DEBUG', 'UNKNOWN']);
  });

  it('parses numbers like smb_strtoul and atoi', () => {
    expect(cStrtoul('0x1f')).toEqual({ value: 31n });
    expect(cStrtoul('010')).toEqual({ value: 8n });
    expect(cStrtoul(' 12abc')).toEqual({ value: 12n });
    expect(cStrtoul('0x')).toEqual({ value: 0n });
    expect(cStrtoul('abc')).toEqual({ errno: 22 });
    expect(cStrtoul('-1')).toEqual({ errno: 22 });
    expect(cStrtoul('18446744073709551616')).toEqual({ errno: 34 });
    expect(atoi('42x')).toBe(42);
    expect(atoi('x')).toBe(0);
    expect(atoi(' -7')).toBe(-7);
  });
});
