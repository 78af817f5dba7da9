// The highest epoch this node promised, kept across restarts: a restarted
// clusterd must never grant an epoch it already gave away.

import { join } from 'node:path';
import { readStateFile, writeStateFile } from '../framework/state-file.ts';

export class EpochStore {
  readonly path: string;

  constructor(stateDir: string) {
    this.path = join(stateDir, 'clusterd.epoch');
  }

  /** 0 when nothing was stored; a damaged file is an error (never guess an epoch). */
  read(): number {
    const text = readStateFile(this.path);
    if (text === undefined) return 0;
    const epoch = Number(text.trim());
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new Error(`${this.path}: "${text.trim()}" is not an epoch`);
    return epoch;
  }

  /** Synchronous on purpose: the vote that depends on it is sent right after. */
  write(epoch: number): void {
    writeStateFile(this.path, `${epoch}\n`);
  }
}
