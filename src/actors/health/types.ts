import type { HealthTarget } from '../../config/balancer-config.js';
import type { HealthCheckResult } from '../../machines/balancer/backend-health.machine.js';

/** What one health check found. A probe never throws: every failure is a result with a reason. */
export type CheckResult = HealthCheckResult;

/**
 * One health check against one server. `signal` aborts it (timeout, or the
 * health actor stopped): the probe must then release its connection at once.
 */
export type Probe<K extends HealthTarget['kind']> = (
  target: Extract<HealthTarget, { kind: K }>,
  signal: AbortSignal,
) => Promise<CheckResult>;

export const ok = (detail?: string): CheckResult => (detail === undefined ? { ok: true } : { ok: true, detail });
export const failed = (error: string): CheckResult => ({ ok: false, error });

export function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') return 'timed out';
  if (reason instanceof Error) return reason.message;
  return typeof reason === 'string' ? reason : 'aborted';
}

export function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

/**
 * Settles a probe exactly once and runs its cleanup exactly once, whichever
 * comes first: the answer, an error, or the abort signal.
 */
export function settleOnce(signal: AbortSignal, where: string, cleanup: () => void): {
  promise: Promise<CheckResult>;
  settle: (result: CheckResult) => void;
} {
  let resolve!: (r: CheckResult) => void;
  const promise = new Promise<CheckResult>((r) => {
    resolve = r;
  });
  let done = false;
  const onAbort = () => settle(failed(`${where}: ${abortReason(signal)}`));
  const settle = (result: CheckResult) => {
    if (done) return;
    done = true;
    signal.removeEventListener('abort', onAbort);
    try {
      cleanup();
    } finally {
      resolve(result);
    }
  };
  if (signal.aborted) queueMicrotask(onAbort);
  else signal.addEventListener('abort', onAbort, { once: true });
  return { promise, settle };
}
