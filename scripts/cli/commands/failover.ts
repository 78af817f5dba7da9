import { InvalidArgumentError, Option, type Command } from 'commander';
import { failoverCommand } from './failover-group.ts';
import { TransportClient } from '../../../transport/index.ts';
import { LOCAL_NODE } from '../../../transport/endpoint.ts';
import { DEFAULT_TRANSPORT_SOCKET, FAILOVERD_SERVICE } from '../../../components/framework/services.ts';
import { FAILOVERD_MESSAGES } from '../../../components/failoverd/messages.ts';
import { BUILTIN_COMPONENT_MESSAGES } from '../../../components/framework/builtin-messages.ts';
import { createRegistry } from '../../../transport/schemas.ts';
import type { FailoverStatus } from '../../../components/failoverd/status.ts';
import { clusterStatus, decidingStatus, drainNode, switchMode, type StepOptions, type StepResult } from '../failover/operations.ts';
import { formatFailoverStatus, formatStepResult } from '../failover/format-status.ts';

/**
 * `ctdb-bridge failover status|handover|handback|drain|undrain`: the
 * operator's view of failoverd and its cluster-wide steps, through the
 * local transportd. Other `failover` subcommands (allocate, takeover-helper)
 * add themselves to the same command.
 */

function pnnArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 0xefffffff) throw new InvalidArgumentError('expected a node number (0, 1, ...)');
  return n;
}

function msArg(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected milliseconds > 0');
  return n;
}

interface CommonOptions {
  socket: string;
  timeout: number;
  json?: boolean;
}

interface StepCommandOptions extends CommonOptions {
  wait: number;
}

function common(cmd: Command): Command {
  return cmd
    .addOption(new Option('--socket <path>', 'transportd unix socket (env CTDB_BRIDGE_TRANSPORT_SOCKET)').default(DEFAULT_TRANSPORT_SOCKET))
    .option('-t, --timeout <ms>', 'request timeout', msArg, 5000)
    .option('--json', 'print the result as JSON');
}

function step(cmd: Command): Command {
  return common(cmd).option('--wait <ms>', 'how long to wait for the cluster to show the step', msArg, 60_000);
}

/** The failover command, created once: later registrations (allocate, takeover-helper) reuse it. */
async function withClient<T>(opts: CommonOptions, fn: (c: TransportClient) => Promise<T>): Promise<T> {
  const c = new TransportClient({
    socketPath: opts.socket, name: 'ctdb-bridge-failover-cli', defaultTimeoutMs: opts.timeout,
    registry: createRegistry([...BUILTIN_COMPONENT_MESSAGES, ...FAILOVERD_MESSAGES]),
  });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

function stepOptions(opts: StepCommandOptions): StepOptions {
  return { timeoutMs: opts.wait, progress: opts.json ? undefined : (line) => process.stderr.write(`${line}\n`) };
}

function printStep(opts: CommonOptions, what: string, r: StepResult): void {
  process.stdout.write(opts.json ? `${JSON.stringify({ step: what, moved: r.moved, status: r.status })}\n` : formatStepResult(what, r));
}

export function registerFailover(program: Command): void {
  const failover = failoverCommand(program);

  common(failover.command('status').description('every public address, its host, the deciding failoverd\'s plan, mode, differences'))
    .option('-n, --node <pnn>', 'ask this node\'s failoverd (default: the one that decides)', pnnArg)
    .action(async (opts: CommonOptions & { node?: number }) => {
      const s = await withClient(opts, (c) => opts.node === undefined
        ? decidingStatus(c)
        : c.request<FailoverStatus>({ node: opts.node, service: FAILOVERD_SERVICE }, 'failoverd.status', {}));
      process.stdout.write(opts.json ? `${JSON.stringify(s, null, 2)}\n` : formatFailoverStatus(s));
    });

  step(failover.command('handover').description('failoverd takes public IP failover over from ctdbd on every node (no address moves)'))
    .action(async (opts: StepCommandOptions) => {
      printStep(opts, 'handover', await withClient(opts, (c) => switchMode(c, 'active', stepOptions(opts))));
    });

  step(failover.command('handback').description('ctdbd does public IP failover again; failoverd goes back to shadowing it'))
    .action(async (opts: StepCommandOptions) => {
      printStep(opts, 'handback', await withClient(opts, (c) => switchMode(c, 'shadow', stepOptions(opts))));
    });

  for (const drained of [true, false]) {
    const name = drained ? 'drain' : 'undrain';
    step(failover.command(name).description(drained
      ? 'move a node\'s public addresses to other nodes and keep them away (before a graceful stop)'
      : 'let a drained node host public addresses again'))
      .option('-n, --node <pnn>', 'the node (default: this node)', pnnArg)
      .action(async (opts: StepCommandOptions & { node?: number }) => {
        const r = await withClient(opts, async (c) => {
          const pnn = opts.node ?? (await clusterStatus(c, LOCAL_NODE)).node;
          return drainNode(c, pnn, drained, stepOptions(opts));
        });
        printStep(opts, name, r);
      });
  }
}
