import { assign, enqueueActions, fromPromise, setup, type DoneActorEvent, type ErrorActorEvent } from 'xstate';
import type { HealthTarget } from '../../config/balancer-config.js';
import type { BackendHealthInput, HealthStatusEvent } from './events.js';

/** What one check found (the shape the probes in actors/health return). */
export type HealthCheckResult = { readonly ok: true; readonly detail?: string } | { readonly ok: false; readonly error: string };

export interface HealthCheckInput {
  readonly target: HealthTarget;
  readonly timeoutMs: number;
}

export interface BackendHealthContext extends BackendHealthInput {
  checks: number;
  failures: number;
  /** Consecutive failed checks (0 while up). */
  streak: number;
  lastError: string | undefined;
  lastDetail: string | undefined;
}

type CheckDone = DoneActorEvent<HealthCheckResult, 'check'>;
type CheckFailed = ErrorActorEvent<unknown, 'check'>;

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The state that runs one check; it is the same in every status but for
 * where it goes next: to `passed` when the check answers ok, to `failed`
 * when it answers not ok, crashes or outlasts `timeoutMs`. Targets are
 * siblings (`waiting`) or absolute (`#backendHealth.up`).
 */
function checking(passed: string, failed: string) {
  return {
    invoke: {
      src: 'check',
      id: 'check',
      input: ({ context }: { context: BackendHealthContext }): HealthCheckInput => ({ target: context.target, timeoutMs: context.timeoutMs }),
      onDone: [
        { guard: 'passed', target: passed, actions: 'recordResult' },
        { target: failed, actions: 'recordResult' },
      ],
      onError: { target: failed, actions: 'recordError' },
    },
    after: { checkTimeout: { target: failed, actions: 'recordTimeout' } },
  } as const;
}

/**
 * The health of one backend: unknown until the first check answers, then up
 * or down, checked again `intervalMs` after each check ends (so a slow
 * server is never checked twice at once). The balancer hears of each change
 * of status, not of each check. The check itself is the `check` actor,
 * provided by the tree (the real probes live in actors/health); stopping it
 * on timeout aborts it and frees its connection. Delays run on the actor
 * system's clock, so tests drive this with SimulatedClock.
 */
export const backendHealth = setup({
  types: {
    input: {} as BackendHealthInput,
    context: {} as BackendHealthContext,
    emitted: {} as HealthStatusEvent,
  },
  actors: {
    // Replaced by the tree with `provide`; a machine without a real check never judges a backend up.
    check: fromPromise<HealthCheckResult, HealthCheckInput>(async () => ({ ok: false, error: 'no health check provided' })),
  },
  delays: {
    interval: ({ context }) => context.intervalMs,
    checkTimeout: ({ context }) => context.timeoutMs,
  },
  guards: {
    passed: ({ event }) => (event as CheckDone).output?.ok === true,
  },
  actions: {
    recordResult: assign(({ context, event }) => {
      const result = (event as CheckDone).output;
      if (result.ok) return { checks: context.checks + 1, streak: 0, lastError: undefined, lastDetail: result.detail };
      return { checks: context.checks + 1, failures: context.failures + 1, streak: context.streak + 1, lastError: result.error };
    }),
    recordError: assign(({ context, event }) => ({
      checks: context.checks + 1,
      failures: context.failures + 1,
      streak: context.streak + 1,
      lastError: `health check crashed: ${describe((event as CheckFailed).error)}`,
    })),
    recordTimeout: assign(({ context }) => ({
      checks: context.checks + 1,
      failures: context.failures + 1,
      streak: context.streak + 1,
      lastError: `health check timed out after ${context.timeoutMs} ms`,
    })),
    report: enqueueActions(({ context, system, enqueue }, status: 'up' | 'down') => {
      const event: HealthStatusEvent = {
        type: 'health.status',
        id: context.id,
        status,
        error: status === 'down' ? context.lastError : undefined,
        checks: context.checks,
        failures: context.failures,
      };
      // The balancer may be restarting; it then restarts this actor too and hears afresh.
      const owner = system.get(context.owner);
      if (owner) enqueue.sendTo(owner, event);
      enqueue.emit(event);
    }),
  },
}).createMachine({
  id: 'backendHealth',
  context: ({ input }) => ({ ...input, checks: 0, failures: 0, streak: 0, lastError: undefined, lastDetail: undefined }),
  initial: 'unknown',
  states: {
    unknown: {
      initial: 'checking',
      states: {
        checking: checking('#backendHealth.up', '#backendHealth.down'),
      },
    },
    up: {
      entry: { type: 'report', params: 'up' },
      initial: 'waiting',
      states: {
        waiting: { after: { interval: 'checking' } },
        checking: checking('waiting', '#backendHealth.down'),
      },
    },
    down: {
      entry: { type: 'report', params: 'down' },
      initial: 'waiting',
      states: {
        waiting: { after: { interval: 'checking' } },
        checking: checking('#backendHealth.up', 'waiting'),
      },
    },
  },
});

export type BackendHealthLogic = typeof backendHealth;
