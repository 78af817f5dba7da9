import { describe, expect, it } from 'vitest';
import { silentLogger } from './log.ts';
import { LimitedLog } from './log-limiter.ts';

function recorder() {
  const lines: Array<{ fields: Record<string, unknown>; msg: string }> = [];
  const logger = silentLogger('test');
  logger.warn = ((fields: Record<string, unknown>, msg: string) => { lines.push({ fields, msg }); }) as typeof logger.warn;
  return { logger, lines };
}

describe('LimitedLog', () => {
  it('writes each kind at most `burst` times per window; the next window\'s first line says how many were left out', () => {
    const { logger, lines } = recorder();
    let now = 0;
    const log = new LimitedLog(logger, { burst: 2, intervalMs: 1000, now: () => now });
    for (let i = 0; i < 5; i++) log.warn('bad', { i }, 'bad input');
    log.warn('other', {}, 'other input');
    expect(lines.map((l) => [l.fields.kind, l.fields.i ?? null])).toEqual([['bad', 0], ['bad', 1], ['other', null]]);
    now = 999;
    log.warn('bad', { i: 5 }, 'bad input');
    expect(lines).toHaveLength(3);
    now = 1000;
    log.warn('bad', { i: 6 }, 'bad input');
    expect(lines.at(-1)).toEqual({ fields: { i: 6, kind: 'bad', suppressed: 4 }, msg: 'bad input' });
    log.warn('bad', { i: 7 }, 'bad input');
    expect(lines.at(-1)!.fields).toEqual({ i: 7, kind: 'bad' });
  });
});
