import type { Command } from 'commander';

/**
 * The `failover` command group, created by whichever of its modules
 * (failover, failover-allocate, failover-takeover-helper) registers first;
 * kept apart so none of them loads another's dependencies.
 */
export function failoverCommand(program: Command): Command {
  return program.commands.find((c) => c.name() === 'failover')
    ?? program.command('failover').description('public IP failover: failoverd\'s view, handover from ctdbd and back, drain, allocation, takeover helper');
}
