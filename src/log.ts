import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Human-readable lines instead of JSON; defaults to "stdout is a terminal". */
  pretty?: boolean;
  name?: string;
}

/**
 * One root logger per process. JSON to stdout so log shippers get structure;
 * pretty only for a person at a terminal (pino-pretty runs in pino's worker
 * thread, so formatting never blocks the event loop).
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? (process.env['STEWARD_LOG_LEVEL'] as LevelWithSilent | undefined) ?? 'info';
  const pretty = options.pretty ?? (process.stdout.isTTY === true && process.env['STEWARD_LOG_FORMAT'] !== 'json');
  const base = { name: options.name ?? 'steward' };
  if (pretty) {
    return pino({
      level,
      base,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } },
    });
  }
  return pino({ level, base });
}

/** A logger that writes nothing: the default for library objects nobody asked to log. */
export const silentLogger: Logger = pino({ level: 'silent' });
