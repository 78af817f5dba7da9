import { Command, InvalidArgumentError } from 'commander';
import { resolve } from 'node:path';
import { startCaptureProxy } from '../../capture/capture-proxy.ts';

/** `ctdb-bridge capture`: record the exact byte streams between clients and a ctdbd socket. */

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

export function registerCapture(program: Command): void {
  program
    .command('capture')
    .description('pass-through proxy for a ctdbd unix socket that writes each connection\'s bytes to ' +
      'DIR/conn-<n>.c2s.bin and DIR/conn-<n>.s2c.bin plus DIR/index.json; point clients at it with ' +
      'CTDB_SOCKET=PROXY_SOCKET')
    .requiredOption('--socket <path>', 'the real daemon socket (e.g. node.0/run/ctdbd.socket)')
    .requiredOption('--listen <path>', 'proxy socket to create')
    .requiredOption('--out <dir>', 'directory for the capture files')
    .option('--count <n>', 'exit after this many connections have closed (default: run until Ctrl-C)', positiveInt)
    .option('--label <text>', 'label stored in index.json for every connection (e.g. the command you run)')
    .action(async (opts: { socket: string; listen: string; out: string; count?: number; label?: string }) => {
      const proxy = await startCaptureProxy({
        realSocket: resolve(opts.socket), listenSocket: resolve(opts.listen), outDir: resolve(opts.out),
        count: opts.count, label: opts.label,
      });
      process.stderr.write(`capture: listening on ${proxy.listenSocket}, writing to ${proxy.outDir}\n`);
      const stop = (): void => { void proxy.close(); };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const connections = await proxy.done;
      await proxy.close();
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.stderr.write(`capture: ${connections.length} connection(s) recorded in ${proxy.outDir}\n`);
    });
}
