import { Command, InvalidArgumentError, Option } from 'commander';
import { accessSync, constants } from 'node:fs';
import { resolve } from 'node:path';
import {
  createLocalCluster, openLocalCluster, type LocalClusterKind, type LocalClusterStatus,
} from '../../local-cluster/index.ts';
import { createNetnsLocalCluster, sweepStaleNetns } from '../../local-cluster/netns/index.ts';

/** `ctdb-bridge local-cluster up|down|status|...`: N local ctdbd nodes on 127.0.S.x. */

const DEFAULT_DIR = './.local-cluster';

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function pnnArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a node number (0, 1, ...)');
  return n;
}

function dirOption(): Option {
  return new Option('--dir <dir>', 'cluster directory (holds cluster.json and node.N)').default(DEFAULT_DIR);
}

export function formatStatusTable(status: LocalClusterStatus): string {
  const rows = [['PNN', 'ADDRESS', 'PID', 'SOCKET', 'STATE', 'FLAGS']];
  for (const n of status.nodes) {
    const state = n.ok ? 'OK' : n.running ? 'NOT-OK' : 'STOPPED';
    rows.push([String(n.pnn), n.address, n.pid === null ? '-' : String(n.pid), n.socketPresent ? 'yes' : 'no', state,
      n.flags === null ? '?' : n.flags.length === 0 ? '-' : n.flags.join('|')]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd());
  return [`${status.kind} cluster in ${status.dir}: ${status.allOk ? 'all nodes OK' : 'NOT all nodes OK'}`, ...lines].join('\n');
}

export function registerLocalCluster(program: Command): void {
  const group = program
    .command('local-cluster')
    .description('start, stop and inspect a local test cluster (real Samba ctdbd in test mode on 127.0.S.x, or with --netns one network namespace per node)');

  group
    .command('up')
    .description('create the node directories, start every node and wait until all report OK')
    .option('--nodes <n>', 'number of nodes', positiveInt, 3)
    .addOption(dirOption())
    .addOption(new Option('--real', 'run real Samba ctdbd daemons (default when ctdbd is installed)').conflicts('embedded'))
    .addOption(new Option('--embedded', 'run the embedded TypeScript daemon (default when ctdbd is not installed)'))
    .option('--base-address <address>', 'first node address, e.g. 127.0.7.1 (default: first free 127.0.S.1, S in 100..250)')
    .option('--timeout <ms>', 'how long to wait for all nodes OK', positiveInt, 60_000)
    .option('--ctdbd <path>', 'ctdbd binary', '/usr/sbin/ctdbd')
    .option('--ctdb <path>', 'ctdb CLI binary', '/usr/bin/ctdb')
    .option('--json', 'print the resulting status as JSON')
    .addOption(new Option('--netns', 'one network namespace per node on a bridge (root); real ctdbd runs outside test mode '
      + 'with public IP failover (10.interface)').conflicts('baseAddress'))
    .option('--public-addresses <n>', 'with --netns: public addresses on 10.x.1.0/24 (default 2 per node)', positiveInt)
    .action(async (opts: {
      nodes: number; dir: string; embedded?: boolean; real?: boolean; baseAddress?: string; timeout: number;
      ctdbd: string; ctdb: string; json?: boolean; netns?: boolean; publicAddresses?: number;
    }) => {
      const kind: LocalClusterKind = opts.embedded ? 'embedded'
        : opts.real || isExecutable(opts.ctdbd) ? 'real' : 'embedded';
      const common = {
        kind, dir: resolve(opts.dir), nodes: opts.nodes, ctdbdPath: opts.ctdbd, ctdbPath: opts.ctdb, timeouts: { upMs: opts.timeout },
      };
      const netns = opts.netns ? createNetnsLocalCluster({ ...common, netns: { publicAddresses: opts.publicAddresses } }) : null;
      const cluster = netns ?? createLocalCluster({ ...common, baseAddress: opts.baseAddress });
      const started = Date.now();
      await cluster.up();
      const status = await cluster.status();
      const topology = netns?.netns.topology;
      if (opts.json) process.stdout.write(JSON.stringify({ ...status, upMs: Date.now() - started, netns: topology }, null, 2) + '\n');
      else {
        const extra = topology
          ? `namespaces: ${[topology.clientNamespace, ...topology.nodeNamespaces].join(' ')}\n`
            + `public addresses: ${topology.publicAddresses.join(' ')} (responder port ${topology.responderPort})\n`
          : '';
        process.stdout.write(`${formatStatusTable(status)}\n${extra}all nodes OK after ${Date.now() - started} ms\n`);
      }
    });

  group
    .command('cleanup')
    .description('remove the network namespaces (and their processes) of --netns clusters whose owner process is gone')
    .option('--all', 'also remove clusters started without an owner (CLI "up --netns"); running ones are killed')
    .action(async (opts: { all?: boolean }) => {
      const result = await sweepStaleNetns({ includeOwnerless: opts.all });
      process.stdout.write(`removed ${result.removed.length} netns cluster(s)${result.removed.length ? `: ${result.removed.join(', ')}` : ''}\n`);
      if (result.failed.length > 0) {
        process.stderr.write(`could not delete namespaces ${result.failed.join(', ')}\n`);
        process.exitCode = 1;
      }
    });

  group
    .command('down')
    .description('stop every node (ctdb shutdown, SIGKILL after a timeout) and wait until no process remains')
    .addOption(dirOption())
    .action(async (opts: { dir: string }) => {
      const cluster = await openLocalCluster(resolve(opts.dir));
      await cluster.down();
      process.stdout.write(`cluster in ${cluster.dir} stopped\n`);
    });

  group
    .command('status')
    .description('show every node: address, PID, socket, flags as a running node sees them (exit 1 unless all OK)')
    .addOption(dirOption())
    .option('--json', 'print JSON instead of a table')
    .action(async (opts: { dir: string; json?: boolean }) => {
      const cluster = await openLocalCluster(resolve(opts.dir));
      const status = await cluster.status();
      process.stdout.write(opts.json ? JSON.stringify(status, null, 2) + '\n' : formatStatusTable(status) + '\n');
      if (!status.allOk) process.exitCode = 1;
    });

  const nodeActions = {
    'start-node': ['start one stopped node and wait until the cluster sees it OK', 'startNode'],
    'stop-node': ['stop one node in an orderly way (ctdb shutdown)', 'stopNode'],
    'kill-node': ['crash one node: SIGKILL its daemon and helper processes', 'killNode'],
    'restart-node': ['kill one node, start it again and wait until it is OK', 'restartNode'],
  } as const;
  for (const [name, [description, method]] of Object.entries(nodeActions)) {
    group
      .command(name)
      .description(description)
      .argument('<pnn>', 'node number', pnnArg)
      .addOption(dirOption())
      .action(async (pnn: number, opts: { dir: string }) => {
        const cluster = await openLocalCluster(resolve(opts.dir));
        await cluster[method](pnn);
        process.stdout.write(`node ${pnn}: ${name.replace('-node', '')} done\n`);
      });
  }
}
