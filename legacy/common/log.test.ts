import { afterEach, describe, expect, it, vi } from 'vitest';
import { Writable } from 'node:stream';
import { createLogger, deferredLogger, type Logger, type LogOptions } from './log.ts';

/** A destination that keeps the JSON lines, without what differs between two loggers (time, pid, host). */
function sink(): { stream: Writable; lines: () => unknown[] } {
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      raw.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  const lines = () => raw.map((l) => {
    const { time: _t, pid: _p, hostname: _h, ...rest } = JSON.parse(l) as Record<string, unknown>;
    if (rest.err) delete (rest.err as { stack?: string }).stack; // differs by call site
    return rest;
  });
  return { stream, lines };
}

/** The calls the legacy client makes, at every level, on the logger and a child. */
function exercise(log: Logger): void {
  log.trace('t');
  log.debug({ a: 1 }, 'd');
  log.info('connected to ctdbd');
  log.warn({ opcode: 7, destnode: 0 }, 'control timed out');
  log.error(new Error('boom'), 'failed');
  const child = log.child({ node: 1, socket: '/s' });
  child.info('i');
  child.warn('w');
  child.child({ x: 2 }).error('e');
}

function sameLines(opts: Omit<LogOptions, 'destination'>): { eager: unknown[]; deferred: unknown[] } {
  const a = sink();
  const b = sink();
  exercise(createLogger({ ...opts, destination: a.stream }));
  exercise(deferredLogger({ ...opts, destination: b.stream }));
  return { eager: a.lines(), deferred: b.lines() };
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('deferredLogger', () => {
  it('writes what createLogger writes at the default level (warn)', () => {
    vi.stubEnv('CTDB_BRIDGE_LOG_LEVEL', undefined);
    const { eager, deferred } = sameLines({ component: 'cli' });
    expect(eager).toHaveLength(4);
    expect(deferred).toEqual(eager);
  });

  it('follows CTDB_BRIDGE_LOG_LEVEL and the level option like createLogger', () => {
    vi.stubEnv('CTDB_BRIDGE_LOG_LEVEL', 'trace');
    const env = sameLines({ component: 'cli', node: 3 });
    expect(env.eager).toHaveLength(8);
    expect(env.deferred).toEqual(env.eager);
    const opt = sameLines({ component: 'cli', level: 'info' });
    expect(opt.eager).toHaveLength(6);
    expect(opt.deferred).toEqual(opt.eager);
    const silent = sameLines({ component: 'cli', level: 'silent' });
    expect(silent.deferred).toEqual([]);
  });

  it('answers level and isLevelEnabled without creating pino', () => {
    const log = deferredLogger({ component: 'cli', level: 'warn' });
    expect(log.level).toBe('warn');
    expect(log.isLevelEnabled('info')).toBe(false);
    expect(log.isLevelEnabled('error')).toBe(true);
    expect(log.child({ node: 1 }).isLevelEnabled('warn')).toBe(true);
  });

  it('refuses a level pino refuses, at once, as createLogger does', () => {
    vi.stubEnv('CTDB_BRIDGE_LOG_LEVEL', 'loud');
    expect(() => createLogger({ component: 'cli' })).toThrow();
    expect(() => deferredLogger({ component: 'cli' })).toThrow();
  });
});
