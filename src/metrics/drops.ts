import type { Logger } from '../log.js';
import { LogLimiter } from './log-limiter.js';
import type { Metrics } from './metrics.js';

/**
 * Counts refused messages by reason and logs them without flooding: the first
 * drop of a reason is logged at once, later ones are summed and logged at most
 * once per interval. A hostile peer can then not turn the log into the DoS.
 */
export class DropCounter {
  private readonly limiter: LogLimiter;

  constructor(
    private readonly socket: string,
    private readonly metrics: Metrics | undefined,
    private readonly log: Logger,
    intervalMs = 10_000,
    now: () => number = Date.now,
  ) {
    this.limiter = new LogLimiter({ intervalMs, now });
  }

  drop(reason: string, detail?: string): void {
    this.metrics?.dropped.inc({ socket: this.socket, reason });
    const held = this.limiter.admit(reason);
    if (held) this.log.warn({ socket: this.socket, reason, detail, suppressed: held.suppressed }, 'message dropped');
  }
}
