import type { ActorLogic, ActorRefFromLogic, ActorSystem, EventObject, NonReducibleUnknown, Snapshot } from 'xstate';
import { startedEvent } from '../supervisor/start-report.js';

// xstate does not re-export its AnyActorSystem alias.
type AnyActorSystem = ActorSystem<any>;

const FAIL = 'steward.$fail';
const DONE = 'steward.$done';
const STOP = 'xstate.stop';

export type ResourceSnapshot<TInput> = Snapshot<undefined> & { input: TInput };

export interface ResourceScope<TEvent extends EventObject, TInput, TEmitted extends EventObject> {
  readonly input: TInput;
  readonly self: ActorRefFromLogic<ResourceLogic<TEvent, TInput, TEmitted>>;
  readonly system: AnyActorSystem;
  readonly emit: (event: TEmitted) => void;
  /** Registers the handler for events sent to this actor. */
  readonly receive: (handler: (event: TEvent) => void) => void;
  /** Sends an event to the parent (the supervisor). */
  readonly sendBack: (event: EventObject) => void;
  /**
   * Fails the actor from async code: the cleanup runs first (the socket is
   * closed, the port released), then the actor errors and its supervisor sees
   * `xstate.error.actor.*` and can restart it at once.
   */
  readonly fail: (error: unknown) => void;
  /** Ends the actor normally (after a graceful shutdown); the cleanup runs first. */
  readonly done: () => void;
  /**
   * Ends the actor's start phase: its supervisor counts it as started (give
   * the logic `reportsStart`). A failure before this fails the supervisor's
   * start; after it, it is a crash, and restarted.
   */
  readonly started: () => void;
}

export type ResourceLogic<TEvent extends EventObject, TInput, TEmitted extends EventObject = EventObject> = ActorLogic<
  ResourceSnapshot<TInput>,
  TEvent,
  TInput,
  AnyActorSystem,
  TEmitted
>;

interface Instance {
  handler: ((event: EventObject) => void) | undefined;
  dispose: (() => void) | undefined;
  disposed: boolean;
}

/**
 * Like XState's `fromCallback`, for actors that own an OS resource. XState
 * never runs a callback actor's cleanup when the actor errors, so a crashed
 * socket owner would keep its port bound and its restart would fail with
 * EADDRINUSE. Here every way out (stop, thrown handler, `fail`) disposes first.
 */
export function fromResource<TEvent extends EventObject, TInput = NonReducibleUnknown, TEmitted extends EventObject = EventObject>(
  body: (scope: ResourceScope<TEvent, TInput, TEmitted>) => (() => void) | void,
): ResourceLogic<TEvent, TInput, TEmitted> {
  const instances = new WeakMap<object, Instance>();
  const dispose = (instance: Instance | undefined) => {
    if (!instance || instance.disposed) return;
    instance.disposed = true;
    instance.handler = undefined;
    instance.dispose?.();
  };

  return {
    config: body,
    start: (snapshot, actorScope) => {
      const { self, system, emit } = actorScope;
      const instance: Instance = { handler: undefined, dispose: undefined, disposed: false };
      instances.set(self, instance);
      const sendBack = (event: EventObject) => {
        if (self.getSnapshot().status !== 'active') return;
        const parent = (self as { _parent?: unknown })._parent;
        // The same relay fromCallback's sendBack uses; not in the public types.
        if (parent) (system as unknown as { _relay: (s: unknown, t: unknown, e: EventObject) => void })._relay(self, parent, event);
      };
      instance.dispose =
        body({
          input: snapshot.input,
          self: self as never,
          system,
          emit: emit as (event: TEmitted) => void,
          receive: (handler) => {
            instance.handler = handler as (event: EventObject) => void;
          },
          sendBack,
          started: () => sendBack(startedEvent(self.id)),
          fail: (error) => {
            if (self.getSnapshot().status !== 'active') return;
            self.send({ type: FAIL, error } as never);
          },
          done: () => {
            if (self.getSnapshot().status !== 'active') return;
            self.send({ type: DONE } as never);
          },
        }) ?? undefined;
    },
    transition: (snapshot, event, actorScope) => {
      const instance = instances.get(actorScope.self);
      if (event.type === STOP) {
        dispose(instance);
        instances.delete(actorScope.self);
        return { ...snapshot, status: 'stopped', error: undefined } as ResourceSnapshot<TInput>;
      }
      if (event.type === DONE) {
        dispose(instance);
        instances.delete(actorScope.self);
        return { ...snapshot, status: 'done', output: undefined } as ResourceSnapshot<TInput>;
      }
      if (event.type === FAIL) {
        dispose(instance);
        instances.delete(actorScope.self);
        return { ...snapshot, status: 'error', error: (event as unknown as { error: unknown }).error } as ResourceSnapshot<TInput>;
      }
      if (instance?.handler) {
        try {
          instance.handler(event);
        } catch (error) {
          dispose(instance);
          instances.delete(actorScope.self);
          return { ...snapshot, status: 'error', error } as ResourceSnapshot<TInput>;
        }
      }
      return snapshot;
    },
    getInitialSnapshot: (_scope, input) =>
      ({ status: 'active', output: undefined, error: undefined, input }) as ResourceSnapshot<TInput>,
    getPersistedSnapshot: (snapshot) => snapshot,
    restoreSnapshot: (snapshot) => snapshot as unknown as ResourceSnapshot<TInput>,
  };
}
