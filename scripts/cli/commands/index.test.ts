import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerCommands } from './index.ts';

/** Which subcommands a command line registers (a daemon loads only its own). */
async function registered(args: string[]): Promise<string[]> {
  const program = new Command();
  await registerCommands(program, args);
  return program.commands.map((c) => c.name()).sort();
}

describe('command registration', () => {
  it('a command line naming a subcommand loads only that one', async () => {
    expect(await registered(['node', '--config', '/etc/ctdb'])).toEqual(['node']);
    expect(await registered(['transportd', '--uplink', 'tunnel'])).toEqual(['transport', 'transportd']);
  });

  it('help, no subcommand or an unknown one: every subcommand is there', async () => {
    const all = await registered([]);
    expect(all).toEqual(expect.arrayContaining(['capture', 'decode', 'legacy', 'local-cluster', 'node', 'start', 'transport', 'transportd']));
    expect(await registered(['--help'])).toEqual(all);
    expect(await registered(['nodee'])).toEqual(all);
  });
});
