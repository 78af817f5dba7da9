import type { NodeLaunch } from '../real-node.ts';

/**
 * Command lines that run a program inside a node's network namespace and,
 * for ctdbd outside test mode, inside a private mount namespace where the
 * node directory is bind-mounted over the paths ctdbd has compiled in:
 *   DIR/node.N      -> /etc/ctdb      (ctdb.conf, nodes, public_addresses, events/, functions)
 *   DIR/node.N/run  -> /run/ctdb      (socket, pid files; /var/run is /run)
 *   DIR/node.N/var  -> /var/lib/ctdb  (event script state)
 * /run gets a fresh tmpfs first, so /run/ctdb need not exist on the host.
 * Propagation is "slave": the host's mounts and unmounts (e.g. `ip netns
 * del` of another cluster) still reach us, ours never reach the host. The
 * mount namespace and its mounts end with its last process.
 * Every wrapper execs, so the spawned PID is the program's own.
 */

/** Paths ctdbd (outside test mode) and its event scripts use; the bind mounts' targets. */
export const CTDB_ETC_DIR = '/etc/ctdb';
export const CTDB_RUN_PARENT = '/run';
export const CTDB_VAR_DIR = '/var/lib/ctdb';

const MOUNT_SCRIPT = [
  'set -e',
  'base=$1; shift',
  `mount -t tmpfs -o mode=0755,size=16m ctdbb-run ${CTDB_RUN_PARENT}`,
  `mkdir ${CTDB_RUN_PARENT}/ctdb`,
  `mount --bind "$base/run" ${CTDB_RUN_PARENT}/ctdb`,
  `mount --bind "$base" ${CTDB_ETC_DIR}`,
  `mount --bind "$base/var" ${CTDB_VAR_DIR}`,
  'exec "$@"',
].join('\n');

/** `ip netns exec NS program ...`. */
export function inNamespace(ns: string, launch: NodeLaunch): NodeLaunch {
  return { file: 'ip', args: ['netns', 'exec', ns, launch.file, ...launch.args], env: launch.env };
}

/** `ip netns exec NS unshare --mount ... sh -c MOUNTS program ...` (see above). */
export function inNodeNamespaces(ns: string, base: string, launch: NodeLaunch): NodeLaunch {
  return inNamespace(ns, {
    file: 'unshare',
    args: ['--mount', '--propagation', 'slave', 'sh', '-c', MOUNT_SCRIPT, 'ctdbb-mounts', base, launch.file, ...launch.args],
    env: launch.env,
  });
}

/** `nsenter` into the namespaces of a running process (the node's ctdbd) to run a program there. */
export function inNamespacesOf(pid: number, launch: NodeLaunch): NodeLaunch {
  return { file: 'nsenter', args: ['--target', String(pid), '--mount', '--net', '--', launch.file, ...launch.args], env: launch.env };
}
