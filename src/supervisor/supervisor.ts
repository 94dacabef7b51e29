/**
 * An OTP-style supervisor as an XState machine (after `supervisor.erl`).
 *
 * Start: the static children are spawned in order; each has a start phase
 * (`ChildSpec.start`, see `StartMode`) that ends when it is spawned or when
 * it reports `supervisor.$started` (a socket once bound, a nested supervisor
 * once all its own children started). The supervisor is `starting` until
 * every child started, then `running`, and reports its own start to its
 * parent. A child that fails before its start phase ended fails the
 * supervisor's start, as a child whose `start_link` returns an error does in
 * OTP: no restart (a taken port or a bad endpoint does not heal by retrying),
 * the children already started are stopped in reverse order, and the
 * supervisor ends with `{ exit: 'failed', startFailure }` naming the child
 * and carrying its error, which each parent passes up unchanged. They are
 * stopped at once, not drained: a tree that never started has promised
 * nothing to anyone, and a socket draining a READY to a broker that is not
 * there would hold the exit for its whole linger.
 *
 * Running: a child that exits is restarted according to its `restart` type
 * and the `strategy` (one_for_one, one_for_all, rest_for_one), after a
 * backoff; more than `intensity` restarts within `period` ms and the
 * supervisor gives up: it stops its children in reverse start order and ends
 * with `{ exit: 'failed', reason }`, so its parent decides. A restart is
 * for a crash after a successful start; a restarted child that fails again
 * counts against the same intensity.
 *
 * Stopping (`lifecycle.shutdown`, giving up, a failed start): children stop
 * in reverse start order, each told `lifecycle.shutdown` and given its
 * `shutdown` ms to end, or stopped at once (`brutal_kill`).
 */
import { assign, enqueueActions, setup, type AnyActorRef } from 'xstate';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { backoffDelay, recordRestart } from './intensity.js';
import { reportsStart, startedEvent, startModeOf } from './start-report.js';
import type {
  Backoff,
  ChildSpec,
  ChildState,
  ExitReason,
  RestartType,
  StartFailure,
  StopCause,
  Strategy,
  SupervisorEvent,
  SupervisorOutput,
  SupervisorReport,
} from './types.js';

export interface SupervisorOptions {
  /** Names the supervisor in logs, reports and the inspector. */
  readonly name: string;
  readonly strategy?: Strategy;
  /** More than `intensity` restarts within `period` ms and the supervisor gives up. */
  readonly intensity?: number;
  readonly period?: number;
  readonly backoff?: Backoff;
  /** Static children, started in this order and stopped in reverse. */
  readonly children?: readonly ChildSpec[];
  /**
   * Sharding: `supervisor.startChild` / `terminateChild` for a child id are
   * forwarded to the static child this returns, so per-connection sessions
   * spread over several dynamic supervisors (spawning under one parent is
   * quadratic in XState).
   */
  readonly route?: (childId: string) => string;
  readonly logger?: Logger;
  /** Wall clock for restart intensity; delays use the actor system's clock. */
  readonly now?: () => number;
}

type ChildExitEvent =
  | { type: `xstate.error.actor.${string}`; error: unknown; actorId?: string }
  | { type: `xstate.done.actor.${string}`; output: unknown; actorId?: string };

type Event = SupervisorEvent | ChildExitEvent | { type: 'supervisor.$giveUp'; reason: string };

export interface SupervisorContext {
  readonly name: string;
  readonly strategy: Strategy;
  readonly intensity: number;
  readonly period: number;
  readonly backoff: Backoff;
  /** Child ids in start order; the map holds their state. Mutated in place: copying per spawn is what makes big trees slow. */
  order: string[];
  /** The static children's ids: only they take part in the supervisor's own start. */
  readonly statics: ReadonlySet<string>;
  children: Map<string, ChildState>;
  history: number[];
  pending: Set<string>;
  generation: number;
  stopQueue: string[];
  output: SupervisorOutput;
}

const ERROR_PREFIX = 'xstate.error.actor.';
const DONE_PREFIX = 'xstate.done.actor.';
const DEFAULT_SUPERVISOR_SHUTDOWN = 30_000;

function exitedChildId(event: ChildExitEvent): string {
  if (event.actorId !== undefined) return event.actorId;
  return event.type.startsWith(ERROR_PREFIX) ? event.type.slice(ERROR_PREFIX.length) : event.type.slice(DONE_PREFIX.length);
}

export function exitReasonOf(event: ChildExitEvent): ExitReason {
  if (event.type.startsWith(ERROR_PREFIX)) return { kind: 'error', error: (event as { error: unknown }).error };
  const output = (event as { output: unknown }).output;
  if (isFailedOutput(output)) {
    return { kind: 'failed', reason: output.reason, ...(output.startFailure ? { startFailure: output.startFailure } : {}) };
  }
  return { kind: 'normal', output };
}

function isFailedOutput(output: unknown): output is { exit: 'failed'; reason: string; startFailure?: StartFailure } {
  return typeof output === 'object' && output !== null && (output as { exit?: unknown }).exit === 'failed';
}

/** How child `id` failed its start, as its supervisor reports it: a nested supervisor's own failure is passed up with its path. */
export function startFailureOf(id: string, reason: ExitReason): StartFailure {
  if (reason.kind === 'failed') {
    return reason.startFailure ? { child: `${id}/${reason.startFailure.child}`, error: reason.startFailure.error } : { child: id, error: new Error(reason.reason) };
  }
  return { child: id, error: reason.kind === 'error' ? reason.error : new Error('ended before it started') };
}

export function shouldRestart(restart: RestartType, reason: ExitReason): boolean {
  if (restart === 'permanent') return true;
  if (restart === 'transient') return reason.kind !== 'normal';
  return false;
}

/** Which children a strategy takes down with the one that exited, in start order. */
export function affectedChildren(strategy: Strategy, order: readonly string[], id: string): string[] {
  if (strategy === 'one_for_one') return [id];
  if (strategy === 'one_for_all') return [...order];
  const at = order.indexOf(id);
  return at < 0 ? [id] : order.slice(at);
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

export function supervisor(options: SupervisorOptions) {
  const log = (options.logger ?? silentLogger).child({ supervisor: options.name });
  const now = options.now ?? Date.now;
  const route = options.route;

  const spawnAction = (ctx: SupervisorContext, id: string, enqueue: { spawnChild: (...args: never[]) => void }) => {
    const child = ctx.children.get(id);
    if (!child) return;
    const spec = child.spec;
    child.running = true;
    child.started = startModeOf(spec) === 'spawned';
    (enqueue.spawnChild as unknown as (logic: unknown, opts: object) => void)(spec.logic, {
      id: spec.id,
      input: spec.input,
      ...(spec.systemId !== undefined ? { systemId: spec.systemId } : {}),
    });
  };

  /** Reports a child this supervisor stopped while it ran; every deliberate stop goes through here. */
  const stopped = (
    ctx: SupervisorContext,
    id: string,
    cause: StopCause,
    reason: string | undefined,
    enqueue: { emit: (report: SupervisorReport) => void },
  ) => {
    log.debug({ child: id, cause, ...(reason !== undefined ? { reason } : {}) }, 'child stopped');
    enqueue.emit({ type: 'supervisor.childStopped', supervisor: ctx.name, id, cause, ...(reason !== undefined ? { reason } : {}) });
  };

  // What a supervisor does alike while it starts and once it runs.
  const live = {
    'supervisor.$started': { actions: 'markStarted' },
    'supervisor.$restart': { guard: 'isCurrentGeneration', actions: 'restartPending' },
    'supervisor.startChild': [{ guard: 'routed', actions: 'forward' }, { actions: 'startDynamicChild' }],
    'supervisor.terminateChild': [{ guard: 'routed', actions: 'forward' }, { actions: 'terminateChild' }],
    'lifecycle.shutdown': { target: 'stopping' },
    'supervisor.$giveUp': { target: 'stopping', actions: 'markFailed' },
  } as const;

  const logic = setup({
    types: {
      context: {} as SupervisorContext,
      events: {} as Event,
      output: {} as SupervisorOutput,
      emitted: {} as SupervisorReport,
    },
    delays: {
      shutdownTimeout: ({ context }) => {
        const head = context.stopQueue[0];
        const spec = head !== undefined ? context.children.get(head)?.spec : undefined;
        return typeof spec?.shutdown === 'number' ? spec.shutdown : 0;
      },
    },
    guards: {
      queueEmpty: ({ context }) => context.stopQueue.length === 0,
      headIsBrutal: ({ context }) => {
        const head = context.stopQueue[0];
        if (head === undefined) return false;
        if (context.output.exit === 'failed' && context.output.startFailure !== undefined) return true;
        const child = context.children.get(head);
        return child === undefined || !child.running || typeof child.spec.shutdown !== 'number';
      },
      exitIsHead: ({ context, event }) =>
        (event.type.startsWith(ERROR_PREFIX) || event.type.startsWith(DONE_PREFIX)) &&
        exitedChildId(event as ChildExitEvent) === context.stopQueue[0],
      isCurrentGeneration: ({ context, event }) =>
        event.type === 'supervisor.$restart' && event.generation === context.generation,
      routed: () => route !== undefined,
      allStarted: ({ context }) => {
        for (const id of context.order) {
          if (context.statics.has(id) && context.children.get(id)?.started !== true) return false;
        }
        return true;
      },
      /**
       * A static child that fails before its start phase ended fails the supervisor's start (see the
       * module doc). A dynamic one only fails its own start, as OTP's start_child returns an error.
       */
      failedBeforeStarted: ({ context, event }) => {
        if (!event.type.startsWith(ERROR_PREFIX) && !event.type.startsWith(DONE_PREFIX)) return false;
        const exit = event as ChildExitEvent;
        const id = exitedChildId(exit);
        const child = context.children.get(id);
        return child !== undefined && context.statics.has(id) && child.running && !child.started && exitReasonOf(exit).kind !== 'normal';
      },
    },
    actions: {
      startAll: enqueueActions(({ context, enqueue }) => {
        for (const id of context.order) {
          spawnAction(context, id, enqueue as never);
          enqueue.emit({ type: 'supervisor.childStarted', supervisor: context.name, id, restarts: 0 });
        }
      }),
      forward: enqueueActions(({ event, enqueue }) => {
        if (!route) return;
        if (event.type === 'supervisor.startChild') enqueue.sendTo(route(event.spec.id), event);
        else if (event.type === 'supervisor.terminateChild') enqueue.sendTo(route(event.id), event);
      }),
      startDynamicChild: enqueueActions(({ context, event, enqueue, self }) => {
        if (event.type !== 'supervisor.startChild') return;
        const { spec } = event;
        if (context.children.has(spec.id) || self.getSnapshot().children[spec.id] !== undefined) {
          log.warn({ child: spec.id }, 'a child with this id already runs; start ignored');
          return;
        }
        context.children.set(spec.id, { spec: withDefaults(spec), running: false, started: false, restarts: 0 });
        context.order.push(spec.id);
        spawnAction(context, spec.id, enqueue as never);
        enqueue.emit({ type: 'supervisor.childStarted', supervisor: context.name, id: spec.id, restarts: 0 });
      }),
      terminateChild: enqueueActions(({ context, event, enqueue, self }) => {
        if (event.type !== 'supervisor.terminateChild') return;
        const { id } = event;
        if (self.getSnapshot().children[id] !== undefined) {
          enqueue.stopChild(id);
          stopped(context, id, 'terminated', event.reason, enqueue);
        }
        context.children.delete(id);
        context.pending.delete(id);
        const at = context.order.indexOf(id);
        if (at >= 0) context.order.splice(at, 1);
      }),
      childExited: enqueueActions(({ context, event, enqueue, self }) => {
        const exit = event as ChildExitEvent;
        const id = exitedChildId(exit);
        const child = context.children.get(id);
        if (!child) return;
        const reason = exitReasonOf(exit);
        const restart = child.spec.restart ?? 'permanent';
        // The dead actor still sits in the snapshot's children until stopped.
        if (self.getSnapshot().children[id] !== undefined) enqueue.stopChild(id);
        child.running = false;
        const willRestart = shouldRestart(restart, reason);
        const level = reason.kind === 'normal' ? 'info' : 'warn';
        log[level](
          {
            child: id,
            reason: reason.kind,
            ...(reason.kind === 'error' ? { error: describeError(reason.error) } : {}),
            ...(reason.kind === 'failed' ? { cause: reason.reason } : {}),
            willRestart,
          },
          'child exited',
        );
        enqueue.emit({ type: 'supervisor.childExited', supervisor: context.name, id, reason, willRestart });
        if (!willRestart) {
          context.children.delete(id);
          context.pending.delete(id);
          const at = context.order.indexOf(id);
          if (at >= 0) context.order.splice(at, 1);
          return;
        }
        const recorded = recordRestart(context.history, now(), context.intensity, context.period);
        context.history = recorded.history;
        if (recorded.exceeded) {
          log.error(
            { child: id, restarts: recorded.history.length, period: context.period },
            'restart intensity exceeded; giving up',
          );
          enqueue.emit({
            type: 'supervisor.gaveUp',
            supervisor: context.name,
            id,
            restarts: recorded.history.length,
            period: context.period,
          });
          enqueue.raise({ type: 'supervisor.$giveUp', reason: `restart intensity exceeded by ${id}` });
          return;
        }
        const affected = affectedChildren(context.strategy, context.order, id);
        // Siblings go down in reverse start order, as OTP does, before anything restarts.
        for (const sibling of [...affected].reverse()) {
          const state = context.children.get(sibling);
          if (sibling !== id && state?.running) {
            enqueue.stopChild(sibling);
            state.running = false;
            stopped(context, sibling, 'sibling_exited', id, enqueue);
          }
        }
        for (const a of affected) context.pending.add(a);
        child.restarts += 1;
        context.generation += 1;
        const delay = backoffDelay(recorded.history.length, context.backoff.initial, context.backoff.max);
        enqueue.raise({ type: 'supervisor.$restart', ids: [...affected], generation: context.generation }, { delay });
      }),
      markStarted: enqueueActions(({ context, event }) => {
        if (event.type !== 'supervisor.$started') return;
        const child = context.children.get(event.id);
        if (child?.running) child.started = true;
      }),
      startFailed: enqueueActions(({ context, event, enqueue, self }) => {
        const exit = event as ChildExitEvent;
        const id = exitedChildId(exit);
        const failure = startFailureOf(id, exitReasonOf(exit));
        if (self.getSnapshot().children[id] !== undefined) enqueue.stopChild(id);
        const child = context.children.get(id);
        if (child) child.running = false;
        log.error({ child: failure.child, error: describeError(failure.error) }, 'child failed to start; the supervisor fails its own start');
        enqueue.emit({ type: 'supervisor.startFailed', supervisor: context.name, id, failure });
        context.output = { exit: 'failed', reason: `${failure.child} failed to start: ${describeError(failure.error)}`, startFailure: failure };
      }),
      announceStarted: enqueueActions(({ context, enqueue, self }) => {
        log.debug('started');
        enqueue.emit({ type: 'supervisor.started', supervisor: context.name });
        // `_parent` is not in the public types; a root supervisor has no one to tell.
        const parent = (self as unknown as { _parent?: AnyActorRef })._parent;
        if (parent) enqueue.sendTo(parent, startedEvent(self.id));
      }),
      restartPending: enqueueActions(({ context, enqueue }) => {
        for (const id of context.order) {
          if (!context.pending.has(id)) continue;
          spawnAction(context, id, enqueue as never);
          const restarts = context.children.get(id)?.restarts ?? 0;
          log.info({ child: id, restarts }, 'child restarted');
          enqueue.emit({ type: 'supervisor.childStarted', supervisor: context.name, id, restarts });
        }
        context.pending.clear();
      }),
      prepareStop: assign(({ context }) => ({
        stopQueue: [...context.order].reverse().filter((id) => context.children.get(id)?.running === true),
      })),
      askHeadToShutdown: enqueueActions(({ context, enqueue }) => {
        const head = context.stopQueue[0];
        if (head !== undefined) enqueue.sendTo(head, { type: 'lifecycle.shutdown' });
      }),
      stopHead: enqueueActions(({ context, enqueue, self }) => {
        const head = context.stopQueue[0];
        if (head === undefined) return;
        if (self.getSnapshot().children[head] !== undefined) {
          enqueue.stopChild(head);
          stopped(context, head, 'shutdown', undefined, enqueue);
        }
        const state = context.children.get(head);
        if (state) state.running = false;
      }),
      popHead: assign(({ context }) => ({ stopQueue: context.stopQueue.slice(1) })),
      markFailed: assign(({ event }) => ({
        output: { exit: 'failed', reason: event.type === 'supervisor.$giveUp' ? event.reason : 'failed' } as const,
      })),
      forgetExited: enqueueActions(({ context, event, enqueue, self }) => {
        const id = exitedChildId(event as ChildExitEvent);
        if (self.getSnapshot().children[id] !== undefined) enqueue.stopChild(id);
        const state = context.children.get(id);
        if (state) state.running = false;
        context.stopQueue = context.stopQueue.filter((q) => q !== id);
      }),
    },
  }).createMachine({
    // A fixed machine id: supervisor names contain dots, which '#id' targets cannot.
    id: 'supervisor',
    context: (): SupervisorContext => {
      const children = new Map<string, ChildState>();
      for (const spec of options.children ?? []) {
        if (children.has(spec.id)) throw new Error(`supervisor ${options.name}: duplicate child id "${spec.id}"`);
        children.set(spec.id, { spec: withDefaults(spec), running: false, started: false, restarts: 0 });
      }
      return {
        name: options.name,
        strategy: options.strategy ?? 'one_for_one',
        intensity: options.intensity ?? 3,
        period: options.period ?? 5_000,
        backoff: options.backoff ?? { initial: 50, max: 5_000 },
        order: [...children.keys()],
        statics: new Set(children.keys()),
        children,
        history: [],
        pending: new Set(),
        generation: 0,
        stopQueue: [],
        output: { exit: 'normal' },
      };
    },
    initial: 'starting',
    entry: 'startAll',
    states: {
      starting: {
        always: { guard: 'allStarted', target: 'running' },
        on: {
          'xstate.error.actor.*': [{ guard: 'failedBeforeStarted', target: 'stopping', actions: 'startFailed' }, { actions: 'childExited' }],
          'xstate.done.actor.*': [{ guard: 'failedBeforeStarted', target: 'stopping', actions: 'startFailed' }, { actions: 'childExited' }],
          ...live,
        },
      },
      running: {
        entry: 'announceStarted',
        on: {
          'xstate.error.actor.*': { actions: 'childExited' },
          'xstate.done.actor.*': { actions: 'childExited' },
          ...live,
        },
      },
      stopping: {
        entry: 'prepareStop',
        initial: 'next',
        states: {
          next: {
            always: [
              { guard: 'queueEmpty', target: '#supervisor.stopped' },
              { guard: 'headIsBrutal', actions: ['stopHead', 'popHead'], target: 'next', reenter: true },
              { target: 'waiting', actions: 'askHeadToShutdown' },
            ],
          },
          waiting: {
            after: { shutdownTimeout: { target: 'next', actions: ['stopHead', 'popHead'] } },
            on: {
              'xstate.done.actor.*': [
                { guard: 'exitIsHead', target: 'next', actions: ['stopHead', 'popHead'] },
                { actions: 'forgetExited' },
              ],
              'xstate.error.actor.*': [
                { guard: 'exitIsHead', target: 'next', actions: ['stopHead', 'popHead'] },
                { actions: 'forgetExited' },
              ],
            },
          },
        },
        on: {
          'supervisor.$giveUp': { actions: 'markFailed' },
        },
      },
      stopped: { type: 'final' },
    },
    output: ({ context }) => context.output,
  });
  return reportsStart(logic);
}

function withDefaults(spec: ChildSpec): ChildSpec {
  return { restart: 'permanent', shutdown: 'brutal_kill', ...spec };
}

/** A child spec for a nested supervisor: it gets time to stop its own children in order. */
export function supervisorChild(
  options: SupervisorOptions,
  spec: Partial<Omit<ChildSpec, 'logic' | 'id'>> = {},
): ChildSpec {
  return {
    // A fixed machine id: supervisor names contain dots, which '#id' targets cannot.
    id: 'supervisor',
    logic: supervisor(options),
    restart: 'permanent',
    shutdown: DEFAULT_SUPERVISOR_SHUTDOWN,
    systemId: options.name,
    ...spec,
  };
}

export type SupervisorLogic = ReturnType<typeof supervisor>;
