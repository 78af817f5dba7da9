import { CLI_ENTRY } from '../../legacy/common/package-info.ts';

/**
 * How our long-running daemons (the embedded ctdbd node, transportd, the
 * components) are started as processes: Node and glibc settings that keep an
 * idle daemon small and its resident size flat under traffic. The local
 * cluster and `ctdb-bridge start` spawn every daemon with these; a systemd
 * unit should do the same, e.g.
 *
 *   Environment=MALLOC_ARENA_MAX=2 GLIBC_TUNABLES=glibc.malloc.mmap_threshold=65536
 *   ExecStart=/usr/bin/node --max-semi-space-size=1 --single-threaded /usr/lib/node_modules/ctdb-bridge/scripts/bin/ctdb-bridge.cjs node --config /etc/ctdb
 *
 * (transportd and the components with their daemonFlags() and daemonEnvSettings(),
 * as services/units.ts renders them).
 *
 * Measured by scripts/bench/node-memory.ts (idle, and after 1M messages).
 */

/**
 * V8 flags of the embedded node daemon (`ctdb-bridge node`).
 * --max-semi-space-size=1 (MiB): the young generation is 16 MiB per
 * semi-space by default and, once traffic has grown it, stays resident; a
 * daemon's garbage is short-lived packets, scavenged as cheaply from 1 MiB.
 * --single-threaded: no concurrent GC and compiler threads (their stacks and
 * buffers cost 1-5 MB; a small heap does not need them; messages/s unchanged).
 * No --max-old-space-size: it would not lower an idle daemon's size, only
 * turn a burst into a crash. Not --lite-mode or --no-opt: 3-5x fewer messages/s.
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--single-threaded'];

/**
 * V8 flags of transportd and the component daemons (clusterd, failoverd,
 * components): the node daemon's, plus
 * --optimize-for-size: V8 grows the heap later and compiles less eagerly
 *   (idle RSS, 20 s after start, 2-node embedded cluster, loaded machine:
 *   transportd 57.5 -> 54.7 MiB, clusterd 58.0 -> 54.5, failoverd ~53 both);
 * --interrupt-budget=1081344 (16x V8's default): a function is optimised by
 *   TurboFan after 16x as much interpreted work. Start-up code (module
 *   loading, config reading) then mostly never gets optimised, and the
 *   optimising compiler's own code pages stay out of the process (idle
 *   transportd 55.1 -> 51.2 MiB, failoverd 53.3 -> 48.9). It also kept
 *   transportd's per-packet path unoptimised for tens of thousands of
 *   packets, so a busy transportd gets V8's own budget back (tier-up.ts).
 * Requests/s through a transportd process (64 B, 1 KiB, 64 KiB, medians of
 * alternating runs) moved within the run-to-run noise with each flag.
 * Not for the node daemon: its messages/s are its job.
 * Measured with scripts/bench/node-memory.ts --messages 0 --idle-s 20
 * --bridge-try="FLAGS".
 */
export const BRIDGE_DAEMON_FLAGS: readonly string[] = [...DAEMON_NODE_FLAGS, '--optimize-for-size', '--interrupt-budget=1081344'];

/** The subcommands started with BRIDGE_DAEMON_FLAGS. */
export const BRIDGE_DAEMON_COMMANDS: readonly string[] = ['transportd', 'clusterd', 'failoverd', 'components'];

/** The V8 flags a daemon subcommand is started with (one home for the choice: local clusters, `start`, systemd units). */
export function daemonFlags(subcommand: string): readonly string[] {
  return BRIDGE_DAEMON_COMMANDS.includes(subcommand) ? BRIDGE_DAEMON_FLAGS : DAEMON_NODE_FLAGS;
}

/**
 * Environment of transportd and the components, and the base of the node
 * daemon's (below). MALLOC_ARENA_MAX=2: glibc gives each thread
 * that allocates its own arena (Node has a handful: V8 platform workers,
 * libuv pool), and memory freed in an arena is rarely handed back.
 */
export const BRIDGE_DAEMON_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };

/**
 * Environment of the node daemon: the above, plus mmap_threshold=64 KiB. Every
 * socket read gets a 64 KiB buffer; from malloc's heap, a burst of them leaves
 * it fragmented and grown for good (+28 MiB RSS after the hostile "partial big
 * packets" attack), mapped on their own they go back to the kernel when freed
 * (messages/s unchanged, scripts/bench/node-memory.ts).
 * Not for transportd and the components: there every 64 KiB read became a
 * fresh mapping (mmap, page faults, munmap), and 64 KiB requests/s through
 * transportd processes fell to a third (scripts/bench/tunnel.ts, procs).
 */
export const DAEMON_NODE_ENV: Readonly<Record<string, string>> = {
  ...BRIDGE_DAEMON_ENV, GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=65536',
};

/** The environment a daemon subcommand is started with (one home, as daemonFlags()). */
export function daemonEnvSettings(subcommand: string): Readonly<Record<string, string>> {
  return BRIDGE_DAEMON_COMMANDS.includes(subcommand) ? BRIDGE_DAEMON_ENV : DAEMON_NODE_ENV;
}

/** How a daemon process is started (injectable: benchmarks compare builds and settings). */
export interface DaemonRuntime {
  /** The ctdb-bridge command (scripts/bin/ctdb-bridge.cjs of some build). */
  entry: string;
  /** The same Node flags for every daemon (benchmarks trying settings); absent: daemonFlags() per subcommand. */
  nodeFlags?: readonly string[];
  /** The same environment settings for every daemon (benchmarks trying settings); absent: daemonEnvSettings() per subcommand. */
  env?: Readonly<Record<string, string>>;
}

export const DEFAULT_DAEMON_RUNTIME: DaemonRuntime = { entry: CLI_ENTRY };

/** The argument vector for `node`: flags, the ctdb-bridge entry, then the subcommand and its arguments. */
export function daemonArgv(command: string[], runtime: DaemonRuntime = DEFAULT_DAEMON_RUNTIME): string[] {
  return [...(runtime.nodeFlags ?? daemonFlags(command[0] ?? '')), runtime.entry, ...command];
}

/**
 * Variables a daemon is started without. NODE_EXTRA_CA_CERTS: Node parses
 * the file at start-up, before any script runs (a system CA bundle: ~2 MB
 * RSS for the life of the process, ~35 ms), and no daemon of ours opens a
 * TLS connection. The bin's #! line drops it for commands run from a shell.
 */
export const DAEMON_UNSET_ENV: readonly string[] = ['NODE_EXTRA_CA_CERTS'];

/**
 * `env` with the settings of daemon `subcommand` added; a value already set
 * there (by the operator) wins. Without DAEMON_UNSET_ENV.
 */
export function daemonEnv(subcommand: string, env: NodeJS.ProcessEnv, runtime: DaemonRuntime = DEFAULT_DAEMON_RUNTIME): NodeJS.ProcessEnv {
  const out = { ...(runtime.env ?? daemonEnvSettings(subcommand)), ...env };
  for (const name of DAEMON_UNSET_ENV) delete out[name];
  return out;
}
