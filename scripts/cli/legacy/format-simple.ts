import { Capability } from '../../../legacy/protocol/constants.ts';
import { runStateNames } from '../../../legacy/protocol/constants.ts';

/** Formatters of the one-line `ctdb` commands. */

/** `ctdb ping`: elapsed seconds of the PING round trip, client count from its status. */
export function formatPing(pnn: number, elapsedSeconds: number, clients: number): string {
  return `response from ${pnn} time=${elapsedSeconds.toFixed(6)} sec  (${clients} clients)\n`;
}

export function formatCapabilities(caps: number): string {
  return `LEADER: ${caps & Capability.RECMASTER ? 'YES' : 'NO'}\n` +
    `LMASTER: ${caps & Capability.LMASTER ? 'YES' : 'NO'}\n`;
}

/** ctdb_runstate_to_string: unknown values print as UNKNOWN. */
export function runstateName(runstate: number): string {
  return runStateNames[runstate] ?? 'UNKNOWN';
}

/** ctdb_runstate_from_string (case-insensitive); 0 (UNKNOWN) when not a run state name. */
export function runstateFromName(name: string): number {
  const upper = name.toUpperCase();
  for (const [code, label] of Object.entries(runStateNames)) if (label === upper) return Number(code);
  return 0;
}

/**
 * `ctdb runstate [state...]`: prints the state; with arguments, succeeds only
 * if the node is in one of them. Returns stdout and the exit status.
 */
export function formatRunstate(runstate: number, wanted: string[]): { stdout: string; exitCode: number } {
  let found = true;
  for (const w of wanted) {
    found = false;
    const t = runstateFromName(w);
    if (t === 0) return { stdout: `Invalid run state (${w})\n`, exitCode: 1 };
    if (t === runstate) { found = true; break; }
  }
  if (!found) return { stdout: `CTDB not in required run state (got ${runstateName(runstate)})\n`, exitCode: 1 };
  return { stdout: `${runstateName(runstate)}\n`, exitCode: 0 };
}

/** `ctdb getpid` prints the pid with %u. */
export function formatGetpid(pid: number): string {
  return `${pid >>> 0}\n`;
}

/** `ctdb process-exists PID [SRVID]`; exit status is the control's status (0 = exists). */
export function formatProcessExists(pid: number, srvid: bigint, status: number): string {
  const what = status === 0 ? 'exists' : 'does not exist';
  return srvid === 0n ? `PID ${pid} ${what}\n` : `PID ${pid} with SRVID 0x${srvid.toString(16)} ${what}\n`;
}

/** `ctdb listnodes`: one address per non-deleted entry. */
export function formatListnodes(addresses: Array<{ address: string; deleted: boolean }>): string {
  return addresses.filter((a) => !a.deleted).map((a) => `${a.address}\n`).join('');
}

/** debug_level_to_string of ctdb's logging (levels between names map to the lower name). */
export function debugLevelName(level: number): string {
  const names: Record<number, string> = {
    0: 'ERROR', 1: 'WARNING', 2: 'WARNING', 3: 'NOTICE', 4: 'NOTICE', 5: 'INFO', 6: 'INFO', 7: 'INFO', 8: 'INFO',
    9: 'INFO', 10: 'DEBUG',
  };
  return names[level] ?? 'UNKNOWN';
}
