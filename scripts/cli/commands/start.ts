import { Command, InvalidArgumentError } from 'commander';
import { resolve } from 'node:path';
import { formatTransportStatus } from './transport.ts';
import { formatClusterStatus } from '../cluster/format-status.ts';
import { StartInterruptedError, StartSession } from '../start/start-session.ts';

/**
 * `ctdb-bridge start` (`npm start`): a local 3-node cluster with a transportd
 * on every node, riding the legacy tunnel; prints the transport status and
 * stays up until Ctrl-C (or exits at once with --once). Everything it started
 * is stopped by PID on the way out.
 */

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

interface StartCommandOptions {
  real?: boolean;
  nodes: number;
  dir: string;
  once?: boolean;
}

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('start a local cluster (embedded daemons, or real ctdbd with --real) with a transportd and a clusterd per node on the tunnel uplink')
    .option('--real', 'run real Samba ctdbd daemons instead of the embedded daemon')
    .option('--nodes <n>', 'number of nodes', positiveInt, 3)
    .option('--dir <dir>', 'cluster directory (node.N/run/transportd.socket per node)', './.local-cluster')
    .option('--once', 'print the status and stop everything instead of waiting for Ctrl-C')
    .action(async (opts: StartCommandOptions) => {
      const dir = resolve(opts.dir);
      const say = (line: string): void => void process.stderr.write(`ctdb-bridge start: ${line}\n`);
      const session = new StartSession({ kind: opts.real ? 'real' : 'embedded', nodes: opts.nodes, dir, say });
      let stopRequested!: () => void;
      const stopped = new Promise<void>((r) => (stopRequested = r));
      let signals = 0;
      const onSignal = (): void => {
        signals++;
        if (signals === 1) {
          say('stopping (Ctrl-C again to kill everything at once)');
          session.interrupt();
          stopRequested();
        } else {
          void session.killNow().finally(() => process.exit(130));
        }
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        await session.bringUp();
        const statuses = await session.statuses();
        process.stdout.write(statuses.map(formatTransportStatus).join('\n\n') + '\n\n');
        const [cluster] = await session.clusterStatuses();
        process.stdout.write(formatClusterStatus(cluster));
        for (const c of session.children) {
          process.stdout.write(`  node ${c.pnn}: ctdb-bridge transport status --socket ${c.socketPath}\n`);
          process.stdout.write(`  node ${c.pnn}: ctdb-bridge cluster status --socket ${c.socketPath}\n`);
        }
        if (!opts.once) {
          say('running; press Ctrl-C to stop');
          await stopped;
        }
      } catch (err) {
        if (!(err instanceof StartInterruptedError)) throw err;
      } finally {
        await session.cleanup();
        say('everything stopped');
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
