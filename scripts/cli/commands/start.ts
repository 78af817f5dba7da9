import { Command, InvalidArgumentError } from 'commander';
import { relative, resolve } from 'node:path';
import { StartInterruptedError, StartSession } from '../start/start-session.ts';
import { parseStage, type Stage } from '../upgrade/stages.ts';

/**
 * `ctdb-bridge start` (`npm start`): a local 3-node cluster brought straight
 * to one stage of the rolling upgrade (default 4: embedded daemon, transportd
 * on the ws uplink, clusterd, failoverd doing failover), prints `upgrade
 * status` and how to move it by hand, and stays up until Ctrl-C (or exits at
 * once with --once). Everything it started is stopped by PID on the way out.
 */

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function stageArg(value: string): Stage {
  try {
    return parseStage(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

interface StartCommandOptions {
  real?: boolean;
  nodes: number;
  dir: string;
  stage: Stage;
  once?: boolean;
}

/** The walk-through lines under the status: the same cluster, moved by hand. */
function tryLines(dir: string, stage: Stage, real: boolean): string {
  const inside = relative(process.cwd(), dir);
  const at = inside === '' ? '.' : inside.startsWith('..') ? dir : inside;
  const cli = 'node scripts/bin/ctdb-bridge.cjs';
  const lines = [
    `try, while it runs (another terminal):`,
    `  ${cli} upgrade status --local-cluster ${at}`,
    stage < 4 ? `  ${cli} upgrade advance --node 0 --local-cluster ${at}      # one node, one stage on (3 and 4: --all)` : null,
    stage > 0 ? `  ${cli} upgrade rollback --all --to 0 --local-cluster ${at}  # back to ctdbd alone` : null,
    `  CTDB_TEST_MODE=yes CTDB_BASE=${at}/node.0 ctdb status${real ? '' : '                 # Debian\'s ctdb on the embedded daemon'}`,
    stage >= 2 ? `  ${cli} cluster status --socket ${at}/node.0/run/transportd.socket` : null,
  ];
  return `${lines.filter((l) => l !== null).join('\n')}\n`;
}

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('start a local cluster (embedded daemons, or real ctdbd with --real) in a stage of the rolling upgrade (default 4: transportd, clusterd, failoverd on every node)')
    .option('--real', 'run real Samba ctdbd daemons instead of the embedded daemon')
    .option('--stage <stage>', 'the stage every node starts in: 0-4 or legacy|bridge|shadow|handover|native', stageArg, 4 as Stage)
    .option('--nodes <n>', 'number of nodes', positiveInt, 3)
    .option('--dir <dir>', 'cluster directory (node.N/run/transportd.socket per node)', './.local-cluster')
    .option('--once', 'print the status and stop everything instead of waiting for Ctrl-C')
    .action(async (opts: StartCommandOptions) => {
      const dir = resolve(opts.dir);
      const say = (line: string): void => void process.stderr.write(`ctdb-bridge start: ${line}\n`);
      const session = new StartSession({ kind: opts.real ? 'real' : 'embedded', nodes: opts.nodes, dir, stage: opts.stage, say });
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
        process.stdout.write(await session.upgradeStatus());
        process.stdout.write(`\n${tryLines(dir, opts.stage, opts.real === true)}`);
        if (!opts.once) {
          say('running; press Ctrl-C to stop');
          // The services are detached (they outlive an upgrade CLI): nothing else keeps this process waiting.
          const keepAlive = setInterval(() => undefined, 60_000);
          await stopped;
          clearInterval(keepAlive);
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
