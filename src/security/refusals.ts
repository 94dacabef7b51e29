import type { Counter } from 'prom-client';
import type { Logger } from '../log.js';
import { LogLimiter } from '../metrics/log-limiter.js';
import type { Metrics } from '../metrics/metrics.js';

export const AUTH_REFUSED_METRIC = 'steward_auth_refused_total';

/** Why a peer was kept out: a ZAP refusal reason, or a handshake that failed before ZAP was asked. */
export type RefusalReason = 'unknown_key' | 'mechanism' | 'no_policy' | 'malformed' | 'handshake';

export interface RefusalDetail {
  /** The peer's IP address (ZAP), or the server's endpoint (handshake failures name no peer). */
  readonly address?: string;
  readonly key?: string | undefined;
  readonly mechanism?: string;
  readonly endpoint?: string;
  readonly error?: string;
}

export function authRefusedCounter(metrics: Metrics): Counter<'server' | 'reason'> {
  return metrics.counter(AUTH_REFUSED_METRIC, 'Peers refused at the handshake (CURVE and ZAP), by server and reason', ['server', 'reason']);
}

/** Distinct peers remembered for rate limiting; a peer cycling through fresh keys cannot grow it further. */
const MAX_TRACKED = 1_000;
/** Log lines per interval across all peers; beyond it refusals are only counted, and summed in the next line. */
const MAX_LINES_PER_INTERVAL = 20;

/**
 * Counts every refusal and logs it without flooding, with the LogLimiter
 * DropCounter uses: the first refusal of a peer (reason and key) is logged at
 * once, repeats within the interval are summed into its next line, and a
 * flood of different keys is capped per interval. A refused client reconnecting in a loop, or one
 * trying many keys, can then not turn the log into the attack.
 */
export class RefusalLog {
  private readonly counter: Counter<'server' | 'reason'> | undefined;
  private readonly limiter: LogLimiter;

  constructor(
    private readonly server: string,
    metrics: Metrics | undefined,
    private readonly log: Logger,
    intervalMs = 10_000,
    now: () => number = Date.now,
  ) {
    this.counter = metrics ? authRefusedCounter(metrics) : undefined;
    this.limiter = new LogLimiter({ intervalMs, now, maxKeys: MAX_TRACKED, maxLinesPerInterval: MAX_LINES_PER_INTERVAL });
  }

  refused(reason: RefusalReason, detail: RefusalDetail): void {
    this.counter?.inc({ server: this.server, reason });
    const held = this.limiter.admit(`${reason}|${detail.key ?? ''}|${detail.address ?? detail.endpoint ?? ''}`);
    if (!held) return;
    this.log.warn(
      {
        server: this.server,
        reason,
        ...detail,
        ...(held.suppressed > 0 ? { suppressed: held.suppressed } : {}),
        ...(held.unlogged > 0 ? { unloggedRefusals: held.unlogged } : {}),
      },
      reason === 'handshake' ? 'handshake refused' : 'peer refused',
    );
  }
}
