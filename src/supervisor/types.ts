import type { AnyActorLogic } from 'xstate';

/** Which siblings restart with a child that exited abnormally (OTP semantics). */
export type Strategy = 'one_for_one' | 'one_for_all' | 'rest_for_one';

/**
 * permanent: always restarted; transient: restarted only after an abnormal exit;
 * temporary: never restarted (per-connection sessions).
 */
export type RestartType = 'permanent' | 'transient' | 'temporary';

/**
 * How a child is stopped when its supervisor shuts down: at once, or by sending
 * it `lifecycle.shutdown` and waiting up to this many milliseconds for it to
 * reach a final state (draining in-flight work) before stopping it anyway.
 */
export type ShutdownSpec = 'brutal_kill' | number;

/**
 * When a child counts as started, the end of its start phase. `spawned`: as
 * soon as it is spawned (a machine whose entry ran). `reported`: when it sends
 * its supervisor `supervisor.$started` (a socket that bound or connected, a
 * supervisor whose own children all started). The default comes from the
 * logic (`reportsStart`), else `spawned`.
 */
export type StartMode = 'spawned' | 'reported';

/**
 * Which child failed while its supervisor was starting, and why. `child` is
 * the path from the supervisor that reports it (`broker/frontend`); `error`
 * is the innermost child's own error, passed up unchanged so whoever started
 * the tree can say what went wrong.
 */
export interface StartFailure {
  readonly child: string;
  readonly error: unknown;
}

export interface ChildSpec {
  readonly id: string;
  readonly logic: AnyActorLogic;
  readonly input?: unknown;
  readonly restart?: RestartType;
  readonly shutdown?: ShutdownSpec;
  /** Registers the child in the actor system so siblings can address it. */
  readonly systemId?: string;
  /** Overrides the logic's own start mode (see `StartMode`). */
  readonly start?: StartMode;
}

/**
 * How a child ended. A child that errors is abnormal; a child that reaches a
 * final state is normal unless its output says `{ exit: 'failed' }`, which is
 * how a supervisor that gave up tells its own parent.
 */
export type ExitReason =
  | { readonly kind: 'normal'; readonly output?: unknown }
  | { readonly kind: 'error'; readonly error: unknown }
  | { readonly kind: 'failed'; readonly reason: string; readonly startFailure?: StartFailure };

/**
 * What a supervisor's final state outputs. `startFailure` is set when it
 * failed to start (a child failed before it started), as opposed to giving up
 * after too many restarts.
 */
export type SupervisorOutput =
  | { readonly exit: 'normal' }
  | { readonly exit: 'failed'; readonly reason: string; readonly startFailure?: StartFailure };

export interface Backoff {
  /** Delay before the first restart in a burst, in ms. */
  readonly initial: number;
  /** Ceiling of the exponential delay, in ms. */
  readonly max: number;
}

export type SupervisorEvent =
  | { type: 'supervisor.startChild'; spec: ChildSpec }
  /** `reason` (e.g. a worker session's "disconnected") is passed on in the `childStopped` report. */
  | { type: 'supervisor.terminateChild'; id: string; reason?: string }
  | { type: 'lifecycle.shutdown' }
  | { type: 'supervisor.$restart'; ids: readonly string[]; generation: number }
  /** A child's start phase ended: sent by the child itself, with its own id (see `StartMode`). */
  | { type: 'supervisor.$started'; id: string };

/**
 * Why a supervisor stopped a child that was still running: `terminateChild`,
 * its own shutdown (or giving up), or its strategy taking the child down with
 * a sibling that exited.
 */
export type StopCause = 'terminated' | 'shutdown' | 'sibling_exited';

/** Structured reports a supervisor emits, for logs, metrics and the inspector. */
export type SupervisorReport =
  | { type: 'supervisor.childStarted'; supervisor: string; id: string; restarts: number }
  | { type: 'supervisor.childExited'; supervisor: string; id: string; reason: ExitReason; willRestart: boolean }
  /**
   * A child the supervisor stopped itself. It never reaches `childExited`: a
   * stopped actor sends its parent no done or error event.
   */
  | { type: 'supervisor.childStopped'; supervisor: string; id: string; cause: StopCause; reason?: string }
  | { type: 'supervisor.gaveUp'; supervisor: string; id: string; restarts: number; period: number }
  /** Every child started: the supervisor's own start phase ended. */
  | { type: 'supervisor.started'; supervisor: string }
  /** A child failed before it started: the supervisor stops the others and fails its own start. */
  | { type: 'supervisor.startFailed'; supervisor: string; id: string; failure: StartFailure };

export interface ChildState {
  readonly spec: ChildSpec;
  /** Whether an actor for this spec is alive right now (false while a restart is pending). */
  running: boolean;
  /** Whether the running actor's start phase ended (see `StartMode`). */
  started: boolean;
  restarts: number;
}
