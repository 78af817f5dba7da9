/**
 * printf-style helpers reproducing the C formatting `ctdb` uses, so our
 * output matches it byte for byte.
 */

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** C ctime(): "Sun Nov 22 02:48:53 2026\n" in the local time zone. */
export function ctime(epochSeconds: number): string {
  const d = new Date(epochSeconds * 1000);
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ` +
    `${pad0(d.getHours(), 2)}:${pad0(d.getMinutes(), 2)}:${pad0(d.getSeconds(), 2)} ${d.getFullYear()}\n`;
}

/** "(DDD HH:MM:SS)" for a span in whole seconds, as ctdb prints ages (C int arithmetic). */
export function ageDhms(seconds: number): string {
  let tmp = Math.trunc(seconds);
  const s = cmod(tmp, 60); tmp = Math.trunc(tmp / 60);
  const m = cmod(tmp, 60); tmp = Math.trunc(tmp / 60);
  const h = cmod(tmp, 24); tmp = Math.trunc(tmp / 24);
  return `(${fmtInt(tmp, 3)} ${fmtInt(h, 2)}:${fmtInt(m, 2)}:${fmtInt(s, 2)})`;
}

/** %0Nd for possibly negative ints (C puts the sign first, then zero pads). */
export function fmtInt(n: number, width: number): string {
  const neg = n < 0;
  const digits = String(Math.abs(n)).padStart(neg ? width - 1 : width, '0');
  return neg ? `-${digits}` : digits;
}

function pad0(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** C's % on ints keeps the dividend's sign. */
function cmod(a: number, b: number): number {
  return a - Math.trunc(a / b) * b;
}

/** %.6f */
export function f6(x: number): string {
  return x.toFixed(6);
}

/** %-Ns */
export function left(s: string, width: number): string {
  return s.padEnd(width, ' ');
}

/** %Ns / %Nu */
export function right(s: string | number, width: number): string {
  return String(s).padStart(width, ' ');
}

/** %d of a value held as u32 (C reinterprets it as signed). */
export function asInt32(n: number): number {
  return n | 0;
}

/** %u of a value that may be negative in JS (C reinterprets it as unsigned). */
export function asUint32(n: number): number {
  return n >>> 0;
}
