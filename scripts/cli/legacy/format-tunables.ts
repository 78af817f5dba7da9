import { left } from './text.ts';

/** `ctdb getvar NAME` prints the name as the user typed it. */
export function formatGetvar(name: string, value: number): string {
  return `${left(name, 26)} = ${value >>> 0}\n`;
}

/** `ctdb listvars`: getvar for every name LIST_TUNABLES returned, in that order. */
export function formatListvars(vars: Array<{ name: string; value: number }>): string {
  return vars.map((v) => formatGetvar(v.name, v.value)).join('');
}

/** Tunable lookup as ctdb does it: case-insensitive against LIST_TUNABLES. */
export function hasTunable(names: readonly string[], name: string): boolean {
  const lower = name.toLowerCase();
  return names.some((n) => n.toLowerCase() === lower);
}
