import { Command } from 'commander';
import { registerCommands } from './commands/index.ts';
import { pinTickObjectShape } from '../../legacy/common/tick-shape.ts';
import { PACKAGE_VERSION } from '../../legacy/common/package-info.ts';

// Before anything else can idle through a full GC (see tick-shape.ts): the
// daemons and transportd started from here keep nextTick on V8's fast path.
pinTickObjectShape();

// The ctdb-bridge command line. Every subcommand lives in its own module
// under commands/ and registers itself on the program.
// A reader that goes away (`decode ... | head`) is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const program = new Command();
program
  .name('ctdb-bridge')
  .description('Compatibility bridge for clustered Samba: legacy CTDB protocol, tunnel and transport')
  .version(PACKAGE_VERSION)
  .showHelpAfterError();

await registerCommands(program, process.argv.slice(2));

await program.parseAsync(process.argv).catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`ctdb-bridge: ${message}\n`);
  process.exitCode = 1;
});
