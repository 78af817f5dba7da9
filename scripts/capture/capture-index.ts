import { writeFileAtomic } from '../common/atomic-file.ts';
import { join } from 'node:path';

/** DIR/index.json of a capture: one entry per proxied client connection. */

export interface CaptureConnection {
  /** 1-based, in accept order; files are conn-<id>.c2s.bin / conn-<id>.s2c.bin. */
  id: number;
  /** Caller-supplied label (e.g. the ctdb command) current when the connection was accepted. */
  label: string | null;
  startedAt: string;
  endedAt: string | null;
  /** File names relative to the capture directory. */
  c2sFile: string;
  s2cFile: string;
  c2sBytes: number;
  s2cBytes: number;
  /** Why the connection ended abnormally (upstream unreachable, reset, ...). */
  error: string | null;
}

export interface CaptureIndex {
  realSocket: string;
  listenSocket: string;
  startedAt: string;
  connections: CaptureConnection[];
}

export function connectionFiles(id: number): { c2sFile: string; s2cFile: string } {
  return { c2sFile: `conn-${id}.c2s.bin`, s2cFile: `conn-${id}.s2c.bin` };
}

export async function writeCaptureIndex(outDir: string, index: CaptureIndex): Promise<void> {
  await writeFileAtomic(join(outDir, 'index.json'), JSON.stringify(index, null, 2) + '\n');
}
