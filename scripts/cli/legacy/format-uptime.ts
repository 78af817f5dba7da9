import type { Timeval } from '../../../legacy/protocol/types/basic.ts';
import type { Uptime } from '../../../legacy/protocol/types/statistics.ts';
import { ageDhms, ctime, left } from './text.ts';

/** `ctdb uptime`. */
export function formatUptime(pnn: number, u: Uptime): string {
  const now = u.currentTime.sec;
  return `Current time of node ${left(String(pnn), 4)}     :                ${ctime(now)}` +
    `Ctdbd start time              : ${ageDhms(now - u.ctdbdStartTime.sec)} ${ctime(u.ctdbdStartTime.sec)}` +
    `Time of last recovery/failover: ${ageDhms(now - u.lastRecoveryFinished.sec)} ${ctime(u.lastRecoveryFinished.sec)}` +
    `Duration of last recovery/failover: ${delta(u.lastRecoveryFinished, u.lastRecoveryStarted).toFixed(6)} seconds\n`;
}

function delta(a: Timeval, b: Timeval): number {
  return (a.sec - b.sec) + (a.usec - b.usec) * 1.0e-6;
}
