import type { AnyActorRef, InspectionEvent, Observer } from 'xstate';
import type { JsonValue } from './serialize.js';

/**
 * Marks an observer that can attach itself to a tree more cheaply than
 * through XState's `inspect` option (`createRootActor` looks for it).
 */
export const ATTACH: unique symbol = Symbol.for('steward.inspect.attach');

/** An inspection observer that may also attach itself to a root actor before it starts; returns a detach. */
export type AttachableObserver = Observer<InspectionEvent> & { readonly [ATTACH]?: (root: AnyActorRef) => () => void };

/**
 * What the roles accept to be inspected: XState's `inspect` option of
 * `createActor`, given at the root of a tree (an observer or a function).
 */
export type InspectOption = AttachableObserver | ((event: InspectionEvent) => void);

/** One live actor as the inspector shows it. Ids are XState session ids, unique in the process. */
export interface ActorView {
  readonly id: string;
  readonly parent: string | null;
  /** Session id of the tree's root (several roles may share one process). */
  readonly root: string;
  /** The actor's id under its parent (a supervisor's child id). */
  readonly name: string;
  readonly systemId: string | null;
  /** Machine id for state machines, null for other logic (sockets, callbacks). */
  readonly machine: string | null;
  /** Key for `/api/chart?key=`; actors of the same logic share one chart. */
  readonly chart: number | null;
  readonly status: string;
  /** State value of a machine (a string or nested object), null otherwise. */
  readonly value: JsonValue;
  /** A bounded, readable copy of the context, made at flush time. */
  readonly context: JsonValue;
  /** Events this actor received since it started, hot ones included. */
  readonly events: number;
  /** How many times its supervisor restarted the child of this name. */
  readonly restarts: number;
  readonly startedAt: number;
  readonly updatedAt: number;
}

export interface RemovedActor {
  readonly id: string;
  readonly status: string;
  readonly error: JsonValue;
}

export type LogKind = 'event' | 'started' | 'restarted' | 'exited' | 'crashed' | 'gaveUp' | 'sampled';

export interface LogEntry {
  readonly seq: number;
  readonly at: number;
  readonly kind: LogKind;
  /** Session id of the actor concerned (the receiver of an event, the supervisor of a report). */
  readonly actor: string | null;
  /** The event type or the child id a report is about. */
  readonly type: string;
  readonly source: string | null;
  readonly detail: JsonValue;
}

/** Counts of the hot events that are counted instead of recorded, since inspection began. */
export type HotCounts = Readonly<Record<string, number>>;

/** What changed since the previous flush. */
export interface InspectionDelta {
  readonly flush: number;
  readonly at: number;
  readonly upsert: readonly ActorView[];
  readonly remove: readonly RemovedActor[];
  readonly log: readonly LogEntry[];
  readonly hot: HotCounts;
  /** Actors not tracked because the table was full. */
  readonly untracked: number;
}

/** Everything at once, for a viewer that just connected. */
export interface InspectionState {
  readonly flush: number;
  readonly at: number;
  readonly actors: readonly ActorView[];
  readonly log: readonly LogEntry[];
  readonly hot: HotCounts;
  readonly untracked: number;
}
