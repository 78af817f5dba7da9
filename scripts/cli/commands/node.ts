import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { createLogger, type Logger } from '../../../legacy/common/log.ts';
import { Daemon, QUICK_START_TIMING } from '../../../legacy/daemon/daemon.ts';
import { loadDaemonConfig } from '../../../legacy/daemon/config.ts';
import { pinoLevelFor } from '../../../legacy/daemon/debug-levels.ts';
import { parseLogLocation } from '../../../legacy/config/index.ts';

/**
 * `ctdb-bridge node --config DIR`: one embedded ctdbd node in the
 * foreground. DIR is a CTDB_BASE-style directory (ctdb.conf, nodes,
 * public_addresses, ctdb.tunables; socket and pid file in DIR/run), so the
 * real `ctdb` CLI works against it with CTDB_TEST_MODE=yes CTDB_BASE=DIR.
 */

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('expected a TCP port');
  return n;
}

function loggerFor(location: string, level: number, toStderr: boolean): { logger: Logger; stream?: WriteStream } {
  const pinoLevel = pinoLevelFor(level);
  const loc = parseLogLocation(location);
  // "file" without a path (or "file:-") is stderr for ctdbd too; syslog is not emulated.
  if (toStderr || loc?.kind !== 'file' || loc.path === undefined || loc.path === '-') {
    return { logger: createLogger({ component: 'ctdbd', level: pinoLevel }) };
  }
  const path = loc.path;
  mkdirSync(dirname(path), { recursive: true });
  const stream = createWriteStream(path, { flags: 'a' });
  return { logger: createLogger({ component: 'ctdbd', level: pinoLevel, destination: stream }), stream };
}

export function registerNode(program: Command): void {
  program
    .command('node')
    .description('run one embedded (wire-compatible) ctdbd node in the foreground')
    .requiredOption('--config <dir>', 'CTDB_BASE-style directory: ctdb.conf, nodes, public_addresses, run/')
    .option('--port <port>', 'node-to-node TCP port (ctdbd: 4379)', port)
    .option('--node-address <address>', 'override [cluster] node address')
    .option('--log-stderr', 'log to stderr instead of the ctdb.conf log location')
    .option('--quick-start', 'one-machine test clusters: elect as soon as every node is connected, with a 0.5 s election (default: ctdbd\'s waits)')
    .action(async (opts: { config: string; port?: number; nodeAddress?: string; logStderr?: boolean; quickStart?: boolean }) => {
      const config = await loadDaemonConfig(resolve(opts.config), { port: opts.port, nodeAddress: opts.nodeAddress });
      const { logger, stream } = loggerFor(config.logLocation, config.logLevel, opts.logStderr ?? false);
      for (const w of config.warnings) logger.warn({ file: w.file, line: w.line }, w.reason);
      let done!: () => void;
      const finished = new Promise<void>((r) => { done = r; });
      const daemon = new Daemon({ config, logger, onShutdown: () => done(), timing: opts.quickStart ? QUICK_START_TIMING : undefined });
      const stop = (signal: string) => { void daemon.stop(signal).then(() => done()); };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
      await daemon.start();
      await finished;
      // A foreground daemon exits once stopped; leftover timers must not keep it alive.
      if (stream) await new Promise<void>((r) => stream.end(() => r()));
      process.exit(0);
    });
}
