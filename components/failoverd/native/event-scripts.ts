import { access, constants, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { eventArgs, type IpEvent } from '../../../legacy/daemon/ip-events.ts';
import { HostCommandError, type CommandRunner } from './commands.ts';

/**
 * The operator's legacy event scripts (CTDB_BASE/events/legacy), run for the
 * public IP events with ctdbd's arguments (`takeip IFACE ADDR BITS`, ...), as
 * ctdbd's event daemon runs them: every enabled (executable) `NN.name.script`
 * in name order, stopping at the first failure. 10.interface is skipped: it
 * adds and removes the address itself, which native mode does already.
 */

const SCRIPT_NAME = /^\d\d\.[A-Za-z0-9_.-]+\.script$/;
/** Scripts whose job native mode does itself. */
export const SKIPPED_SCRIPTS = new Set(['10.interface.script']);

export async function enabledScripts(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const name of names.filter((n) => SCRIPT_NAME.test(n) && !SKIPPED_SCRIPTS.has(n)).sort()) {
    const path = join(dir, name);
    if (await access(path, constants.X_OK).then(() => true, () => false)) out.push(path);
  }
  return out;
}

export async function runEventScripts(run: CommandRunner, dir: string, base: string, e: IpEvent, timeoutMs: number): Promise<void> {
  for (const script of await enabledScripts(dir)) {
    const args = eventArgs(e);
    const r = await run(script, args, { env: { ...process.env, CTDB_BASE: base }, timeoutMs });
    if (r.exitCode !== 0) throw new HostCommandError(`${script} ${args.join(' ')}`, r);
  }
}
