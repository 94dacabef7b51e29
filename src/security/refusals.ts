import type { Counter } from 'prom-client';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/registry.js';

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
 * Counts every refusal and logs it without flooding, like DropCounter: the
 * first refusal of a peer (reason and key) is logged at once, repeats within
 * the interval are summed into its next line, and a flood of different keys
 * is capped per interval. A refused client reconnecting in a loop, or one
 * trying many keys, can then not turn the log into the attack.
 */
export class RefusalLog {
  private readonly counter: Counter<'server' | 'reason'> | undefined;
  private readonly lastLogged = new Map<string, { at: number; suppressed: number }>();
  private windowStart = 0;
  private linesInWindow = 0;
  private unlogged = 0;

  constructor(
    private readonly server: string,
    metrics: Metrics | undefined,
    private readonly log: Logger,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {
    this.counter = metrics ? authRefusedCounter(metrics) : undefined;
  }

  refused(reason: RefusalReason, detail: RefusalDetail): void {
    this.counter?.inc({ server: this.server, reason });
    const t = this.now();
    const peer = `${reason}|${detail.key ?? ''}|${detail.address ?? detail.endpoint ?? ''}`;
    const seen = this.lastLogged.get(peer);
    if (seen && t - seen.at < this.intervalMs) {
      seen.suppressed += 1;
      return;
    }
    if (t - this.windowStart >= this.intervalMs) {
      this.windowStart = t;
      this.linesInWindow = 0;
    }
    if (this.linesInWindow >= MAX_LINES_PER_INTERVAL) {
      this.unlogged += 1;
      return;
    }
    this.linesInWindow += 1;
    if (!seen && this.lastLogged.size >= MAX_TRACKED) this.lastLogged.clear();
    this.lastLogged.set(peer, { at: t, suppressed: 0 });
    const others = this.unlogged;
    this.unlogged = 0;
    this.log.warn(
      {
        server: this.server,
        reason,
        ...detail,
        ...(seen && seen.suppressed > 0 ? { suppressed: seen.suppressed } : {}),
        ...(others > 0 ? { unloggedRefusals: others } : {}),
      },
      reason === 'handshake' ? 'handshake refused' : 'peer refused',
    );
  }
}
