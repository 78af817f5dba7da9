import type { LegacyRunOptions } from './run.ts';

/**
 * The lean start of a one-shot `ctdb-bridge legacy <command>` (and
 * `--version`): the same work as the commander CLI (commands/legacy.ts,
 * main.ts) without loading commander, pino, ajv, binary-parser or the codec
 * index, so the command starts about as fast as node itself.
 *
 * It understands only the plain forms; for anything else (help, unknown or
 * combined options, a value that looks like an option, no command)
 * parseFastArgs returns undefined and the caller runs the full commander
 * CLI, so what the user sees never differs between the two paths.
 */

export type FastArgs =
  | { kind: 'version' }
  | { kind: 'legacy'; options: Pick<LegacyRunOptions, 'command' | 'args' | 'socket' | 'node' | 'timelimit' | 'verbose' | 'json'> };

/** commander's `-t` parser in commands/legacy.ts, and its default. */
const DEFAULT_TIMELIMIT = 10;

/** Options that take a value, by every spelling commands/legacy.ts gives them. */
const VALUE_OPTIONS: Record<string, 'socket' | 'node' | 'timelimit'> = {
  '--socket': 'socket', '-n': 'node', '--node': 'node', '-t': 'timelimit', '--timelimit': 'timelimit',
};
const FLAG_OPTIONS: Record<string, 'verbose' | 'json'> = { '-v': 'verbose', '--verbose': 'verbose', '--json': 'json' };

/** argv without node and the script; undefined = let commander handle it. */
export function parseFastArgs(argv: readonly string[]): FastArgs | undefined {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) return { kind: 'version' };
  if (argv[0] !== 'legacy') return undefined;
  const positional: string[] = [];
  let socket: string | undefined;
  let node: string | undefined;
  let timelimit = DEFAULT_TIMELIMIT;
  let verbose: boolean | undefined;
  let json: boolean | undefined;
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i];
    if (arg.length < 2 || !arg.startsWith('-')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const flag = FLAG_OPTIONS[name];
    if (flag && eq < 0) {
      if (flag === 'verbose') verbose = true;
      else json = true;
      continue;
    }
    const key = VALUE_OPTIONS[name];
    if (!key) return undefined; // --help, -h, -n1, -vn, --, -5, unknown: commander's call
    let value: string | undefined;
    if (eq > 0) value = arg.slice(eq + 1);
    else {
      value = argv[++i];
      // Missing, or a value commander would also take but that reads like an option: its call.
      if (value === undefined || value.startsWith('-')) return undefined;
    }
    if (key === 'socket') socket = value;
    else if (key === 'node') node = value;
    else timelimit = Number(value);
  }
  if (positional.length === 0) return undefined; // commander reports the missing <command>
  const [command, ...args] = positional;
  return { kind: 'legacy', options: { command, args, socket, node, timelimit, verbose, json } };
}

/**
 * Runs the command if the lean path understands it; false = not handled,
 * nothing written, the caller runs the commander CLI.
 */
export async function runFast(argv: readonly string[]): Promise<boolean> {
  const parsed = parseFastArgs(argv);
  if (!parsed) return false;
  // As main.ts: a reader that goes away (`... | head`) is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  if (parsed.kind === 'version') {
    const { PACKAGE_VERSION } = await import('../../../legacy/common/package-info.ts');
    process.stdout.write(`${PACKAGE_VERSION}\n`);
    return true;
  }
  try {
    const { runLegacyCommand } = await import('./run.ts');
    const code = await runLegacyCommand(parsed.options);
    process.exitCode = code & 0xff;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`ctdb-bridge: ${message}\n`);
    process.exitCode = 1;
  }
  return true;
}
