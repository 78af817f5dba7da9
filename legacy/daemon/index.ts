/** The embedded, wire-compatible ctdbd. */
export { Daemon, type DaemonOptions, type DaemonTiming, type ControlReply } from './daemon.ts';
export { loadDaemonConfig, type DaemonConfig, type LoadConfigOptions, type NodeEntry, type PublicAddress } from './config.ts';
export { DaemonError, DaemonConfigError, DaemonStartError, DaemonControlError } from './errors.ts';
export { DebugLevel, parseDebugLevel } from './debug-levels.ts';
export { NO_DATABASES } from './controls/databases.ts';
