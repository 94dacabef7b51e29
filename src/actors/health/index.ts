import { fromPromise } from 'xstate';
import type { HealthCheckInput } from '../../machines/balancer/backend-health.machine.js';
import { baseProbe } from './base.js';
import { httpProbe } from './http.js';
import { mysqlProbe } from './mysql.js';
import { redisProbe } from './redis.js';
import { tcpProbe } from './tcp.js';
import { errorText, failed, type CheckResult } from './types.js';

export type { CheckResult, Probe } from './types.js';

/** The target to check and the upper bound of one check; the connection is dropped when it passes. */
export type CheckInput = HealthCheckInput;

/** Runs the check for a target's kind, bounded by `timeoutMs` and `signal`. Never rejects. */
export async function runCheck(input: CheckInput, signal?: AbortSignal): Promise<CheckResult> {
  const timeout = AbortSignal.timeout(input.timeoutMs);
  const bound = signal ? AbortSignal.any([signal, timeout]) : timeout;
  const { target } = input;
  try {
    switch (target.kind) {
      case 'Base':
        return await baseProbe(target, bound);
      case 'Tcp':
        return await tcpProbe(target, bound);
      case 'Http':
        return await httpProbe(target, bound);
      case 'MySQL':
        return await mysqlProbe(target, bound);
      case 'Redis':
        return await redisProbe(target, bound);
    }
  } catch (error) {
    // A probe must not throw; if one does, the backend is down with that reason, and nothing else happens.
    return failed(errorText(error));
  }
}

/** The check as an actor, for the backend-health machine to invoke: stopping it aborts the check. */
export const healthCheck = fromPromise<CheckResult, CheckInput>(({ input, signal }) => runCheck(input, signal));
