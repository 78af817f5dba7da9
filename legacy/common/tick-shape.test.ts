import { describe, expect, it } from 'vitest';
import { pinnedTickObject, pinTickObjectShape } from './tick-shape.ts';

describe('tick object shape pin', () => {
  it('keeps one process.nextTick entry, once', () => {
    pinTickObjectShape();
    const pinned = pinnedTickObject() as { callback?: unknown; args?: unknown } | undefined;
    expect(typeof pinned?.callback).toBe('function');
    expect(pinned?.args).toBeUndefined();
    pinTickObjectShape();
    expect(pinnedTickObject()).toBe(pinned);
  });
});
