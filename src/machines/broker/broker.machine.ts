import { assign, enqueueActions, setup } from 'xstate';
import type { ZmqCommand, ZmqOwnerEvent } from '../../actors/zmq-socket.js';
import type { SupervisorEvent } from '../../supervisor/types.js';
import type { Logger } from '../../log.js';
import { silentLogger } from '../../log.js';
import { DropCounter } from '../../metrics/drops.js';
import { limitHits, type LimitName } from '../../metrics/limits.js';
import type { Metrics } from '../../metrics/registry.js';
import type { BrokerInbound } from '../../protocol/broker-wire.js';
import type { HeartbeatTick } from '../heartbeat/heartbeat-monitor.js';
import { brokerMetrics, newPublished, type BrokerPublished } from './broker-metrics.js';
import { OverloadLog } from './overload-log.js';
import { BrokerCore, type BrokerCoreOptions, type BrokerDropReason } from './broker-core.js';
import { workerSession, type WorkerSessionEvent, type WorkerSessionInput } from './worker-session.js';

/** Drop reasons that mean a configured limit was reached, and which. */
const LIMIT_OF: Partial<Record<BrokerDropReason, LimitName>> = {
  queue_full: 'queue',
  queue_memory_full: 'queue_bytes',
  too_many_services: 'services',
  too_many_clients: 'clients',
  too_many_frames: 'frames',
  message_too_large: 'message_size',
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
  | ZmqOwnerEvent<BrokerInbound>
  | HeartbeatTick
  | { type: 'lifecycle.shutdown' };

export type BrokerEmitted = { type: 'broker.listening'; endpoints: Record<string, string[]> };

export interface BrokerContext {
  readonly core: BrokerCore;
  /** Whether the frontend was asked to stop reading (back-pressure); mutated by `flush` only. */
  readonly flow: { paused: boolean };
  endpoints: Record<string, string[]>;
  /** Counter values already handed to prom-client (the core counts from zero after a restart). */
  readonly published: BrokerPublished;
}

/**
 * The broker: decoded bursts in, frames out. Per-message work is the routing
 * core's; this machine owns the life around it: running, draining on
 * shutdown (refuse new work, let in-flight replies through, bounded by a
 * timeout), then telling workers to go.
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

  return setup({
    types: {
      context: {} as BrokerContext,
      events: {} as BrokerEvent,
      emitted: {} as BrokerEmitted,
    },
    delays: { drainTimeout: drainTimeoutMs },
    guards: {
      drained: ({ context }) => context.core.inFlightCount === 0,
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
      recordEndpoints: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'zmq.ready') return;
        const endpoints = { ...context.endpoints, [event.socket]: event.endpoints };
        enqueue.assign({ endpoints });
        if (config.sockets.every((s) => endpoints[s] !== undefined)) {
          log.info({ endpoints }, 'broker listening');
          enqueue.emit({ type: 'broker.listening', endpoints });
        }
      }),
      handleBatch: ({ context, event }) => {
        if (event.type !== 'zmq.batch') return;
        context.core.handle(event.messages, event.socket, now());
      },
      tick: ({ context }) => {
        const t = now();
        context.core.tick(t);
        overload.tick(t, t - context.core.heartbeatIntervalMs, context.core.queuedBytes);
      },
      startDrain: ({ context }) => {
        log.info({ inFlight: context.core.inFlightCount }, 'draining');
        context.core.startDrain();
      },
      finishDrain: ({ context }) => {
        if (context.core.inFlightCount > 0) {
          log.warn({ inFlight: context.core.inFlightCount }, 'drain timed out; in-flight requests abandoned');
        }
        context.core.finishDrain();
      },
      /** Everything the core produced: frames to the adapters, session lifecycle, drop counts, metrics. */
      flush: enqueueActions(({ context, system, enqueue }) => {
        const core = context.core;
        for (const [via, messages] of core.out) {
          const socket = system.get(via);
          const send: ZmqCommand<Buffer[]> = { type: 'zmq.send', messages };
          if (socket) enqueue.sendTo(socket, send);
        }
        core.out.clear();
        if (core.sessions.length > 0) {
          const sessions = system.get(config.sessions);
          for (const cmd of core.sessions) {
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
              if (sessions) enqueue.sendTo(sessions, start);
            } else if (cmd.type === 'session.end') {
              log.info({ worker: cmd.hex, reason: cmd.reason }, 'worker left');
              // Through the supervisor, in order with the starts: a session started earlier in
              // this same burst is not spawned yet, so resolving its ref now would miss it and
              // leak the session. Each registration has its own id (see SessionCommand).
              const end: SupervisorEvent = { type: 'supervisor.terminateChild', id: `worker-${cmd.session}`, reason: cmd.reason };
              if (sessions) enqueue.sendTo(sessions, end);
            } else {
              const session = system.get(`${config.sessionPrefix}.${cmd.session}`);
              const update: WorkerSessionEvent = { type: 'session.update', inFlight: cmd.inFlight, served: cmd.served };
              if (session) enqueue.sendTo(session, update);
            }
          }
          core.sessions.length = 0;
        }
        if (frontend !== undefined && core.pressure !== context.flow.paused) {
          const paused = !context.flow.paused;
          context.flow.paused = paused;
          overload.pushBack(paused, now(), core.queuedBytes);
          const reader = system.get(frontend);
          if (reader) enqueue.sendTo(reader, { type: paused ? 'zmq.pause' : 'zmq.resume' });
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
      }),
      publishMetrics: ({ context }) => published.publish(context.core, context.published),
    },
  }).createMachine({
    id: 'broker',
    context: () => {
      current = {
        core: new BrokerCore({ ...config, backPressure: frontend !== undefined, observeLatency: published.observeLatency ?? config.observeLatency }),
        flow: { paused: false },
        endpoints: {},
        published: newPublished(),
      };
      return current;
    },
    entry: 'announce',
    initial: 'running',
    on: {
      'zmq.ready': { actions: 'recordEndpoints' },
      'zmq.batch': { actions: ['handleBatch', 'flush'] },
      'heartbeat.tick': { actions: ['tick', 'flush', 'publishMetrics'] },
    },
    states: {
      running: {
        on: { 'lifecycle.shutdown': 'draining' },
      },
      draining: {
        entry: ['startDrain', 'flush'],
        always: { guard: 'drained', target: 'stopped' },
        after: { drainTimeout: 'stopped' },
      },
      stopped: {
        entry: ['finishDrain', 'flush', assign({ endpoints: {} })],
        type: 'final',
      },
    },
  });
}

