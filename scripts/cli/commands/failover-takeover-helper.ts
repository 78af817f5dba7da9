import { writeSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import type { Command } from 'commander';
import { failoverCommand } from './failover-group.ts';
import { LegacyClient, LegacyConnectError } from '../../../legacy/client/index.ts';
import { createLogger, type Logger } from '../../../legacy/common/log.ts';
import { takeoverRun } from '../../../components/failoverd/takeover-run/takeover-run.ts';
import { Errno, TakeoverRunDisconnectedError } from '../../../components/failoverd/takeover-run/errors.ts';

/**
 * `ctdb-bridge failover takeover-helper <write-fd> <socket> [force-rebalance-nodes]`:
 * a drop-in for /usr/libexec/ctdb/ctdb_takeover_helper. Same arguments, same
 * controls to ctdbd, the int32 status written to <write-fd> and returned as
 * exit code (low byte); CTDB_DISABLE_IP_FAILOVER honoured. As the helper,
 * it exits 1 without a status when ctdbd goes away mid-run.
 */

export interface TakeoverHelperArgs {
  writeFd: number;
  socketPath: string;
  forceRebalanceNodes?: number[];
  env?: NodeJS.ProcessEnv;
  log?: Logger;
}

/** "1,0,2" -> [1, 0, 2]; undefined for anything else. */
export function parseNodeList(text: string): number[] | undefined {
  const parts = text.split(',');
  if (!parts.every((p) => /^\d+$/.test(p))) return undefined;
  return parts.map(Number);
}

/** ctdb's CTDB_DEBUGLEVEL names as pino levels (when CTDB_BRIDGE_LOG_LEVEL does not say). */
function levelFrom(env: NodeJS.ProcessEnv): 'error' | 'warn' | 'info' | 'debug' | undefined {
  if (env.CTDB_BRIDGE_LOG_LEVEL) return undefined;
  switch (env.CTDB_DEBUGLEVEL?.toUpperCase()) {
    case 'ERROR': case 'ERR': case '0': return 'error';
    case 'WARNING': case '1': return 'warn';
    case 'NOTICE': case '2': case 'INFO': case '3': return 'info';
    case 'DEBUG': case '4': return 'debug';
    default: return undefined;
  }
}

function writeStatus(fd: number, status: number, log: Logger): void {
  const b = Buffer.alloc(4);
  b.writeInt32LE(status);
  try {
    writeSync(fd, b);
  } catch (err) {
    // The helper ignores a failed status write too; the exit code still carries it.
    log.error({ fd, err: (err as Error).message }, 'cannot write the status');
  }
}

/**
 * One takeover run as the helper does it, without the fd: the status the
 * helper would write, or null when it would exit 1 without one (ctdbd went
 * away mid-run).
 */
export async function takeoverHelperStatus(args: Omit<TakeoverHelperArgs, 'writeFd'>): Promise<number | null> {
  const env = args.env ?? process.env;
  const log = args.log ?? createLogger({ component: 'takeover-helper', level: levelFrom(env) });
  const client = new LegacyClient({ socketPath: args.socketPath, logger: log, reconnect: false, trackLeader: false });
  try {
    await client.connect();
  } catch (err) {
    log.error({ socket: args.socketPath, err: (err as Error).message }, 'cannot connect to ctdbd');
    const errno = err instanceof LegacyConnectError ? err.errno : undefined;
    return (errno && (osConstants.errno as Record<string, number>)[errno]) || Errno.EIO;
  }
  try {
    const result = await takeoverRun({
      client, log, forceRebalanceNodes: args.forceRebalanceNodes, failoverDisabled: env.CTDB_DISABLE_IP_FAILOVER !== undefined,
    });
    return result.status;
  } catch (err) {
    if (!(err instanceof TakeoverRunDisconnectedError)) throw err;
    log.error({ err: err.message }, 'connection to ctdbd closed, exiting');
    return null;
  } finally {
    await client.close();
  }
}

/** Runs one takeover run, writes the status to the fd; returns the process exit code. */
export async function runTakeoverHelper(args: TakeoverHelperArgs): Promise<number> {
  const log = args.log ?? createLogger({ component: 'takeover-helper', level: levelFrom(args.env ?? process.env) });
  const status = await takeoverHelperStatus({ ...args, log });
  if (status === null) return 1;
  writeStatus(args.writeFd, status, log);
  return status & 0xff;
}

/** Adds `takeover-helper` under `failover` (creating `failover` when no other module has). */
export function registerFailoverTakeoverHelper(program: Command): void {
  const failover = failoverCommand(program);
  failover
    .command('takeover-helper')
    .description('one takeover run through ctdbd, as /usr/libexec/ctdb/ctdb_takeover_helper (drop-in)')
    .argument('<write-fd>', 'file descriptor the int32 status is written to')
    .argument('<socket>', 'ctdbd unix socket')
    .argument('[force-rebalance-nodes]', 'comma-separated PNNs to rebalance addresses to (LCP2)')
    .action(async (fd: string, socketPath: string, nodes: string | undefined) => {
      const writeFd = Number(fd);
      const forceRebalanceNodes = nodes === undefined ? undefined : parseNodeList(nodes);
      if (!Number.isInteger(writeFd) || writeFd < 0 || (nodes !== undefined && !forceRebalanceNodes)) {
        process.stderr.write('usage: ctdb-bridge failover takeover-helper <write-fd> <socket> [<force-rebalance-nodes>]\n');
        process.exitCode = 1;
        return;
      }
      process.exitCode = await runTakeoverHelper({ writeFd, socketPath, forceRebalanceNodes });
    });
}
