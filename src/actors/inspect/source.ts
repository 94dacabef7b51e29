import type { AnyActorRef, AnyEventObject, InspectionEvent } from 'xstate';
import { chartOf } from './chart.js';
import { toJsonSafe, type JsonValue, type SerializeLimits } from './serialize.js';
import { LogRing } from './log-ring.js';
import { ATTACH, type ActorView, type AttachableObserver, type HotCounts, type InspectionDelta, type InspectionState, type LogKind, type RemovedActor } from './types.js';

/**
 * Events that arrive once per message burst or per tick: counted, not recorded.
 * A burst event carries the messages themselves, which must not be held.
 */
export const DEFAULT_HOT_EVENTS: readonly string[] = ['zmq.batch', 'zmq.send', 'heartbeat.tick'];

export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export interface InspectionSourceOptions {
  /** Snapshots are coalesced and handed out at most this often. */
  readonly flushMs?: number;
  /** Recent events and reports kept (a ring). */
  readonly logSize?: number;
  /** Actors tracked at most; more are counted as untracked. */
  readonly maxActors?: number;
  readonly hotEvents?: Iterable<string>;
  /** Record one in every N hot events as a `sampled` log entry without its payload; 0 records none. */
  readonly sampleHotEvery?: number;
  /** Limits for serializing a context. */
  readonly contextLimits?: Partial<SerializeLimits>;
  /** Limits for serializing an event in the log. */
  readonly eventLimits?: Partial<SerializeLimits>;
  readonly now?: () => number;
  readonly timers?: Timers;
}

/** The parts of XState's Actor this reads; some are internal but stable in v5 (`_parent`, `options`). */
interface RefLike {
  readonly sessionId: string;
  readonly id?: string;
  readonly systemId?: string;
  readonly options?: { readonly systemId?: string };
  readonly _parent?: { readonly sessionId: string };
  readonly logic?: unknown;
  getSnapshot(): unknown;
  on?(type: string, handler: (event: AnyEventObject) => void): unknown;
}

/** An inspection event as XState builds it, before it adds `rootId` for observers. */
type RawInspectionEvent = InspectionEvent extends infer E ? (E extends InspectionEvent ? Omit<E, 'rootId'> : never) : never;

/** The one internal of XState's actor system the fast attach uses (stable through 5.x; checked before use). */
interface HookableSystem {
  _sendInspectionEvent?: (event: RawInspectionEvent) => void;
}

interface SnapshotLike {
  readonly status?: string;
  readonly value?: unknown;
  readonly context?: unknown;
  readonly error?: unknown;
  readonly children?: Record<string, unknown>;
}

interface Entry {
  readonly ref: RefLike;
  readonly id: string;
  readonly parent: string | null;
  readonly root: string;
  readonly name: string;
  readonly machine: string | null;
  readonly chart: number | null;
  readonly startedAt: number;
  dirty: boolean;
  events: number;
  updatedAt: number;
  view: ActorView | undefined;
  /** Supervisors only: how often each child id was restarted. */
  restarts: Map<string, number> | undefined;
}

const ERROR_PREFIX = 'xstate.error.actor.';
const DONE_PREFIX = 'xstate.done.actor.';
const SUPERVISOR_REPORTS = ['supervisor.childStarted', 'supervisor.childExited', 'supervisor.childStopped', 'supervisor.gaveUp'] as const;
const SWEEP_EVERY_MS = 1_000;
const MAX_CHARTS = 1_000;

const defaultTimers: Timers = {
  set: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

function statusOf(snapshot: unknown): string {
  const status = (snapshot as SnapshotLike | undefined)?.status;
  return typeof status === 'string' ? status : 'active';
}

/**
 * The inspection sink: XState's inspection observer for one or more actor
 * systems, kept off the hot path. Per inspection event it does O(1) work and
 * copies nothing: a snapshot only marks its actor dirty, a hot event only
 * bumps a counter, other events take a slot in a bounded ring. Every
 * `flushMs` the dirty actors' latest snapshots are serialized (bounded by
 * the serializer's limits) and handed to subscribers as one delta.
 */
export class InspectionSource {
  readonly observer: AttachableObserver;
  private readonly flushMs: number;
  private readonly maxActors: number;
  private readonly hotEvents: ReadonlySet<string>;
  private readonly sampleEvery: number;
  private readonly contextLimits: Partial<SerializeLimits>;
  private readonly eventLimits: Partial<SerializeLimits>;
  private readonly now: () => number;
  private readonly timers: Timers;

  private readonly actors = new Map<string, Entry>();
  private dirty: Entry[] = [];
  /** One counter object per hot type: a hot event costs one lookup and an increment. */
  private readonly hot = new Map<string, { n: number }>();
  private readonly ring: LogRing;
  private flushedSeq = 0;
  private flushes = 0;
  private untracked = 0;
  private readonly untrackedRefs = new WeakSet<object>();
  private lastSweep = 0;
  private sweepNeeded = false;
  private timer: unknown;
  private closed = false;
  private readonly listeners = new Set<(delta: InspectionDelta) => void>();
  private readonly charts = new Map<object, number>();
  private readonly logics = new Map<number, object>();
  private readonly detachers: Array<() => void> = [];

  constructor(options: InspectionSourceOptions = {}) {
    this.flushMs = options.flushMs ?? 100;
    this.maxActors = options.maxActors ?? 20_000;
    this.hotEvents = new Set(options.hotEvents ?? DEFAULT_HOT_EVENTS);
    this.sampleEvery = Math.max(0, Math.floor(options.sampleHotEvery ?? 0));
    this.contextLimits = options.contextLimits ?? {};
    this.eventLimits = options.eventLimits ?? { maxDepth: 3, maxNodes: 200, maxKeys: 20, maxItems: 10, maxString: 200 };
    this.now = options.now ?? Date.now;
    this.timers = options.timers ?? defaultTimers;
    this.ring = new LogRing(options.logSize ?? 500, (raw) => toJsonSafe(raw, this.eventLimits));
    for (const type of this.hotEvents) this.hot.set(type, { n: 0 });
    this.observer = {
      next: (event) => this.record(event, event.rootId),
      [ATTACH]: (root) => this.attach(root),
    };
  }

  /**
   * The observer as XState's `inspect` option wants it. Given to
   * `createRootActor` (as every role's `start` does), it attaches the fast
   * way instead (see `attach`).
   */
  get inspect(): AttachableObserver {
    return this.observer;
  }

  /**
   * Inspects the tree of a root actor created without the `inspect` option
   * (before or after it started): actors that exist now are walked once,
   * later ones arrive as events.
   *
   * XState hands each inspection event to its observers as a fresh copy
   * (`{ ...event, rootId }`); on a busy actor that copy, not the observer,
   * is most of the cost (a no-op observer alone takes a one-state machine
   * from 450k to 170k events/s). So this takes the events where the system
   * emits them, before the copy, and passes them on to the system's own
   * dispatch, which is free when nobody else observes. Without that hook
   * (another XState version), it subscribes the ordinary way.
   */
  attach(root: AnyActorRef): () => void {
    const rootId = root.sessionId;
    const system = root.system as unknown as HookableSystem;
    const dispatch = system._sendInspectionEvent;
    let detach: () => void;
    if (typeof dispatch === 'function') {
      const hook = (event: RawInspectionEvent) => {
        this.record(event, rootId);
        dispatch(event);
      };
      system._sendInspectionEvent = hook;
      detach = () => {
        if (system._sendInspectionEvent === hook) system._sendInspectionEvent = dispatch;
      };
    } else {
      const sub = root.system.inspect(this.observer);
      detach = () => sub.unsubscribe();
    }
    this.detachers.push(detach);
    const walk = (ref: RefLike, depth: number) => {
      if (depth > 64) return;
      this.register(ref, rootId);
      const children = (ref.getSnapshot() as SnapshotLike | undefined)?.children ?? {};
      for (const child of Object.values(children)) {
        if (child && typeof (child as RefLike).sessionId === 'string') walk(child as RefLike, depth + 1);
      }
    };
    walk(root as unknown as RefLike, 0);
    return detach;
  }

  subscribe(listener: (delta: InspectionDelta) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The logic behind a chart key (the Stately bridge sends a machine's config). */
  logicOf(chart: number): object | undefined {
    return this.logics.get(chart);
  }

  /** The drawable shape of the machine behind a chart key. */
  chart(key: number) {
    const logic = this.logics.get(key);
    return logic === undefined ? undefined : chartOf(logic);
  }

  hotCounts(): HotCounts {
    const out: Record<string, number> = {};
    for (const [type, counter] of this.hot) out[type] = counter.n;
    return out;
  }

  /** Everything at once: every live actor (views built now if missing) and the recent log. */
  state(): InspectionState {
    const at = this.now();
    const actors: ActorView[] = [];
    for (const entry of this.actors.values()) {
      if (statusOf(entry.ref.getSnapshot()) !== 'active') continue;
      if (entry.view === undefined || entry.dirty) entry.view = this.view(entry, at);
      actors.push(entry.view);
    }
    const log = this.ring.all();
    return { flush: this.flushes, at, actors, log, hot: this.hotCounts(), untracked: this.untracked };
  }

  /** Coalesces what happened since the last flush into one delta for the subscribers. Called by the timer. */
  flush(): InspectionDelta {
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.timer = undefined;
    this.flushes += 1;
    const at = this.now();
    const building = this.listeners.size > 0;

    if (this.sweepNeeded || at - this.lastSweep >= SWEEP_EVERY_MS) this.sweep(at);

    const upsert: ActorView[] = [];
    const remove: RemovedActor[] = [];
    const dirty = this.dirty;
    this.dirty = [];
    for (const entry of dirty) {
      entry.dirty = false;
      const snapshot = entry.ref.getSnapshot();
      const status = statusOf(snapshot);
      if (status !== 'active') {
        if (this.actors.delete(entry.id)) {
          const error = (snapshot as SnapshotLike | undefined)?.error;
          remove.push({ id: entry.id, status, error: error === undefined ? null : toJsonSafe(error, this.eventLimits) });
        }
        continue;
      }
      entry.updatedAt = at;
      // Nobody watching: leave the view to be built when someone asks (state()).
      entry.view = building ? this.view(entry, at) : undefined;
      if (entry.view) upsert.push(entry.view);
    }

    const log = this.ring.since(this.flushedSeq);
    this.flushedSeq = this.ring.seq;

    const delta: InspectionDelta = { flush: this.flushes, at, upsert, remove, log, hot: this.hotCounts(), untracked: this.untracked };
    for (const listener of this.listeners) listener(delta);
    return delta;
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.timer = undefined;
    for (const detach of this.detachers.splice(0)) detach();
    this.listeners.clear();
  }

  /** Number of actors tracked now (for tests and the page header). */
  get size(): number {
    return this.actors.size;
  }

  // ---- per inspection event: O(1), no copies ----

  private record(event: RawInspectionEvent, rootId: string): void {
    if (this.closed) return;
    switch (event.type) {
      case '@xstate.event':
        this.onEvent(event.actorRef as unknown as RefLike, event.event, event.sourceRef as unknown as RefLike | undefined, rootId);
        return;
      case '@xstate.snapshot':
        this.onSnapshot(event.actorRef as unknown as RefLike, rootId);
        return;
      case '@xstate.actor':
        this.register(event.actorRef as unknown as RefLike, rootId);
        return;
      default:
        // Actions and microsteps: per transition, and nothing a viewer needs.
        return;
    }
  }

  private onSnapshot(ref: RefLike, rootId: string): void {
    const entry = this.actors.get(ref.sessionId) ?? this.lateRegister(ref, rootId);
    if (entry === undefined || entry.dirty) return;
    entry.dirty = true;
    this.dirty.push(entry);
    this.scheduleFlush();
  }

  private onEvent(target: RefLike, event: AnyEventObject, source: RefLike | undefined, rootId: string): void {
    const entry = this.actors.get(target.sessionId) ?? this.lateRegister(target, rootId);
    if (entry !== undefined) entry.events += 1;
    const type = event.type;
    const counter = this.hot.get(type);
    if (counter !== undefined) {
      counter.n += 1;
      if (this.sampleEvery > 0 && counter.n % this.sampleEvery === 0) {
        const messages = (event as { messages?: unknown }).messages;
        this.log('sampled', target.sessionId, type, source?.sessionId ?? null, undefined, {
          every: this.sampleEvery,
          ...(Array.isArray(messages) ? { messages: messages.length } : {}),
        });
      }
      return;
    }
    if (type.startsWith(ERROR_PREFIX)) {
      this.sweepNeeded = true;
      // A supervisor reports the crash itself, with what it will do about it; elsewhere this event is the only record.
      if (entry?.machine !== 'supervisor') {
        this.log('crashed', target.sessionId, type.slice(ERROR_PREFIX.length), source?.sessionId ?? null, event);
        return;
      }
    }
    if (type.startsWith(DONE_PREFIX)) this.sweepNeeded = true;
    this.log('event', target.sessionId, type, source?.sessionId ?? null, event);
  }

  private log(kind: LogKind, actor: string | null, type: string, source: string | null, raw: unknown, detail?: JsonValue): void {
    this.ring.push(this.now(), kind, actor, type, source, raw, detail);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.timer !== undefined || this.closed) return;
    this.timer = this.timers.set(() => {
      this.timer = undefined;
      this.flush();
    }, this.flushMs);
  }

  // ---- the actor table ----

  /** An actor seen before its `@xstate.actor` event (inspection attached late): tracked if still alive. */
  private lateRegister(ref: RefLike, rootId: string): Entry | undefined {
    if (this.untrackedRefs.has(ref)) return undefined;
    if (statusOf(ref.getSnapshot()) !== 'active') return undefined;
    return this.register(ref, rootId);
  }

  private register(ref: RefLike, rootId: string): Entry | undefined {
    const existing = this.actors.get(ref.sessionId);
    if (existing) return existing;
    if (this.actors.size >= this.maxActors) {
      if (!this.untrackedRefs.has(ref)) {
        this.untrackedRefs.add(ref);
        this.untracked += 1;
      }
      return undefined;
    }
    const logic = ref.logic;
    const chart = chartOf(logic);
    const at = this.now();
    const entry: Entry = {
      ref,
      id: ref.sessionId,
      parent: ref._parent?.sessionId ?? null,
      root: rootId,
      name: ref.id ?? ref.sessionId,
      machine: chart?.machine ?? null,
      chart: chart && typeof logic === 'object' && logic !== null ? this.chartKey(logic) : null,
      startedAt: at,
      dirty: true,
      events: 0,
      updatedAt: at,
      view: undefined,
      restarts: undefined,
    };
    this.actors.set(entry.id, entry);
    this.dirty.push(entry);
    if (entry.machine === 'supervisor') this.watchSupervisor(entry);
    this.scheduleFlush();
    return entry;
  }

  private chartKey(logic: object): number | null {
    let key = this.charts.get(logic);
    if (key === undefined) {
      // Charts hold their logic; a process that builds trees without end must not grow this without end.
      if (this.charts.size >= MAX_CHARTS) return null;
      key = this.charts.size + 1;
      this.charts.set(logic, key);
      this.logics.set(key, logic);
    }
    return key;
  }

  /** Supervisors report starts, exits, deliberate stops and giving up through `emit`, which inspection does not see. */
  private watchSupervisor(entry: Entry): void {
    const on = entry.ref.on;
    if (typeof on !== 'function') return;
    for (const type of SUPERVISOR_REPORTS) {
      on.call(entry.ref, type, (report: AnyEventObject) => this.onReport(entry, report));
    }
  }

  private onReport(entry: Entry, report: AnyEventObject): void {
    if (this.closed) return;
    const child = String((report as { id?: unknown }).id ?? '');
    switch (report.type) {
      case 'supervisor.childStarted': {
        const restarts = Number((report as { restarts?: unknown }).restarts ?? 0);
        if (restarts > 0) {
          entry.restarts ??= new Map();
          entry.restarts.set(child, restarts);
          this.log('restarted', entry.id, child, null, report);
        } else {
          this.log('started', entry.id, child, null, report);
        }
        return;
      }
      case 'supervisor.childExited': {
        const kind = (report as { reason?: { kind?: unknown } }).reason?.kind;
        this.sweepNeeded = true;
        this.log(kind === 'normal' ? 'exited' : 'crashed', entry.id, child, null, report);
        return;
      }
      case 'supervisor.childStopped':
        // Stopped by its supervisor (a worker session whose worker left, a shutdown): the actor sends no
        // done event then, so this report is the only record that it ended, and why.
        this.sweepNeeded = true;
        this.log('exited', entry.id, child, null, report);
        return;
      case 'supervisor.gaveUp':
        this.log('gaveUp', entry.id, child, null, report);
        return;
    }
  }

  /** Finds actors that ended without a snapshot event (a machine whose action threw). */
  private sweep(at: number): void {
    this.sweepNeeded = false;
    this.lastSweep = at;
    for (const entry of this.actors.values()) {
      if (!entry.dirty && statusOf(entry.ref.getSnapshot()) !== 'active') {
        entry.dirty = true;
        this.dirty.push(entry);
      }
    }
  }

  // ---- at flush time only ----

  private view(entry: Entry, at: number): ActorView {
    const snapshot = entry.ref.getSnapshot() as SnapshotLike | undefined;
    const ref = entry.ref;
    const machine = entry.machine !== null;
    const parent = entry.parent === null ? undefined : this.actors.get(entry.parent);
    return {
      id: entry.id,
      parent: entry.parent,
      root: entry.root,
      name: entry.name,
      // systemId is set after the actor announces itself, so read it now.
      systemId: ref.systemId ?? ref.options?.systemId ?? null,
      machine: entry.machine,
      chart: entry.chart,
      status: statusOf(snapshot),
      value: machine ? toJsonSafe(snapshot?.value, { maxDepth: 8 }) : null,
      context: machine ? toJsonSafe(snapshot?.context, this.contextLimits) : null,
      events: entry.events,
      restarts: parent?.restarts?.get(entry.name) ?? 0,
      startedAt: entry.startedAt,
      updatedAt: at,
    };
  }

}
