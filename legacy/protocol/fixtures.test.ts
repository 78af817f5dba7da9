import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { Dissector } from './dissect.ts';

/**
 * Every capture under fixtures/ (real ctdbd / ctdb CLI / smbd traffic
 * recorded by the harness, plus our golden files): every packet decodes,
 * every known control and message payload decodes, and everything re-encodes
 * to identical bytes (padding excepted). c2s/s2c pairs are dissected together
 * so replies are matched to their requests.
 */
const root = fileURLToPath(new URL('./fixtures/', import.meta.url));

function captures(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? captures(path) : name.endsWith('.bin') ? [path] : [];
  });
}

/** Group x.c2s.bin with x.s2c.bin (requests first); other files alone. */
function conversations(files: string[]): string[][] {
  const groups = new Map<string, string[]>();
  for (const f of files.sort()) {
    const key = f.replace(/\.(c2s|s2c)\.bin$/, '');
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  return [...groups.values()].map((g) => g.sort((a, b) => (a.includes('.c2s.') ? -1 : b.includes('.c2s.') ? 1 : 0)));
}

const files = captures(root);

describe('capture fixtures', () => {
  test('fixtures are present', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  for (const group of conversations(files)) {
    const label = group.map((f) => f.slice(root.length)).join(' + ');
    test(label, () => {
      const d = new Dissector({ roundtrip: true });
      let packets = 0;
      for (const file of group) {
        for (const rec of d.dissectStream(readFileSync(file), file.slice(root.length))) {
          packets++;
          expect(rec.error, `${rec.stream} packet ${rec.index}`).toBeUndefined();
          expect(rec.payloadError, `${rec.stream} packet ${rec.index}`).toBeUndefined();
          expect(rec.roundtrip, `${rec.stream} packet ${rec.index}`).toMatchObject({ ok: true });
          if (rec.operation === 'REQ_CONTROL') {
            // Every control the real tools send has a modelled request payload.
            expect(rec.payload, `${rec.stream} packet ${rec.index} ${String(rec.control)}`).not.toHaveProperty('raw');
          }
        }
      }
      expect(d.summary.errors).toBe(0);
      expect(packets).toBeGreaterThanOrEqual(0);
    });
  }
});
