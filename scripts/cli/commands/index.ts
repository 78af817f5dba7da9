import type { Command } from 'commander';
import { registerLocalCluster } from './local-cluster.ts';
import { registerCapture } from './capture.ts';
import { registerTransport } from './transport.ts';
import { registerDecode } from './decode.ts';
import { registerNode } from './node.ts';
import { registerLegacy } from './legacy.ts';
import { registerStart } from './start.ts';

/** Each entry adds one subcommand (with its own --help) to the program. */
const registrations: Array<(program: Command) => void> = [registerLocalCluster, registerCapture, registerTransport, registerDecode, registerNode, registerLegacy, registerStart];

export function registerCommands(program: Command): void {
  for (const register of registrations) register(program);
}
