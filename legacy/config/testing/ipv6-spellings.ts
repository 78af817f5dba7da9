import fc from 'fast-check';
import { inetNtop4 } from '../inet.ts';

/** Generators of IPv6 addresses and of the many texts inet_pton accepts for one address. */

/** Biased towards zero groups so "::" runs, ties and the dotted forms all occur. */
export const address6 = fc.array(fc.oneof(fc.constant(0), fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 })
  .map((groups) => {
    const b = new Uint8Array(16);
    groups.forEach((g, i) => { b[2 * i] = g >> 8; b[2 * i + 1] = g & 0xff; });
    return b;
  });

export interface Spelling { upper: boolean[]; pad: number[]; compress: number; dotted: boolean }

/** One of the many ways to write the address in `b` that inet_pton accepts. */
export function spell(b: Uint8Array, s: Spelling): string {
  const groups = Array.from({ length: 8 }, (_, i) => (b[2 * i] << 8) | b[2 * i + 1]);
  const n = s.dotted ? 6 : 8;
  const parts = groups.slice(0, n).map((g, i) => {
    const hex = g.toString(16).padStart(1 + s.pad[i], '0');
    return s.upper[i] ? hex.toUpperCase() : hex;
  });
  const tail = s.dotted ? [inetNtop4(b, 12)] : [];
  // Compress one run of zero groups (any length >= 1) chosen by s.compress.
  const runs: Array<[number, number]> = [];
  for (let i = 0; i < n;) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < n && groups[j] === 0) j++;
    runs.push([i, j]);
    i = j;
  }
  if (runs.length === 0 || s.compress % (runs.length + 1) === runs.length) return [...parts, ...tail].join(':');
  const [start, end] = runs[s.compress % (runs.length + 1)];
  const head = parts.slice(0, start).join(':');
  const rest = [...parts.slice(end), ...tail].join(':');
  return `${head}::${rest}`;
}

export const spelling = fc.record({
  upper: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
  pad: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 8, maxLength: 8 }),
  compress: fc.nat(),
  dotted: fc.boolean(),
});
