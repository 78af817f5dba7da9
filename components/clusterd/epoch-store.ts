// The highest epoch this node promised, kept across restarts: a restarted
// clusterd must never grant an epoch it already gave away. Written to a
// temporary file, synced and renamed, so a crash leaves the old or the new.

import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export class EpochStore {
  readonly path: string;

  constructor(stateDir: string) {
    this.path = join(stateDir, 'clusterd.epoch');
  }

  /** 0 when nothing was stored; a damaged file is an error (never guess an epoch). */
  read(): number {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
    const epoch = Number(text.trim());
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new Error(`${this.path}: "${text.trim()}" is not an epoch`);
    return epoch;
  }

  /** Synchronous on purpose: the vote that depends on it is sent right after. */
  write(epoch: number): void {
    mkdirSync(join(this.path, '..'), { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, `${epoch}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
  }
}
