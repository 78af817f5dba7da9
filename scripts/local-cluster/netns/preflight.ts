import { accessSync, constants, statSync } from 'node:fs';
import { mkdir, realpath } from 'node:fs/promises';
import { delimiter, join, relative, isAbsolute } from 'node:path';
import { CTDB_ETC_DIR, CTDB_RUN_PARENT, CTDB_VAR_DIR } from './launcher.ts';
import { NetnsUnavailableError } from './errors.ts';

/** Checks made before a netns cluster creates anything. */

export function findExecutable(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of [...path.split(delimiter), '/usr/sbin', '/sbin']) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

export interface NetnsPreflightOptions {
  dir: string;
  /** ctdbd outside test mode: private mounts and the event scripts' tools. */
  ctdbd: boolean;
}

export async function assertNetnsUsable(opts: NetnsPreflightOptions): Promise<void> {
  if (process.getuid?.() !== 0) throw new NetnsUnavailableError('network namespaces need root (CAP_NET_ADMIN, CAP_SYS_ADMIN)');
  // iptables and ethtool: 10.interface blocks released addresses and checks the link with them.
  const tools = ['ip', 'nsenter', ...(opts.ctdbd ? ['unshare', 'mount', 'iptables', 'ethtool'] : [])];
  const missing = tools.filter((t) => !findExecutable(t));
  if (missing.length > 0) {
    throw new NetnsUnavailableError(`missing ${missing.join(', ')} (apt-get install -y iproute2 util-linux iptables ethtool)`);
  }
  if (!opts.ctdbd) return;
  for (const target of [CTDB_ETC_DIR, CTDB_VAR_DIR]) {
    if (!statSync(target, { throwIfNoEntry: false })?.isDirectory()) {
      throw new NetnsUnavailableError(`${target} does not exist (it is the bind mount's target; Debian's ctdb package creates it)`);
    }
  }
  await mkdir(opts.dir, { recursive: true }); // up() creates it next anyway
  const dir = await realpath(opts.dir);
  for (const covered of [CTDB_RUN_PARENT, CTDB_ETC_DIR, CTDB_VAR_DIR]) {
    if (isInside(dir, covered)) throw new NetnsUnavailableError(`the cluster directory ${dir} is under ${covered}, which the nodes mount over`);
  }
}
