// Nodes the operator drained (`failover drain`): their addresses go to other
// nodes and stay away until `undrain`. Kept in the state directory so a
// restarted failoverd does not bring them back by forgetting.

import { join } from 'node:path';
import { readStateFile, writeStateFile } from '../framework/state-file.ts';
import type { AllocationInput } from './allocation/types.ts';

export class DrainStore {
  readonly path: string;
  private set: Set<number>;

  constructor(stateDir: string) {
    this.path = join(stateDir, 'failoverd.drained');
    this.set = new Set(parseDrained(readStateFile(this.path) ?? '', this.path));
  }

  get drained(): number[] {
    return [...this.set].sort((a, b) => a - b);
  }

  /** Returns whether anything changed. */
  mark(pnn: number, drained: boolean): boolean {
    if (this.set.has(pnn) === drained) return false;
    if (drained) this.set.add(pnn);
    else this.set.delete(pnn);
    writeStateFile(this.path, this.drained.map((p) => `${p}\n`).join(''));
    return true;
  }
}

function parseDrained(text: string, path: string): number[] {
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => {
    const pnn = Number(l.trim());
    if (!Number.isInteger(pnn) || pnn < 0 || pnn > 0xefffffff) throw new Error(`${path}: "${l.trim()}" is not a node number`);
    return pnn;
  });
}

/** The allocation input with drained nodes unable to host anything. */
export function withDrains(input: AllocationInput, drained: readonly number[]): AllocationInput {
  if (drained.length === 0) return input;
  const out = new Set(drained);
  return {
    ...input,
    nodes: input.nodes.map((n) => (out.has(n.pnn) ? { ...n, ips: n.ips.map((ip) => ({ ...ip, available: false })) } : n)),
  };
}
