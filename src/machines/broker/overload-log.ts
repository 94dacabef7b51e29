import type { Logger } from '../../log.js';
import type { BrokerDropReason } from './broker-types.js';

/** Drops that turn away a request the broker could otherwise have served. */
const REFUSALS: ReadonlySet<BrokerDropReason> = new Set<BrokerDropReason>(['queue_full', 'queue_memory_full', 'too_many_clients', 'too_many_services']);

/**
 * Overload told as episodes, never per message and never silently: when the
 * broker starts refusing requests, or stops reading its clients to push back
 * on them, it logs that with the reason; when it stops, it logs how many were
 * refused, of which kind, and for how long. An MDP client cannot be told it
 * was refused, so this log is where its operator finds out.
 */
export class OverloadLog {
  private refusing: { since: number; last: number; counts: Map<string, number> } | undefined;
  private pushingBackSince: number | undefined;

  constructor(private readonly log: Logger) {}

  /** Called for every drop; only refusals count. */
  dropped(reason: BrokerDropReason, now: number, queuedBytes: number): void {
    if (!REFUSALS.has(reason)) return;
    if (this.refusing === undefined) {
      this.refusing = { since: now, last: now, counts: new Map() };
      this.log.warn({ reason, queuedBytes }, 'broker refusing requests');
    }
    this.refusing.last = now;
    this.refusing.counts.set(reason, (this.refusing.counts.get(reason) ?? 0) + 1);
  }

  /** On each heartbeat tick: an episode with no refusal since `quietSince` is over. */
  tick(now: number, quietSince: number, queuedBytes: number): void {
    const r = this.refusing;
    if (r === undefined || r.last >= quietSince) return;
    this.refusing = undefined;
    let refused = 0;
    for (const n of r.counts.values()) refused += n;
    this.log.warn({ refused, byReason: Object.fromEntries(r.counts), forMs: r.last - r.since, queuedBytes }, 'broker stopped refusing requests');
  }

  /** The frontend stopped (true) or resumed (false) reading client requests. */
  pushBack(on: boolean, now: number, queuedBytes: number): void {
    if (on && this.pushingBackSince === undefined) {
      this.pushingBackSince = now;
      this.log.warn({ queuedBytes }, 'queues past three quarters of --max-queue-bytes: not reading clients until they drain (back-pressure)');
    } else if (!on && this.pushingBackSince !== undefined) {
      this.log.warn({ queuedBytes, forMs: now - this.pushingBackSince }, 'queues drained below half: reading clients again');
      this.pushingBackSince = undefined;
    }
  }
}
