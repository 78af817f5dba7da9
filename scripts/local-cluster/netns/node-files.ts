import { copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { clusterLockPath, renderCtdbConf, type NodePaths } from '../layout.ts';
import type { NetnsFabric } from './fabric.ts';
import { NetnsUnavailableError } from './errors.ts';

/**
 * What a node directory needs on top of the test-mode layout (layout.ts)
 * when ctdbd runs outside test mode with the directory mounted over
 * /etc/ctdb (launcher.ts): failover on, the public addresses, the legacy
 * event scripts that move them, and the host's `functions` and
 * `notify.sh`, which the mount hides and the scripts and ctdbd need.
 */

export interface CtdbdFilesOptions {
  logLevel: string;
  /** Where the packaged files are read from (before the mount hides them). Default /etc/ctdb. */
  hostEtcDir?: string;
  /** ctdb's data directory with events/legacy/*.script. Default /usr/share/ctdb. */
  dataDir?: string;
  /** Legacy event scripts to enable, without ".script". */
  eventScripts?: string[];
}

/** 00.ctdb: database checks and setup; 10.interface: adds and removes the public addresses (needs iptables, ethtool). */
export const DEFAULT_EVENT_SCRIPTS = ['00.ctdb', '10.interface'];
const HOST_FILES = ['functions', 'notify.sh'];

/** public_addresses for every node (both kinds: the embedded daemon lists them too). */
export async function writePublicAddresses(nodes: NodePaths[], fabric: Pick<NetnsFabric, 'publicAddressesText'>): Promise<void> {
  for (const node of nodes) await writeFile(join(node.base, 'public_addresses'), fabric.publicAddressesText(node.pnn));
}

export async function writeCtdbdFiles(dir: string, nodes: NodePaths[], opts: CtdbdFilesOptions): Promise<void> {
  const hostEtc = opts.hostEtcDir ?? '/etc/ctdb';
  const dataDir = opts.dataDir ?? '/usr/share/ctdb';
  for (const node of nodes) {
    await writeFile(node.confFile, renderCtdbConf(node, clusterLockPath(dir), opts.logLevel, { failover: true }));
    for (const name of HOST_FILES) {
      try {
        await copyFile(join(hostEtc, name), join(node.base, name));
      } catch (err) {
        throw new NetnsUnavailableError(`cannot copy ${join(hostEtc, name)} (is Debian's ctdb installed?): ${(err as Error).message}`);
      }
    }
    await mkdir(join(node.base, 'events', 'notification'), { recursive: true });
    // What `ctdb event script enable legacy NAME` does: a link to the packaged script.
    for (const script of opts.eventScripts ?? DEFAULT_EVENT_SCRIPTS) {
      await symlink(join(dataDir, 'events', 'legacy', `${script}.script`), join(node.base, 'events', 'legacy', `${script}.script`));
    }
  }
}
