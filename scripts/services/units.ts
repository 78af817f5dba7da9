// The systemd units of our services, rendered from one place. The daemons
// start as `ctdb-bridge start` and the local cluster start them (Node flags
// and MALLOC_ARENA_MAX from daemon-runtime.ts); the operator's settings live
// in /etc/ctdb (CTDB_BASE: nodes, ctdb.conf, ctdb-bridge.conf) and
// /etc/default/ctdb-bridge (environment, extra daemon options).

import { DAEMON_UNSET_ENV, daemonEnvSettings, daemonFlags } from '../local-cluster/daemon-runtime.ts';
import { PACKAGE_VERSION } from '../../legacy/common/package-info.ts';
import { BRIDGE_SERVICES, DRAIN_WAIT_MS, SERVICE_FACTS, drainArgs, type BridgeService } from './services.ts';

/** Debian's ctdbd unit. */
export const CTDB_UNIT = 'ctdb.service';
export const UNIT_DIR = '/etc/systemd/system';
export const CTDB_BASE_DIR = '/etc/ctdb';
export const ENVIRONMENT_FILE = '/etc/default/ctdb-bridge';
/** /run/ctdb-bridge: where transportd's socket is by default (components/framework/services.ts). */
export const RUNTIME_DIRECTORY = 'ctdb-bridge';
/** /var/lib/ctdb-bridge: ctdb-bridge.conf's default state directory. */
export const STATE_DIRECTORY = 'ctdb-bridge';
/** First line of every file we write; uninstall removes only files that carry it. */
export const INSTALLED_MARK = '# Installed by `ctdb-bridge service install`';

export function unitName(service: BridgeService): string {
  return `ctdb-bridge-${service}.service`;
}

/** `$CTDB_BRIDGE_FAILOVERD_OPTIONS`: extra command-line options from the environment file. */
export function optionsVariable(service: BridgeService): string {
  return `CTDB_BRIDGE_${service.toUpperCase()}_OPTIONS`;
}

export interface UnitPaths {
  /** The node binary. */
  node: string;
  /** The ctdb-bridge entry (scripts/bin/ctdb-bridge.cjs of the installed package). */
  bin: string;
}

export class UnitPathError extends Error {
  override name = 'UnitPathError';
  constructor(what: string, path: string, why: string) {
    super(`${what} path ${JSON.stringify(path)} cannot go into a unit: ${why}`);
  }
}

/** One word of an Exec line: specifiers (%) and variables ($) escaped, quoted when it holds spaces or quotes. */
function execWord(word: string): string {
  const escaped = word.replaceAll('%', '%%').replaceAll('$', '$$$$');
  if (!/[\s"'\\;]/.test(escaped)) return escaped;
  return `"${escaped.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

function checkPath(what: string, path: string): void {
  if (!path.startsWith('/')) throw new UnitPathError(what, path, 'not absolute');
  if (/[\n\r\0]/.test(path)) throw new UnitPathError(what, path, 'holds a line break or NUL');
}

type Section = Array<[string, string]>;

function render(sections: Array<[string, Section]>): string {
  const out = [
    `${INSTALLED_MARK} (ctdb-bridge ${PACKAGE_VERSION}); change it with a drop-in`,
    '# (systemctl edit), or /etc/default/ctdb-bridge: a new install rewrites this file.',
  ];
  for (const [name, entries] of sections) {
    out.push('', `[${name}]`, ...entries.map(([k, v]) => `${k}=${v}`));
  }
  return `${out.join('\n')}\n`;
}

/**
 * Hardening that leaves the daemons what they need: root (ctdbd's socket in
 * /run/ctdb is root's, failover drives ctdbd's controls), writable /run and
 * /var (sockets, state directory) and any cluster-lock path the operator
 * chose (so ProtectSystem=full, not strict). No MemoryDenyWriteExecute: V8
 * compiles to executable memory.
 */
const HARDENING: Section = [
  ['NoNewPrivileges', 'yes'],
  ['ProtectSystem', 'full'],
  ['ProtectHome', 'read-only'],
  ['PrivateTmp', 'yes'],
  ['PrivateDevices', 'yes'],
  ['ProtectKernelTunables', 'yes'],
  ['ProtectKernelModules', 'yes'],
  ['ProtectKernelLogs', 'yes'],
  ['ProtectControlGroups', 'yes'],
  ['ProtectClock', 'yes'],
  ['ProtectHostname', 'yes'],
  ['RestrictNamespaces', 'yes'],
  ['RestrictRealtime', 'yes'],
  ['RestrictSUIDSGID', 'yes'],
  ['LockPersonality', 'yes'],
  ['SystemCallArchitectures', 'native'],
  ['RestrictAddressFamilies', 'AF_UNIX AF_INET AF_INET6 AF_NETLINK'],
  ['UMask', '0077'],
];

export function renderUnit(service: BridgeService, paths: UnitPaths): string {
  checkPath('node', paths.node);
  checkPath('ctdb-bridge', paths.bin);
  const facts = SERVICE_FACTS[service];
  const needs = facts.needs.map(unitName);
  // transportd rides ctdbd's tunnel: it goes when ctdbd goes. Components
  // outlive a ctdbd or transportd restart (they re-attach), so they only order after them.
  const unit: Section = [
    ['Description', `ctdb-bridge ${service}: ${facts.description}`],
    ...(service === 'transportd' ? [['Requires', CTDB_UNIT] as [string, string]] : []),
    ...(needs.length > 0 ? [['Wants', needs.join(' ')] as [string, string]] : []),
    ['After', [CTDB_UNIT, ...needs].join(' ')],
  ];
  const cli = (args: string[]) => [paths.node, paths.bin, ...args].map(execWord).join(' ');
  const daemon = `${[paths.node, ...daemonFlags(service), paths.bin, service].map(execWord).join(' ')} $${optionsVariable(service)}`;
  const svc: Section = [
    ['Type', 'exec'],
    ...Object.entries(daemonEnvSettings(service)).map(([k, v]) => ['Environment', `${k}=${v}`] as [string, string]),
    ['Environment', `CTDB_BASE=${CTDB_BASE_DIR}`],
    ['Environment', 'CTDB_BRIDGE_LOG_LEVEL=info'],
    // Read after Environment= and overriding it (e.g. CTDB_BRIDGE_TRANSPORT_SOCKET for all three units).
    ['EnvironmentFile', `-${ENVIRONMENT_FILE}`],
    // Applied last, after EnvironmentFile= too (daemon-runtime.ts says why).
    ['UnsetEnvironment', DAEMON_UNSET_ENV.join(' ')],
    ['ExecStart', daemon],
  ];
  if (facts.drainsOnStop) {
    // '-': a failed or timed-out drain never blocks the stop; systemd then sends SIGTERM as usual.
    svc.push(['ExecStop', `-${cli(drainArgs())}`]);
    svc.push(['TimeoutStopSec', `${Math.ceil(DRAIN_WAIT_MS / 1000) + 30}s`]);
  }
  if (service !== 'transportd') svc.push(['ExecReload', '/bin/kill -HUP $MAINPID']); // components reload on SIGHUP
  svc.push(['Restart', 'on-failure'], ['RestartSec', '1s']);
  if (service === 'transportd') {
    svc.push(['RuntimeDirectory', RUNTIME_DIRECTORY], ['RuntimeDirectoryMode', '0700'], ['RuntimeDirectoryPreserve', 'yes']);
  } else {
    svc.push(['StateDirectory', STATE_DIRECTORY], ['StateDirectoryMode', '0700']);
  }
  svc.push(...HARDENING);
  return render([['Unit', unit], ['Service', svc], ['Install', [['WantedBy', 'multi-user.target']]]]);
}

export interface RenderedFile {
  /** Absolute path on the target host. */
  path: string;
  text: string;
  mode: number;
}

export function renderUnits(paths: UnitPaths): RenderedFile[] {
  return BRIDGE_SERVICES.map((s) => ({ path: `${UNIT_DIR}/${unitName(s)}`, text: renderUnit(s, paths), mode: 0o644 }));
}
