import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

export interface CapturedLog {
  readonly msg: string;
  readonly [key: string]: unknown;
}

/** A pino logger whose JSON lines are kept in memory, for tests that check what a server logged. */
export function captureLogs(level: 'debug' | 'info' | 'warn' = 'info'): { logger: Logger; lines: CapturedLog[] } {
  const lines: CapturedLog[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) {
        if (line.trim() === '') continue;
        try {
          lines.push(JSON.parse(line) as CapturedLog);
        } catch {
          // not JSON: ignore
        }
      }
      done();
    },
  });
  return { logger: pino({ level }, stream), lines };
}
