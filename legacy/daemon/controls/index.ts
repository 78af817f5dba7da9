import { registerDatabaseControls } from './databases.ts';
import { registerInfoControls } from './info.ts';
import { registerMessagingControls } from './messaging.ts';
import { registerNodeFlagControls } from './node-flags.ts';
import { registerPublicIpControls } from './public-ips.ts';
import { registerTunableControls } from './tunables.ts';
import type { ControlTable } from './types.ts';

/** opcode -> handler for every control the embedded daemon implements. */
export function buildControlTable(): ControlTable {
  const t: ControlTable = new Map();
  registerInfoControls(t);
  registerTunableControls(t);
  registerNodeFlagControls(t);
  registerMessagingControls(t);
  registerDatabaseControls(t);
  registerPublicIpControls(t);
  return t;
}

export type { ControlHandler, ControlRequest, ControlResult, ControlTable } from './types.ts';
