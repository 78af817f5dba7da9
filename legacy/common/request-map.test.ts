import { describe, expect, it } from 'vitest';
import { RequestMap } from './request-map.ts';

describe('RequestMap', () => {
  it('behaves like a Map without showing its hidden entry', () => {
    const m = new RequestMap<number, string>();
    expect(m.size).toBe(0);
    expect([...m]).toEqual([]);
    m.set(1, 'a').set(2, 'b');
    expect(m.size).toBe(2);
    expect(m.get(1)).toBe('a');
    expect(m.has(3)).toBe(false);
    expect([...m.keys()]).toEqual([1, 2]);
    expect([...m.values()]).toEqual(['a', 'b']);
    expect([...m.entries()]).toEqual([[1, 'a'], [2, 'b']]);
    expect(m.delete(1)).toBe(true);
    expect(m.delete(1)).toBe(false);
    expect([...m]).toEqual([[2, 'b']]);
    m.clear();
    expect(m.size).toBe(0);
    m.set(5, 'e');
    expect([...m]).toEqual([[5, 'e']]);
  });

  it('tolerates deletes while iterating, as Map does', () => {
    const m = new RequestMap<number, number>();
    for (let i = 0; i < 5; i++) m.set(i, i);
    for (const [k] of m) if (k % 2 === 0) m.delete(k);
    expect([...m.keys()]).toEqual([1, 3]);
  });
});
