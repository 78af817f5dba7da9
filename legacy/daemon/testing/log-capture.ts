import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../common/log.ts';

/** A pino logger whose lines are kept as parsed objects, for tests that assert on a log line. */
export function captureLog(component = 'test', level: 'debug' | 'info' | 'warn' = 'warn'): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger({ component, level, destination }) };
}
