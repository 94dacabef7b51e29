import type { Logger } from '../log.js';
import type { Metrics } from './registry.js';

/**
 * Counts refused messages by reason and logs them without flooding: the first
 * drop of a reason is logged at once, later ones are summed and logged at most
 * once per interval. A hostile peer can then not turn the log into the DoS.
 */
export class DropCounter {
  private readonly lastLogged = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly socket: string,
    private readonly metrics: Metrics | undefined,
    private readonly log: Logger,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  drop(reason: string, detail?: string): void {
    this.metrics?.dropped.inc({ socket: this.socket, reason });
    const t = this.now();
    const seen = this.lastLogged.get(reason);
    if (seen && t - seen.at < this.intervalMs) {
      seen.suppressed += 1;
      return;
    }
    const suppressed = seen?.suppressed ?? 0;
    this.lastLogged.set(reason, { at: t, suppressed: 0 });
    this.log.warn({ socket: this.socket, reason, detail, suppressed }, 'message dropped');
  }
}
