// Shared by the transport benchmarks: a message type whose JSON payload has
// an exact size, and a windowed request pump.

import { createRegistry, type TransportClient } from '../../transport/index.ts';

export const BENCH_SERVICE = 70;

export const benchRegistry = () => createRegistry([{
  type: 'bench.blob',
  versions: { 1: { body: { type: 'object', properties: { data: { type: 'string' } }, required: ['data'] }, reply: { type: 'integer' } } },
}]);

/** A body whose JSON payload ({"type":"bench.blob","body":{"data":"..."}}) is exactly `size` bytes. */
export function bodyOfSize(size: number): { data: string } {
  const overhead = Buffer.byteLength(JSON.stringify({ type: 'bench.blob', body: { data: '' } }));
  return { data: 'x'.repeat(Math.max(0, size - overhead)) };
}

/** Keeps `window` requests in flight to node `to` for `ms`; returns completed requests per second. */
export async function pump(sender: TransportClient, to: number, body: unknown, ms: number, window: number): Promise<number> {
  let done = 0;
  const deadline = performance.now() + ms;
  const started = performance.now();
  const lane = async (): Promise<void> => {
    while (performance.now() < deadline) {
      await sender.request({ node: to, service: BENCH_SERVICE }, 'bench.blob', body, { timeoutMs: 10_000 });
      done++;
    }
  };
  await Promise.all(Array.from({ length: window }, lane));
  return done / ((performance.now() - started) / 1000);
}

export function sizeLabel(n: number): string {
  return n >= 1024 ? `${n / 1024} KiB` : `${n} B`;
}

export function printTable(rows: string[][]): void {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  for (const row of rows) process.stdout.write(row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ') + '\n');
}
