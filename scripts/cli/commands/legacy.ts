import type { Command } from 'commander';
import { runLegacyCommand } from '../legacy/run.ts';
import { legacyCommands } from '../legacy/commands.ts';

/**
 * `ctdb-bridge legacy <command> [args...]`: the `ctdb` commands we
 * reimplement over the legacy client, with output identical to Debian's
 * ctdb 4.17, plus --json for the decoded wire data.
 */
export function registerLegacy(program: Command): void {
  const names = legacyCommands.map((c) => c.name).join(', ');
  program
    .command('legacy')
    .description(`ctdb-compatible commands against a ctdbd socket (${names})`)
    .argument('<command>', 'ctdb command')
    .argument('[args...]', 'command arguments')
    .option('--socket <path>', 'ctdbd socket (default: $CTDB_SOCKET, test mode $CTDB_BASE/run/ctdbd.socket, /run/ctdb/ctdbd.socket)')
    .option('-n, --node <pnn>', 'node to ask (one PNN, like ctdb -n)')
    .option('-t, --timelimit <seconds>', 'time limit per control in seconds', (v) => Number(v), 10)
    .option('-v, --verbose', 'verbose output (ip)')
    .option('--json', 'print the decoded wire data as JSON')
    .action(async (command: string, args: string[], opts: {
      socket?: string; node?: string; timelimit: number; verbose?: boolean; json?: boolean;
    }) => {
      const code = await runLegacyCommand({
        command, args, socket: opts.socket, node: opts.node, timelimit: opts.timelimit,
        verbose: opts.verbose, json: opts.json,
      });
      process.exitCode = code & 0xff;
    });
}
