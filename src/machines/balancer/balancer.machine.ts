import { enqueueActions, setup, type AnyActorLogic } from 'xstate';
import type { ConfigFileCommand, ConfigOwnerEvent } from '../../actors/config-file.js';
import type { ZmqCommand, ZmqOwnerEvent } from '../../actors/zmq-socket.js';
import type { BalancerConfig } from '../../config/balancer-config.js';
import type { Logger } from '../../log.js';
import { silentLogger } from '../../log.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { StirrErrorReason, StirrInbound, StirrReply } from '../../protocol/stirr.js';
import type { SupervisorEvent } from '../../supervisor/types.js';
import type { HeartbeatTick } from '../heartbeat/heartbeat-monitor.machine.js';
import type { Random } from './algorithms.js';
import type { BackendHealthInput, HealthStatusEvent } from './events.js';
import { BalancerTable, type HealthPlan } from './balancer-table.js';

export interface BalancerMachineConfig {
  /** systemId of the ROUTER adapter. */
  readonly socket: string;
  /** systemId of the configuration file actor. */
  readonly config: string;
  /** systemId of the supervisor that holds the health actors. */
  readonly health: string;
  /** Health actors are registered as `${healthPrefix}.${healthId}`. */
  readonly healthPrefix: string;
  /** This machine's own systemId: health actors report to it. */
  readonly self: string;
  /** The backend-health machine with its real check provided (the tree supplies it: machines import no socket). */
  readonly healthLogic: AnyActorLogic;
  /** Upper bound of one health check; a check also never runs longer than its heartbeat. */
  readonly checkTimeoutMs?: number;
  readonly random?: Random;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
}

export type BalancerEvent =
  | ZmqOwnerEvent<StirrInbound>
  | ConfigOwnerEvent<BalancerConfig>
  | HealthStatusEvent
  | HeartbeatTick
  | { type: 'lifecycle.shutdown' };

export type BalancerEmitted =
  | { type: 'balancer.listening'; endpoint: string }
  | { type: 'balancer.configApplied'; digest: string; backends: number }
  | { type: 'balancer.configRejected'; file: string; error: string };

export interface ConfigState {
  /** Digest of the configuration in force. */
  digest: string | undefined;
  applied: number;
  rejected: number;
  lastError: string | undefined;
}

export interface BalancerContext {
  readonly table: BalancerTable;
  endpoint: string | undefined;
  readonly configState: ConfigState;
}

const DEFAULT_CHECK_TIMEOUT_MS = 5_000;

/**
 * The balancer: decoded bursts in, one reply per request out, one `zmq.send`
 * per burst. Selection is the table's (plain code); this machine owns the
 * life around it: applying configurations as the file actor delivers them,
 * starting and stopping a health actor per checked backend, and folding
 * their reports into the table.
 */
export function balancerMachine(config: BalancerMachineConfig) {
  const log = (config.logger ?? silentLogger).child({ actor: 'balancer' });
  const checkTimeoutMs = config.checkTimeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const decisions = config.metrics?.counter('steward_balancer_decisions_total', 'Requests answered with a backend configuration');
  const errors = config.metrics?.counter('steward_balancer_errors_total', 'Requests answered with an error, by reason', ['reason']);
  const backendsUp = config.metrics?.gauge('steward_balancer_backends', 'Backends by health status', ['status']);

  const startSpec = (plan: HealthPlan): SupervisorEvent => ({
    type: 'supervisor.startChild',
    spec: {
      id: plan.id,
      systemId: `${config.healthPrefix}.${plan.id}`,
      logic: config.healthLogic,
      input: {
        id: plan.id,
        target: plan.target,
        intervalMs: plan.intervalMs,
        timeoutMs: Math.min(checkTimeoutMs, plan.intervalMs),
        owner: config.self,
      } satisfies BackendHealthInput,
      restart: 'permanent',
    },
  });

  const publishGauge = (table: BalancerTable) => {
    if (!backendsUp) return;
    const counts = { up: 0, down: 0, unknown: 0 };
    for (const b of table.summary()) counts[b.status] += 1;
    for (const [status, n] of Object.entries(counts)) backendsUp.set({ status }, n);
  };

  return setup({
    types: {
      context: {} as BalancerContext,
      events: {} as BalancerEvent,
      emitted: {} as BalancerEmitted,
    },
    actions: {
      announce: enqueueActions(({ system, enqueue }) => {
        const socket = system.get(config.socket);
        if (socket) enqueue.sendTo(socket, { type: 'zmq.announce' } satisfies ZmqCommand<StirrReply>);
        const file = system.get(config.config);
        if (file) enqueue.sendTo(file, { type: 'config.announce' } satisfies ConfigFileCommand);
      }),
      recordEndpoint: enqueueActions(({ event, enqueue }) => {
        if (event.type !== 'zmq.ready') return;
        const endpoint = event.endpoints[0] ?? '';
        enqueue.assign({ endpoint });
        log.info({ endpoint }, 'balancer listening');
        enqueue.emit({ type: 'balancer.listening', endpoint });
      }),
      answer: enqueueActions(({ context, event, system, enqueue }) => {
        if (event.type !== 'zmq.batch') return;
        const { table } = context;
        const replies: StirrReply[] = new Array(event.messages.length);
        let ok = 0;
        let failures: StirrErrorReason[] | undefined;
        for (let i = 0; i < event.messages.length; i++) {
          const { reply, reason } = table.answer(event.messages[i] as StirrInbound);
          replies[i] = reply;
          if (reason === undefined) ok += 1;
          else (failures ??= []).push(reason);
        }
        if (ok > 0) decisions?.inc(ok);
        if (failures) for (const reason of failures) errors?.inc({ reason });
        const socket = system.get(config.socket);
        const send: ZmqCommand<StirrReply> = { type: 'zmq.send', messages: replies };
        if (socket) enqueue.sendTo(socket, send);
      }),
      applyConfig: enqueueActions(({ context, event, system, enqueue }) => {
        if (event.type !== 'config.loaded') return;
        const { table, configState } = context;
        if (event.config.digest === table.digest) return;
        const plan = table.apply(event.config);
        configState.digest = event.config.digest;
        configState.applied += 1;
        const health = system.get(config.health);
        if (health) {
          for (const id of plan.stop) {
            const terminate: SupervisorEvent = { type: 'supervisor.terminateChild', id };
            enqueue.sendTo(health, terminate);
          }
          for (const p of plan.start) enqueue.sendTo(health, startSpec(p));
        }
        log.info(
          { backends: table.size, healthChecksStarted: plan.start.length, healthChecksStopped: plan.stop.length, cause: event.cause },
          'configuration applied',
        );
        publishGauge(table);
        enqueue.emit({ type: 'balancer.configApplied', digest: event.config.digest, backends: table.size });
      }),
      recordRejection: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'config.rejected') return;
        context.configState.rejected += 1;
        context.configState.lastError = event.error;
        enqueue.emit({ type: 'balancer.configRejected', file: event.file, error: event.error });
      }),
      recordHealth: ({ context, event }) => {
        if (event.type !== 'health.status') return;
        const changed = context.table.setStatus(event.id, event.status, event.error);
        if (!changed) return;
        const where = { backend: changed.spec.index, group: changed.spec.group, type: changed.spec.type, health: event.id };
        if (event.status === 'up') log.info(where, 'backend up');
        else log.warn({ ...where, error: event.error }, 'backend down');
        publishGauge(context.table);
      },
      /** A health actor that vanished (its shard supervisor restarted empty) is started again. */
      reconcile: enqueueActions(({ context, system, enqueue }) => {
        const health = system.get(config.health);
        if (!health) return;
        for (const plan of context.table.healthPlans()) {
          if (!system.get(`${config.healthPrefix}.${plan.id}`)) enqueue.sendTo(health, startSpec(plan));
        }
      }),
    },
  }).createMachine({
    id: 'balancer',
    context: () => ({
      table: new BalancerTable(config.random ? { random: config.random } : {}),
      endpoint: undefined,
      configState: { digest: undefined, applied: 0, rejected: 0, lastError: undefined },
    }),
    entry: 'announce',
    initial: 'running',
    states: {
      running: {
        on: {
          'zmq.ready': { actions: 'recordEndpoint' },
          'zmq.batch': { actions: 'answer' },
          'config.loaded': { actions: 'applyConfig' },
          'config.rejected': { actions: 'recordRejection' },
          'health.status': { actions: 'recordHealth' },
          'heartbeat.tick': { actions: 'reconcile' },
          'lifecycle.shutdown': 'stopped',
        },
      },
      stopped: { type: 'final' },
    },
  });
}

export type BalancerMachineLogic = ReturnType<typeof balancerMachine>;
