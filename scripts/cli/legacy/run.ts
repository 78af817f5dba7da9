import { LegacyClient, resolveSocketPath } from '../../../legacy/client/index.ts';
import { NodeFlag } from '../../../legacy/protocol/constants.ts';
import { deferredLogger, type Logger } from '../../../legacy/common/log.ts';
import { describeFailure, exitCodeFor, UsageError, type LegacyContext, type LegacyContextNoDaemon } from './context.ts';
import { findLegacyCommand, getUsableNodeMap, legacyCommands } from './commands.ts';
import { prettyFlags } from './format-nodes.ts';

export interface LegacyRunOptions {
  command: string;
  args: string[];
  /** --socket; otherwise CTDB_SOCKET / test mode / default, like ctdb. */
  socket?: string;
  /** -n PNN as typed (ctdb takes one integer). */
  node?: string;
  json?: boolean;
  /** -t seconds per control (ctdb default 10). */
  timelimit?: number;
  verbose?: boolean;
  env?: Record<string, string | undefined>;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  logger?: Logger;
}

/**
 * Run one `ctdb`-compatible command; resolves with the exit status ctdb
 * would return. Never throws for daemon or input problems: they become a
 * stderr line and an exit status.
 */
export async function runLegacyCommand(o: LegacyRunOptions): Promise<number> {
  const out = o.stdout ?? ((t: string) => { process.stdout.write(t); });
  const err = o.stderr ?? ((t: string) => { process.stderr.write(t); });
  const env = o.env ?? process.env;
  const cmd = findLegacyCommand(o.command);
  if (!cmd) {
    err(`Unknown command '${o.command}'\n`);
    return 1;
  }
  let node: number | undefined;
  if (o.node !== undefined) {
    if (!/^[+-]?\d+$/.test(o.node.trim())) {
      err(`Invalid option --node: bad numeric value ${o.node}\n`);
      return 1;
    }
    const n = Number(o.node);
    if (n !== -1) node = n; // -1 is ctdb's "not given"
  }
  const base: LegacyContextNoDaemon = {
    timeoutMs: Math.max(1, (o.timelimit ?? 10) * 1000),
    json: o.json ?? false,
    verbose: o.verbose ?? false,
    env,
    out,
    err,
  };
  try {
    if (cmd.withoutDaemon) {
      if (node !== undefined) {
        err(`Cannot specify node for command ${cmd.name}\n`);
        return 1;
      }
      return await cmd.runWithoutDaemon!(base, o.args);
    }
  } catch (e) {
    return failed(e, cmd.name, out, err);
  }

  const socketPath = resolveSocketPath(o.socket, env);
  const logger = o.logger ?? deferredLogger({ component: 'ctdb-bridge-legacy' });
  const client = new LegacyClient({
    socketPath, logger, defaultTimeoutMs: base.timeoutMs, reconnect: false, trackLeader: true,
  });
  try {
    await client.connect();
  } catch (e) {
    err(`Failed to connect to CTDB daemon (${socketPath})\n`);
    logger.debug({ err: e }, 'connect failed');
    return 1;
  }
  try {
    const ctx: LegacyContext = { ...base, client, pnn: client.pnn, cmdPnn: client.pnn };
    if (node !== undefined) {
      if (!(await verifyNode(ctx, node))) return 1;
      ctx.cmdPnn = node;
    }
    if (!cmd.remote && ctx.cmdPnn !== ctx.pnn) {
      err(`Node cannot be specified for command ${cmd.name}\n`);
      return 1;
    }
    return await cmd.run(ctx, o.args);
  } catch (e) {
    return failed(e, cmd.name, out, err);
  } finally {
    await client.close();
  }
}

/** ctdb's verify_pnn: the node must exist and be neither disconnected nor deleted. */
async function verifyNode(ctx: LegacyContext, pnn: number): Promise<boolean> {
  if (pnn < 0) return false;
  const map = await getUsableNodeMap(ctx);
  const node = map.nodes.find((n) => n.pnn === pnn);
  if (!node) {
    ctx.err(`Node ${pnn} does not exist\n`);
    return false;
  }
  if (node.flags & (NodeFlag.DISCONNECTED | NodeFlag.DELETED)) {
    ctx.err(`Node ${pnn} has status ${prettyFlags(node.flags)}\n`);
    return false;
  }
  return true;
}

function failed(e: unknown, name: string, out: (t: string) => void, err: (t: string) => void): number {
  if (e instanceof UsageError) {
    out(usageLine(name));
    return 1;
  }
  err(describeFailure(e));
  return exitCodeFor(e);
}

/** The usage text ctdb prints for a command (its "Commands:" line format). */
export function usageLine(name: string): string {
  const cmd = legacyCommands.find((c) => c.name === name);
  const line = cmd ? `  ${cmd.name.padEnd(15)} ${(cmd.args ?? '').padEnd(27)}  ${cmd.description}\n` : '';
  return `Usage: ctdb-bridge legacy [OPTION...] <command> [<args>...]\n\nCommands:\n${line}`;
}
