import { describe, expect, test } from 'vitest';
import { DifferenceCounter } from './differences.ts';

describe('DifferenceCounter with a settle time', () => {
  const d = { subject: '10.0.0.1', ours: '1', legacy: '2' };

  test('a difference shorter than the settle time is never counted', () => {
    const c = new DifferenceCounter(1000);
    expect(c.update([d], 0)).toEqual([]);
    expect(c.update([d], 999)).toEqual([]);
    expect(c.current).toEqual([]);
    c.update([], 1500);
    expect(c.update([d], 2000)).toEqual([]);
    expect(c.total).toBe(0);
  });

  test('one that lasts is counted once, and again after it went away', () => {
    const c = new DifferenceCounter(1000);
    c.update([d], 0);
    expect(c.update([d], 1000)).toEqual([d]);
    expect(c.update([d], 5000)).toEqual([]);
    expect(c.current).toEqual([d]);
    c.update([], 6000);
    c.update([d], 7000);
    c.update([d], 8000);
    expect(c.total).toBe(2);
  });
});
