/** What a log line should report: the events held back since the last one. */
export interface HeldBack {
  /** Events of this key that fell within the interval since its last line. */
  readonly suppressed: number;
  /** Events of any key refused a line by `maxLinesPerInterval` since the last line written. */
  readonly unlogged: number;
}

export interface LogLimiterOptions {
  readonly intervalMs?: number;
  readonly now?: () => number;
  /** Distinct keys remembered; when full, a new key clears them, so a flood of fresh keys cannot grow the memory. */
  readonly maxKeys?: number;
  /** Lines per interval across all keys; beyond it events are only counted, and summed into the next line. */
  readonly maxLinesPerInterval?: number;
}

/**
 * Decides which of a stream of events get a log line, so a hostile peer
 * cannot turn the log into the DoS: the first event of a key gets a line at
 * once, later ones within `intervalMs` are only counted and reported on the
 * key's next line. The caller counts every event in its metrics and writes
 * the line itself (it knows its fields); see DropCounter and RefusalLog.
 */
export class LogLimiter {
  private readonly lastLogged = new Map<string, { at: number; suppressed: number }>();
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly maxKeys: number;
  private readonly maxLinesPerInterval: number;
  private windowStart = 0;
  private linesInWindow = 0;
  private unlogged = 0;

  constructor(options: LogLimiterOptions = {}) {
    this.intervalMs = options.intervalMs ?? 10_000;
    this.now = options.now ?? Date.now;
    this.maxKeys = options.maxKeys ?? Infinity;
    this.maxLinesPerInterval = options.maxLinesPerInterval ?? Infinity;
  }

  /** Call once per event; a result means "write a line now, with these counts", undefined means stay silent. */
  admit(key: string): HeldBack | undefined {
    const t = this.now();
    const seen = this.lastLogged.get(key);
    if (seen && t - seen.at < this.intervalMs) {
      seen.suppressed += 1;
      return undefined;
    }
    if (t - this.windowStart >= this.intervalMs) {
      this.windowStart = t;
      this.linesInWindow = 0;
    }
    if (this.linesInWindow >= this.maxLinesPerInterval) {
      this.unlogged += 1;
      return undefined;
    }
    this.linesInWindow += 1;
    if (!seen && this.lastLogged.size >= this.maxKeys) this.lastLogged.clear();
    this.lastLogged.set(key, { at: t, suppressed: 0 });
    const unlogged = this.unlogged;
    this.unlogged = 0;
    return { suppressed: seen?.suppressed ?? 0, unlogged };
  }
}
