import { assign, enqueueActions, setup, type AnyActorRef } from 'xstate';
import type { SocketInlet, SocketPort, ZmqCommand, ZmqOwnerEvent } from '../../actors/zmq-socket.js';
import type { SupervisorEvent } from '../../supervisor/types.js';
import type { Logger } from '../../log.js';
import { silentLogger } from '../../log.js';
import { DropCounter } from '../../metrics/drops.js';
import { limitHits, type LimitName } from '../../metrics/limits.js';
import type { Metrics } from '../../metrics/registry.js';
import type { BrokerInbound } from '../../protocol/broker-wire.js';
import type { HeartbeatTick } from '../heartbeat/heartbeat-monitor.js';
import { brokerMetrics, newPublished, type BrokerPublished } from './broker-metrics.js';
import { guardedInlet } from '../guarded-inlet.js';
import { OverloadLog } from './overload-log.js';
import { BrokerCore, type BrokerCoreOptions, type BrokerDropReason, type SessionCommand } from './broker-core.js';
import { workerSession, type WorkerSessionEvent, type WorkerSessionInput } from './worker-session.js';

/** What the broker asks of its actor system: its siblings by systemId. */
interface Siblings {
  get(systemId: string): AnyActorRef | undefined;
}

/**
 * How flush sends to another actor: directly from the inlet, through
 * `enqueue.sendTo` from an action (an actor must not be stepped from inside
 * another's action).
 */
type SendTo = (ref: AnyActorRef, event: SupervisorEvent | WorkerSessionEvent | ZmqCommand<Buffer[]>) => void;

const sendNow: SendTo = (ref, event) => ref.send(event);

/** Drop reasons that mean a configured limit was reached, and which. */
const LIMIT_OF: Partial<Record<BrokerDropReason, LimitName>> = {
  queue_full: 'queue',
  queue_memory_full: 'queue_bytes',
  too_many_services: 'services',
  too_many_clients: 'clients',
  too_many_frames: 'frames',
  message_too_large: 'message_size',
  stream_overflow: 'stream_bytes',
  stream_memory_full: 'queue_bytes',
};

export interface BrokerMachineConfig extends BrokerCoreOptions {
  /** systemIds of the socket adapters this broker owns (one when frontend and backend share an endpoint). */
  readonly sockets: readonly string[];
  /** systemId of the dynamic supervisor holding worker sessions. */
  readonly sessions: string;
  /** Prefix of session systemIds: `${sessionPrefix}.${workerHex}.${registration}`. */
  readonly sessionPrefix: string;
  /** How long a shutdown waits for in-flight requests before giving up on them. */
  readonly drainTimeoutMs?: number;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  readonly now?: () => number;
}

export type BrokerEvent =
  | ZmqOwnerEvent<BrokerInbound, Buffer[]>
  | HeartbeatTick
  | { type: 'lifecycle.shutdown' }
  /** The inlet's handling of a burst threw: the machine fails with that error, and its supervisor restarts it. */
  | { type: 'broker.failed'; error: unknown };

export type BrokerEmitted = { type: 'broker.listening'; endpoints: Record<string, string[]> };

export interface BrokerContext {
  readonly core: BrokerCore;
  /** Each socket adapter's writing side, from its `zmq.ready`; a restarted adapter replaces its own. */
  readonly ports: Map<string, SocketPort<Buffer[]>>;
  /** Whether the frontend was asked to stop reading (back-pressure). */
  readonly flow: { paused: boolean };
  /** What the socket adapters hand each burst to (made on the first `zmq.ready`). */
  inlet: SocketInlet<BrokerInbound> | undefined;
  endpoints: Record<string, string[]>;
  /** Counter values already handed to prom-client (the core counts from zero after a restart). */
  readonly published: BrokerPublished;
}

/**
 * The broker: decoded bursts in, frames out. Per-message work is the routing
 * core's; this machine owns the life around it: running, draining on
 * shutdown (refuse new work, let in-flight replies through, bounded by a
 * timeout), then telling workers to go.
 *
 * Per burst, no XState step: the adapters hand each burst to the machine's
 * inlet (`zmq.attach`), which runs the core and `flush`: the frames go to the
 * adapters' ports, the rare session commands and back-pressure toggles to
 * their actors' refs. The interpreter's step per burst, and an action per
 * socket after it, cost more CPU than everything else a request costs the
 * process (docs/architecture.md, "Hot path rules"). A `zmq.batch` event
 * (before the inlet is attached) takes the same path. A burst that throws
 * fails the machine through `broker.failed`, as a throwing action would.
 */
export function brokerMachine(config: BrokerMachineConfig) {
  const log = (config.logger ?? silentLogger).child({ actor: 'broker' });
  const now = config.now ?? Date.now;
  const drainTimeoutMs = config.drainTimeoutMs ?? 5_000;
  const published = brokerMetrics(config.metrics);
  // The context of the running broker, for publishing at scrape time (a restart replaces it).
  let current: BrokerContext | undefined;
  config.metrics?.beforeScrape(() => {
    if (current) published.publish(current.core, current.published);
  });
  const drops = new DropCounter('broker', config.metrics, log);
  const overload = new OverloadLog(log);
  // Back-pressure stops reading clients; with one socket for clients and workers it would stop the replies too.
  const frontend = config.sockets.length > 1 ? config.sockets[0] : undefined;
  const limits = config.metrics ? limitHits(config.metrics) : undefined;

  /** Session lifecycle, through the sessions supervisor in order: a session started in this burst is not spawned yet. */
  const sessionCommand = (cmd: SessionCommand, system: Siblings, sessions: AnyActorRef | undefined, sendTo: SendTo) => {
    if (cmd.type === 'session.start') {
      log.info({ worker: cmd.hex, service: cmd.service, credit: cmd.credit, wire: cmd.wire }, 'worker registered');
      const start: SupervisorEvent = {
        type: 'supervisor.startChild',
        spec: {
          id: `worker-${cmd.session}`,
          systemId: `${config.sessionPrefix}.${cmd.session}`,
          logic: workerSession,
          input: { key: cmd.key, hex: cmd.hex, service: cmd.service, credit: cmd.credit } satisfies WorkerSessionInput,
          restart: 'temporary',
        },
      };
      if (sessions) sendTo(sessions, start);
    } else if (cmd.type === 'session.end') {
      log.info({ worker: cmd.hex, reason: cmd.reason }, 'worker left');
      // Each registration has its own id (see SessionCommand), so ending one never hits its successor.
      const end: SupervisorEvent = { type: 'supervisor.terminateChild', id: `worker-${cmd.session}`, reason: cmd.reason };
      if (sessions) sendTo(sessions, end);
    } else {
      const update: WorkerSessionEvent = { type: 'session.update', inFlight: cmd.inFlight, served: cmd.served };
      const session = system.get(`${config.sessionPrefix}.${cmd.session}`);
      if (session) sendTo(session, update);
    }
  };

  /** Everything the core produced: frames to the ports, session lifecycle, back-pressure, drop counts. */
  const flush = (context: BrokerContext, system: Siblings, sendTo: SendTo) => {
    const core = context.core;
    if (core.out.size > 0) {
      for (const [via, messages] of core.out) {
        const port = context.ports.get(via);
        if (port) port.send(messages);
        else for (let i = 0; i < messages.length; i++) drops.drop('no_socket', via);
      }
      core.out.clear();
    }
    if (core.sessions.length > 0) {
      const sessions = system.get(config.sessions);
      for (const cmd of core.sessions) sessionCommand(cmd, system, sessions, sendTo);
      core.sessions.length = 0;
    }
    if (frontend !== undefined && core.pressure !== context.flow.paused) {
      const paused = !context.flow.paused;
      context.flow.paused = paused;
      overload.pushBack(paused, now(), core.queuedBytes);
      const pause: ZmqCommand<Buffer[]> = { type: paused ? 'zmq.pause' : 'zmq.resume' };
      const reader = system.get(frontend);
      if (reader) sendTo(reader, pause);
    }
    if (core.drops.length > 0) {
      const t = now();
      for (const reason of core.drops) {
        drops.drop(reason);
        overload.dropped(reason, t, core.queuedBytes);
        const limit = LIMIT_OF[reason];
        if (limit !== undefined) limits?.inc({ limit });
      }
      core.drops.length = 0;
    }
  };

  /** Each burst, straight from an adapter: the core, then flush; a throw fails the machine in order with its events. */
  const inletOf = (context: BrokerContext, system: Siblings, self: AnyActorRef): SocketInlet<BrokerInbound> =>
    guardedInlet<BrokerInbound>(
      self,
      (batch) => {
        context.core.handle(batch.messages, batch.socket, now());
        flush(context, system, sendNow);
      },
      (error) => ({ type: 'broker.failed', error }),
    );

  return setup({
    types: {
      context: {} as BrokerContext,
      events: {} as BrokerEvent,
      emitted: {} as BrokerEmitted,
    },
    delays: { drainTimeout: drainTimeoutMs },
    guards: {
      drained: ({ context }) => context.core.busy === 0,
    },
    actions: {
      announce: enqueueActions(({ system, enqueue }) => {
        for (const s of config.sockets) {
          const ref = system.get(s);
          if (ref) enqueue.sendTo(ref, { type: 'zmq.announce' });
        }
        // A restarted broker starts with empty queues: whatever its predecessor paused reads again.
        const reader = frontend === undefined ? undefined : system.get(frontend);
        if (reader) enqueue.sendTo(reader, { type: 'zmq.resume' });
      }),
      recordEndpoints: enqueueActions(({ context, event, enqueue, system, self }) => {
        if (event.type !== 'zmq.ready') return;
        context.ports.set(event.socket, event.port);
        const adapter = system.get(event.socket);
        if (adapter) {
          context.inlet ??= inletOf(context, system, self);
          const attach: ZmqCommand<Buffer[], BrokerInbound> = { type: 'zmq.attach', inlet: context.inlet, owner: self };
          enqueue.sendTo(adapter, attach);
        }
        const endpoints = { ...context.endpoints, [event.socket]: event.endpoints };
        enqueue.assign({ endpoints });
        if (config.sockets.every((s) => endpoints[s] !== undefined)) {
          log.info({ endpoints }, 'broker listening');
          enqueue.emit({ type: 'broker.listening', endpoints });
        }
      }),
      handleBatch: enqueueActions(({ context, event, system, enqueue }) => {
        if (event.type !== 'zmq.batch') return;
        context.core.handle(event.messages, event.socket, now());
        flush(context, system, (ref, e) => enqueue.sendTo(ref, e));
      }),
      fail: ({ event }) => {
        if (event.type === 'broker.failed') throw event.error;
      },
      detach: enqueueActions(({ system, enqueue }) => {
        const detach: ZmqCommand<Buffer[], BrokerInbound> = { type: 'zmq.detach' };
        for (const s of config.sockets) {
          const ref = system.get(s);
          if (ref) enqueue.sendTo(ref, detach);
        }
      }),
      tick: enqueueActions(({ context, system, enqueue }) => {
        const t = now();
        context.core.tick(t);
        overload.tick(t, t - context.core.heartbeatIntervalMs, context.core.queuedBytes);
        flush(context, system, (ref, e) => enqueue.sendTo(ref, e));
        published.publish(context.core, context.published);
      }),
      startDrain: enqueueActions(({ context, system, enqueue }) => {
        log.info({ inFlight: context.core.inFlightCount }, 'draining');
        context.core.startDrain();
        flush(context, system, (ref, e) => enqueue.sendTo(ref, e));
      }),
      finishDrain: enqueueActions(({ context, system, enqueue }) => {
        if (context.core.busy > 0) {
          log.warn({ inFlight: context.core.inFlightCount, streams: context.core.streamCount }, 'drain timed out; in-flight requests abandoned');
        }
        context.core.finishDrain();
        flush(context, system, (ref, e) => enqueue.sendTo(ref, e));
      }),
    },
  }).createMachine({
    id: 'broker',
    context: () => {
      current = {
        core: new BrokerCore({ ...config, backPressure: frontend !== undefined, observeLatency: published.observeLatency ?? config.observeLatency }),
        ports: new Map(),
        flow: { paused: false },
        inlet: undefined,
        endpoints: {},
        published: newPublished(),
      };
      return current;
    },
    entry: 'announce',
    initial: 'running',
    on: {
      'zmq.ready': { actions: 'recordEndpoints' },
      'zmq.batch': { actions: 'handleBatch' },
      'broker.failed': { actions: 'fail' },
      'heartbeat.tick': { actions: 'tick' },
    },
    states: {
      running: {
        on: { 'lifecycle.shutdown': 'draining' },
      },
      draining: {
        entry: 'startDrain',
        always: { guard: 'drained', target: 'stopped' },
        after: { drainTimeout: 'stopped' },
      },
      stopped: {
        entry: ['finishDrain', 'detach', assign({ endpoints: {} })],
        type: 'final',
      },
    },
  });
}
