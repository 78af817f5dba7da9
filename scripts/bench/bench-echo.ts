// Shared by the tunnel bench and its echo component process: a request type
// whose reply is its own body (the same JSON bytes go back, as a raw legacy
// echo sends them), and starting the component as a child process owned by
// the bench (tracked and stopped by PID).

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type MessageDefinition, type MessageRegistry } from '../../transport/index.ts';
import { isAlive, signal, waitForExit } from '../local-cluster/processes.ts';
import { benchRegistry } from './transport-load.ts';

export const ECHO_TYPE = 'bench.echo';

const dataBody = { type: 'object', properties: { data: { type: 'string' } }, required: ['data'], additionalProperties: false };
export const ECHO_MESSAGE: MessageDefinition = { type: ECHO_TYPE, versions: { 1: { body: dataBody, reply: dataBody } } };

/** bench.blob (reply: its length) and bench.echo (reply: itself). */
export function echoBenchRegistry(): MessageRegistry {
  return benchRegistry().define(ECHO_MESSAGE);
}

/** A bench.echo body whose request (and reply) payload is exactly `size` bytes of JSON. */
export function echoBodyOfSize(size: number): { data: string } {
  const overhead = Buffer.byteLength(JSON.stringify({ type: ECHO_TYPE, body: { data: '' } }));
  return { data: 'x'.repeat(Math.max(0, size - overhead)) };
}

/** The canonical payload bytes of that request, as a raw legacy client would send them. */
export function echoPayload(body: { data: string }): Buffer {
  return Buffer.from(JSON.stringify({ type: ECHO_TYPE, body }));
}

export interface EchoProcess {
  pid: number;
  stop(): Promise<void>;
}

const live = new Set<number>();
const killLive = (): void => {
  for (const pid of live) signal(pid, 'SIGKILL');
};

/**
 * Starts the echo component (echo-component.ts, from the sources) attached to
 * the transportd at `socketPath` as `service`; resolves once it has attached.
 */
export async function spawnEchoComponent(opts: { socketPath: string; service: number; timeoutMs?: number }): Promise<EchoProcess> {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const proc = spawn(process.execPath, [join(here, '..', 'bin', 'run-ts.mjs'), join(here, 'echo-component.ts'),
    '--socket', opts.socketPath, '--service', String(opts.service)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const pid = proc.pid;
  if (pid === undefined) throw new Error('echo component: spawn failed');
  if (live.size === 0) process.on('exit', killLive);
  live.add(pid);
  const stop = async (): Promise<void> => {
    if (isAlive(pid)) {
      signal(pid, 'SIGTERM');
      if (!(await waitForExit([pid], 3000))) signal(pid, 'SIGKILL');
    }
    live.delete(pid);
    if (live.size === 0) process.off('exit', killLive);
  };
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error('echo component: not attached in time')), opts.timeoutMs ?? 15_000);
      proc.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('attached\n')) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.once('exit', (code, sig) => {
        clearTimeout(timer);
        reject(new Error(`echo component exited with ${sig ?? `code ${code}`}`));
      });
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { pid, stop };
}
