import type { HealthTarget } from '../../config/balancer-config.js';

export type HealthStatus = 'unknown' | 'up' | 'down';

/** A backend-health actor tells the balancer when its backend's status changes. */
export interface HealthStatusEvent {
  readonly type: 'health.status';
  readonly id: string;
  readonly status: 'up' | 'down';
  /** The failed check's reason while down. */
  readonly error: string | undefined;
  readonly checks: number;
  readonly failures: number;
}

export interface BackendHealthInput {
  /** The health id the balancer knows this backend's checks by. */
  readonly id: string;
  readonly target: HealthTarget;
  /** Between the end of one check and the start of the next (the backend's `heartbeat`). */
  readonly intervalMs: number;
  /** A check that takes longer fails. */
  readonly timeoutMs: number;
  /** systemId of the balancer machine that receives `health.status`. */
  readonly owner: string;
}
