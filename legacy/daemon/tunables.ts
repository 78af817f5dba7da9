import {
  defaultTunableList, findTunable, tunableDefaults, type TunableList, type TunableName,
} from '../protocol/types/tunables.ts';
import { DaemonConfigError } from './errors.ts';

/**
 * The daemon's tunable values with ctdbd's defaults and name rules: names
 * match case-insensitively, obsolete ones answer "obsolete" (status 1) on
 * set, LIST_TUNABLES leaves them out. Order and defaults come from the codec.
 */
export class Tunables {
  private readonly values: TunableList = defaultTunableList();

  get(name: TunableName): number {
    return this.values[name];
  }

  /** Case-insensitive lookup; undefined for an unknown name. */
  lookup(name: string): number | undefined {
    const t = findTunable(name);
    return t ? this.values[t.name as TunableName] : undefined;
  }

  /** 'ok' | 'obsolete' | 'unknown' as SET_TUNABLE reports it (0 / 1 / -1). */
  set(name: string, value: number): 'ok' | 'obsolete' | 'unknown' {
    const t = findTunable(name);
    if (!t) return 'unknown';
    if (t.obsolete) return 'obsolete';
    this.values[t.name as TunableName] = value >>> 0;
    return 'ok';
  }

  /** LIST_TUNABLES order: ctdbd's name table without the obsolete entries. */
  listNames(): string[] {
    return tunableDefaults.filter((t) => !t.obsolete).map((t) => t.name);
  }

  /** GET_ALL_TUNABLES value (struct slot order is the codec's business). */
  all(): TunableList {
    return { ...this.values };
  }

  /** Applies ctdb.tunables entries; an unknown name is a configuration error. */
  applyFile(entries: Array<{ name: string; value: number; line: number }>, file: string): void {
    for (const e of entries) {
      const r = this.set(e.name, e.value);
      if (r === 'unknown') throw new DaemonConfigError(file, e.line, `unknown tunable "${e.name}"`);
    }
  }
}
