import { describe, expect, it } from 'vitest';
import { runProcess } from './test-mode-process.ts';

describe('runProcess', () => {
  it('a program that exits without reading its input gives its result, not an EPIPE', async () => {
    // Megabytes of input to /bin/true: our write meets a closed pipe (uncaught EPIPE before the fix).
    for (let i = 0; i < 5; i++) {
      expect(await runProcess('/bin/true', [], process.env, { input: 'x'.repeat(4_000_000) })).toEqual({ code: 0, stdout: '', stderr: '' });
    }
  });

  it('passes the input to a program that reads it', async () => {
    expect(await runProcess('/bin/cat', [], process.env, { input: 'nodes\n' })).toEqual({ code: 0, stdout: 'nodes\n', stderr: '' });
  });
});
