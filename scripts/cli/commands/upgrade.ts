import { InvalidArgumentError, Option, type Command } from 'commander';
import { DEFAULT_TRANSPORT_SOCKET } from '../../../components/framework/services.ts';
import { observe } from '../upgrade/observe.ts';
import { plan, type Direction, type Plan } from '../upgrade/planner.ts';
import { parseStage, stageOf, type ClusterObservation, type Stage } from '../upgrade/stages.ts';
import { execute, EXIT } from '../upgrade/execute.ts';
import { UpgradeActions } from '../upgrade/actions.ts';
import { formatEvent, formatJsonEvent, formatPlan, formatStatus, type UpgradeEvent } from '../upgrade/format.ts';
import { hostBackend, localClusterBackend, type UpgradeBackend } from '../upgrade/backend.ts';

/**
 * `ctdb-bridge upgrade status|plan|advance|rollback`: the rolling upgrade
 * (DESIGN.md stages 0-4), read from the cluster itself, so it runs on any
 * node and a crashed run loses nothing. Exit codes: 0 done, 1 usage or
 * unreadable input, 2 refused by preflight, 3 failed and rolled back, 4 failed
 * and the undo failed too.
 */

interface CommonOptions {
  socket: string;
  ctdbSocket?: string;
  localCluster?: string;
  timeout: number;
  json?: boolean;
  transportdPollInterval?: number;
}

interface StepOptions extends CommonOptions {
  node?: number[];
  all?: boolean;
  to?: Stage;
  wait: number;
  rollback?: boolean;
}

function pnnList(value: string, previous: number[] = []): number[] {
  const out = [...previous];
  for (const part of value.split(',')) {
    const n = Number(part.trim());
    if (!Number.isInteger(n) || n < 0 || n > 0xefffffff) throw new InvalidArgumentError('expected node numbers (0, 1, ... or 0,2)');
    out.push(n);
  }
  return out;
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number > 0');
  return n;
}

function stageArg(value: string): Stage {
  try {
    return parseStage(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function common(cmd: Command): Command {
  return cmd
    .addOption(new Option('--socket <path>', 'this host\'s transportd socket (env CTDB_BRIDGE_TRANSPORT_SOCKET)').default(DEFAULT_TRANSPORT_SOCKET))
    .option('--ctdb-socket <path>', 'this host\'s ctdbd socket (default: as ctdb finds it)')
    .option('--local-cluster <dir>', 'act on a local cluster (ctdb-bridge local-cluster up): its supervisor starts and stops the services')
    .option('--transportd-poll-interval <ms>', 'local cluster: how often a started tunnel transportd reads ctdbd\'s node map', positive)
    .option('-t, --timeout <ms>', 'request timeout', positive, 3000)
    .option('--json', 'JSON (status, plan) or one JSON event per line (advance, rollback)');
}

function scoped(cmd: Command): Command {
  return common(cmd)
    .option('-n, --node <pnn>', 'the node(s) to move (repeat or comma-separate)', pnnList)
    .option('--all', 'every node (stages 3 and 4 switch every node at once: nodes left out must stay legacy)')
    .option('--to <stage>', 'target stage, 0-4 or legacy|bridge|shadow|handover|native (default: one stage on / back)', stageArg)
    .option('--wait <ms>', 'how long each step waits for the cluster to show it', positive, 60_000);
}

async function backendFor(opts: CommonOptions & { node?: number[] }): Promise<UpgradeBackend> {
  return opts.localCluster
    ? localClusterBackend({ dir: opts.localCluster, via: opts.node?.[0], transportdPollMs: opts.transportdPollInterval })
    : hostBackend({ socket: opts.socket, ctdbSocket: opts.ctdbSocket, timeoutMs: opts.timeout });
}

const observeWith = (b: UpgradeBackend, opts: CommonOptions) => () => observe({ ...b.observe, timeoutMs: opts.timeout });

class UsageError extends Error {
  override name = 'UsageError';
}

function scopeOf(opts: StepOptions, required: boolean): number[] | 'all' {
  if (opts.all && opts.node) throw new UsageError('give --node or --all, not both');
  if (opts.all) return 'all';
  if (opts.node) return opts.node;
  if (required) throw new UsageError('give --node PNN or --all');
  return 'all';
}

function statusJson(obs: ClusterObservation, next: Plan | null) {
  return { ...obs, nodes: obs.nodes.map((n) => ({ ...n, ...stageOf(n) })), next };
}

async function runSteps(direction: Direction, opts: StepOptions): Promise<void> {
  const scope = scopeOf(opts, true);
  const backend = await backendFor(opts);
  const observeNow = observeWith(backend, opts);
  const p = plan(await observeNow(), { direction, target: opts.to, nodes: scope });
  const emit = (e: UpgradeEvent) => {
    if (opts.json) process.stdout.write(`${formatJsonEvent(e)}\n`);
    else {
      if (e.event === 'plan') process.stderr.write(formatPlan(p));
      const line = formatEvent(e);
      if (line !== null) process.stderr.write(`${line}\n`);
    }
  };
  const actions = new UpgradeActions({
    manager: backend.manager, observe: observeNow, transportSockets: backend.observe.transportSockets,
    uplinks: backend.uplinks, waitMs: opts.wait, timeoutMs: opts.timeout,
  });
  process.exitCode = await execute(p, actions, emit);
}

export function registerUpgrade(program: Command): void {
  const upgrade = program.command('upgrade').description('rolling upgrade from ctdbd alone (stage 0) to native (stage 4), and back');

  common(upgrade.command('status').description('per node: stage, services, versions, uplink; shadow differences; what blocks the next step'))
    .action(async (opts: CommonOptions) => {
      const backend = await backendFor(opts);
      const obs = await observeWith(backend, opts)();
      const lowest = Math.min(...obs.nodes.map((n) => stageOf(n).stage));
      const next = lowest >= 4 ? null : plan(obs, { direction: 'advance', target: (lowest + 1) as Stage, nodes: 'all' });
      process.stdout.write(opts.json ? `${JSON.stringify(statusJson(obs, next), null, 2)}\n` : formatStatus(obs, next));
    });

  scoped(upgrade.command('plan').description('the ordered steps advance (or --rollback) would take, with their preflight checks; acts on nothing'))
    .option('--rollback', 'plan a rollback instead of an advance')
    .action(async (opts: StepOptions) => {
      const backend = await backendFor(opts);
      const p = plan(await observeWith(backend, opts)(), { direction: opts.rollback ? 'rollback' : 'advance', target: opts.to, nodes: scopeOf(opts, false) });
      process.stdout.write(opts.json ? `${JSON.stringify(p, null, 2)}\n` : formatPlan(p));
      if (!p.ok) process.exitCode = EXIT.refused;
    });

  scoped(upgrade.command('advance').description('move node(s) up to --to (default: one stage on); preflight first, undone on failure'))
    .action((opts: StepOptions) => runSteps('advance', opts));

  scoped(upgrade.command('rollback').description('move node(s) back to --to (default: one stage back); preflight first, undone on failure'))
    .action((opts: StepOptions) => runSteps('rollback', opts));
}
