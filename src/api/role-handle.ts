import type { Actor, AnyActorLogic, AnyActorRef, EventObject } from 'xstate';
import { whenStopped, type StopResult } from '../supervisor/when-stopped.js';
import { createRootActor, type RootActorOptions } from './runtime-options.js';
import { startFailureError } from './start-failure.js';

export interface RoleHandleOptions extends RootActorOptions {
  /**
   * The error for a tree that stopped before it listened without a start
   * failure to say why (a supervisor that gave up on restarts, a stop).
   */
  readonly notListening: () => Error;
}

/**
 * One role's supervision tree, as every api class (`Broker`, `Worker`, `Sink`,
 * `Balancer`, `Registry`, `Dispatcher`, `Gateway`) holds it: the root created
 * with inspection, a start, a promise that settles when the role listens
 * (with the endpoints it read back) or rejects with its start failure, typed
 * access to a machine's context (a routing core, a table), and a graceful
 * stop that lets the tree drain.
 */
export class RoleHandle<TLogic extends AnyActorLogic, TListening> {
  readonly actor: Actor<TLogic>;
  private readonly ready: Promise<TListening>;
  private settle!: { resolve(value: TListening): void; reject(error: unknown): void };
  private readonly root: AnyActorRef;
  private started = false;

  constructor(logic: TLogic, options: RoleHandleOptions) {
    const { notListening, ...root } = options;
    this.actor = createRootActor(logic, root);
    // Every tree's root is a supervisor: it takes `lifecycle.shutdown`, whatever else its logic declares.
    this.root = this.actor as AnyActorRef;
    this.ready = new Promise<TListening>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    this.root.subscribe({
      next: (snapshot: { status: string; output?: unknown }) => {
        if (snapshot.status !== 'active') this.settle.reject(startFailureError(snapshot) ?? notListening());
      },
      error: (error) => this.settle.reject(error),
    });
    // The tree may fail to bind; a rejection nobody awaits yet must not crash the process.
    this.ready.catch(() => undefined);
  }

  /** Starts the tree (once). */
  start(): this {
    if (!this.started) {
      this.started = true;
      this.actor.start();
    }
    return this;
  }

  /** Settles `listening()` with what the role bound; later calls change nothing. */
  listen(value: TListening): void {
    this.settle.resolve(value);
  }

  /** Rejects `listening()` (a registry that refused, a start that took too long); later calls change nothing. */
  fail(error: unknown): void {
    this.settle.reject(error);
  }

  /** Resolves once the role listens; rejects with its start failure (`EndpointError`, `StartupError`) or `notListening()`. */
  listening(): Promise<TListening> {
    return this.ready;
  }

  /**
   * Calls `handler` with each `type` event the actor under `systemId` emits (it must be running, as after
   * `start()`); `E` is that event, e.g. `Extract<BrokerEmitted, { type: 'broker.listening' }>`.
   */
  onEmitted<E extends EventObject>(systemId: string, type: E['type'], handler: (event: E) => void): void {
    (this.actor.system.get(systemId) as AnyActorRef | undefined)?.on(type, handler as (event: EventObject) => void);
  }

  /**
   * The context of the machine under `systemId` now, typed as its machine
   * declares it; undefined while it is not running. A machine that restarts
   * has a new context: read it again rather than keep it.
   */
  context<TContext>(systemId: string): TContext | undefined {
    const machine = this.actor.system.get(systemId) as AnyActorRef | undefined;
    return (machine?.getSnapshot() as { context?: TContext } | undefined)?.context;
  }

  /** Whether the tree is running (started, and not stopped or failed). */
  running(): boolean {
    return this.started && (this.root.getSnapshot() as { status: string }).status === 'active';
  }

  /** Graceful: the root is told `lifecycle.shutdown`, drains in reverse start order, and ends. */
  async stop(): Promise<void> {
    if (!this.running()) return;
    const stopped = whenStopped(this.root);
    this.root.send({ type: 'lifecycle.shutdown' });
    await stopped;
  }

  /** Resolves when the tree has ended, however it ended. */
  whenStopped(): Promise<StopResult> {
    return whenStopped(this.root);
  }
}
