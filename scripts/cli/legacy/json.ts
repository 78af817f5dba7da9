/**
 * JSON for `--json`: the decoded wire data as it came from ctdbd. u64
 * values (bigint) become decimal strings, byte buffers hex strings.
 */
export function toJsonText(value: unknown): string {
  return `${JSON.stringify(plain(value), null, 2)}\n`;
}

function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (Buffer.isBuffer(v)) return v.toString('hex');
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof Set) return [...v].map(plain);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}
