import type { Command } from 'commander';

type Register = (program: Command) => void;

/**
 * Each entry adds subcommands (each with its own --help) to the program. The
 * modules are loaded on demand: a command line naming one of them loads only
 * that one, so a long-running daemon (`node`, `transportd`) does not keep
 * every other command's modules resident (~15 MB for `node`).
 */
const registrations: Array<{ names: string[]; load: () => Promise<Register> }> = [
  { names: ['local-cluster'], load: async () => (await import('./local-cluster.ts')).registerLocalCluster },
  { names: ['capture'], load: async () => (await import('./capture.ts')).registerCapture },
  { names: ['transport', 'transportd'], load: async () => (await import('./transport.ts')).registerTransport },
  { names: ['decode'], load: async () => (await import('./decode.ts')).registerDecode },
  { names: ['node'], load: async () => (await import('./node.ts')).registerNode },
  { names: ['legacy'], load: async () => (await import('./legacy.ts')).registerLegacy },
  { names: ['start'], load: async () => (await import('./start.ts')).registerStart },
  { names: ['cluster'], load: async () => (await import('./cluster.ts')).registerCluster },
  { names: ['upgrade'], load: async () => (await import('./upgrade.ts')).registerUpgrade },
  { names: ['service'], load: async () => (await import('./service.ts')).registerService },
  { names: ['clusterd', 'failoverd', 'components'], load: async () => (await import('./components.ts')).registerComponents },
  { names: ['failover'], load: async () => {
    const [{ registerFailover }, { registerFailoverTakeoverHelper }, { registerFailoverAllocate }] = await Promise.all([
      import('./failover.ts'), import('./failover-takeover-helper.ts'), import('./failover-allocate.ts')]);
    return (program) => {
      registerFailover(program); // creates `failover`; the others add subcommands to it
      registerFailoverTakeoverHelper(program);
      registerFailoverAllocate(program);
    };
  } },
];

/** `args`: the command line after the program name; without a known subcommand first (help, typos) every command is registered. */
export async function registerCommands(program: Command, args: readonly string[] = []): Promise<void> {
  const named = registrations.filter((r) => r.names.includes(args[0] ?? ''));
  for (const r of named.length > 0 ? named : registrations) (await r.load())(program);
}
