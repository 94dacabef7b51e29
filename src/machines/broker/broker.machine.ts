import { assign, enqueueActions, setup } from 'xstate';
import type { ZmqCommand, ZmqOwnerEvent } from '../../actors/zmq-socket.js';
import type { SupervisorEvent } from '../../supervisor/types.js';
import type { Logger } from '../../log.js';
import { silentLogger } from '../../log.js';
import { DropCounter } from '../../metrics/drops.js';
import type { Metrics } from '../../metrics/registry.js';
import type { BrokerInbound } from '../../protocol/broker-wire.js';
import type { HeartbeatTick } from '../heartbeat/heartbeat-monitor.js';
import { BrokerCore, type BrokerCoreOptions } from './routing.js';
import { workerSession, type WorkerSessionEvent, type WorkerSessionInput } from './worker-session.js';

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
  endpoints: Record<string, string[]>;
  /** Counter values already handed to prom-client (the core counts from zero after a restart). */
  readonly published: { requests: number; replies: number };
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
  const latency = config.metrics?.histogram(
    'steward_broker_request_duration_seconds',
    'Time from a request reaching the broker to its reply leaving it',
    [],
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );
  const requests = config.metrics?.counter('steward_broker_requests_total', 'Client requests received (MMI excluded)');
  const replies = config.metrics?.counter('steward_broker_replies_total', 'Worker replies forwarded to clients');
  const workersGauge = config.metrics?.gauge('steward_broker_workers', 'Registered workers per service', ['service']);
  const queueGauge = config.metrics?.gauge('steward_broker_queue_depth', 'Requests waiting for a worker per service', ['service']);
  const drops = new DropCounter('broker', config.metrics, log);

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
        context.core.tick(now());
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
              const end: SupervisorEvent = { type: 'supervisor.terminateChild', id: `worker-${cmd.session}` };
              if (sessions) enqueue.sendTo(sessions, end);
            } else {
              const session = system.get(`${config.sessionPrefix}.${cmd.session}`);
              const update: WorkerSessionEvent = { type: 'session.update', inFlight: cmd.inFlight, served: cmd.served };
              if (session) enqueue.sendTo(session, update);
            }
          }
          core.sessions.length = 0;
        }
        if (core.drops.length > 0) {
          for (const reason of core.drops) drops.drop(reason);
          core.drops.length = 0;
        }
      }),
      publishMetrics: ({ context }) => {
        const { stats } = context.core;
        const { published } = context;
        requests?.inc(stats.requests - published.requests);
        replies?.inc(stats.replies - published.replies);
        published.requests = stats.requests;
        published.replies = stats.replies;
        workersGauge?.reset();
        queueGauge?.reset();
        for (const svc of context.core.summary()) {
          workersGauge?.set({ service: svc.name }, svc.workers);
          queueGauge?.set({ service: svc.name }, svc.queued);
        }
      },
    },
  }).createMachine({
    id: 'broker',
    context: () => ({
      core: new BrokerCore({
        ...config,
        observeLatency: latency ? (ms) => latency.observe(ms / 1000) : config.observeLatency,
      }),
      endpoints: {},
      published: { requests: 0, replies: 0 },
    }),
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

