import type { SocketOptions } from '../../actors/zmq-socket.js';
import { usesZmtp, type SocketTransport } from '../../actors/socket-transport.js';
import { zmtpDealer } from '../../actors/zmtp-dealer.js';
import { zmtpCanConnect } from '../../actors/zmtp-dealer-socket.js';
import type { Logger } from '../../log.js';
import { heartbeatMonitor } from '../../machines/heartbeat/heartbeat-monitor.machine.js';
import { CreditPool } from '../../machines/worker/credit-pool.js';
import { workerConnection, type WorkerConnectionConfig } from '../../machines/worker/worker-connection.machine.js';
import type { Metrics } from '../../metrics/metrics.js';
import { rawCodec } from '../../protocol/codec.js';
import { MDP_HEARTBEAT_INTERVAL_MS } from '../../protocol/mdp.js';
import { WORKER_MAX_FRAMES, workerCodec } from '../../protocol/worker-wire.js';
import { resolveCurveClient, secureClientSocket, type CurveClientOptions } from '../../security/curve.js';
import { supervisor } from '../supervisor.js';
import { socketChild } from './parts.js';
import { SOCKET_SHUTDOWN_MS } from './constants.js';
import type { ChildSpec } from '../types.js';

export interface WorkerTreeConfig extends Omit<WorkerConnectionConfig, 'socket' | 'pool' | 'index'> {
  readonly name?: string;
  /** Broker backend endpoints: the worker registers with every one of them. */
  readonly brokers: readonly string[];
  /** A fixed routing id (a named worker); brokers accept its reconnects at once. */
  readonly identity?: string;
  readonly maxMessageSize?: number;
  readonly socketOptions?: SocketOptions;
  /** A sink's PULL endpoint: events the worker emits are pushed there. */
  readonly sink?: string;
  /** Events waiting for the sink beyond this are dropped (counted as `send_queue_full`). */
  readonly maxSinkQueue?: number;
  /** CURVE to the brokers: their public key, and this worker's pair (a fresh one when left out). */
  readonly curve?: CurveClientOptions;
  /**
   * Which ZeroMQ stack speaks to the brokers. `auto` (the default): steward's own ZMTP DEALER
   * (actors/zmtp-dealer.ts) for plain tcp:// and ipc:// brokers, libzmq with CURVE and for the rest.
   * `libzmq`: libzmq always (through zeromq.js). The sink's socket is libzmq's either way.
   */
  readonly transport?: SocketTransport;
  /** CURVE to the sink (its own server key). */
  readonly sinkCurve?: CurveClientOptions;
  readonly logger: Logger;
  readonly metrics?: Metrics;
}

/** systemId of a worker tree's sink socket (send it `zmq.send` with encoded events). */
export const workerSinkId = (name = 'worker') => `${name}.sink`;

/**
 * worker (one_for_one)
 *   link.0 (one_for_all)        one per broker: if its socket or machine fails, both start over;
 *                               the links share the worker's concurrency (machines/worker/credit-pool.ts)
 *     socket                    DEALER to the broker backend (steward's ZMTP, or libzmq with CURVE)
 *     connection                READY, heartbeats, reconnects, runs the handler
 *     heartbeat                 ticks the connection
 *   link.1 ...
 *   sink                        PUSH to the sink, when one is given; first, so it stops last
 */
export function workerTree(config: WorkerTreeConfig) {
  const name = config.name ?? 'worker';
  // Resolved once: a fresh pair, when one is made, stays the same across reconnects and restarts.
  const brokerKeys = config.curve ? resolveCurveClient(config.curve) : undefined;
  const sinkKeys = config.sinkCurve ? resolveCurveClient(config.sinkCurve, 'sinkCurve') : undefined;
  const sinkChildren: ChildSpec[] = config.sink
    ? [
        socketChild('sink', secureClientSocket({
            name: workerSinkId(name),
            kind: 'push',
            connect: [config.sink],
            // A push socket delivers nothing; nobody needs its ready event.
            owner: name,
            codec: rawCodec,
            options: { sendHighWaterMark: 1_000 },
            maxSendQueue: config.maxSinkQueue ?? 10_000,
            logger: config.logger,
            ...(config.metrics ? { metrics: config.metrics } : {}),
          }, sinkKeys, config.logger)),
      ]
    : [];
  // One concurrency for every broker: the pool outlives link restarts, so what a crashed link's handlers hold still counts.
  const compact = (config.wire ?? 'steward') === 'steward';
  const pool = new CreditPool(config.credit ?? 1, config.brokers.length, compact ? 'shared' : 'static');
  const socketOptions: SocketOptions = {
    maxMessageSize: config.maxMessageSize ?? 16 * 1024 * 1024,
    ...(config.identity !== undefined ? { routingId: config.identity } : {}),
    ...config.socketOptions,
  };
  /** The link's DEALER to its broker: steward's ZMTP where it can (docs/architecture.md, "The socket adapter"), else libzmq. */
  const brokerSocket = (endpoint: string, socketId: string, connectionId: string): ChildSpec =>
    usesZmtp(config.transport, brokerKeys, [endpoint], zmtpCanConnect)
      ? {
          id: 'socket',
          systemId: socketId,
          shutdown: SOCKET_SHUTDOWN_MS,
          logic: zmtpDealer({
            name: socketId,
            connect: endpoint,
            owner: connectionId,
            codec: workerCodec,
            options: socketOptions,
            // The worker wire's own bound (decodeWorkerFrames): a longer message is dropped whole, counted alike.
            maxFrames: WORKER_MAX_FRAMES,
            logger: config.logger,
            ...(config.metrics ? { metrics: config.metrics } : {}),
          }),
        }
      : socketChild('socket', secureClientSocket({
          name: socketId,
          kind: 'dealer',
          connect: [endpoint],
          owner: connectionId,
          codec: workerCodec,
          options: socketOptions,
          logger: config.logger,
          ...(config.metrics ? { metrics: config.metrics } : {}),
        }, brokerKeys, config.logger));
  const links: ChildSpec[] = config.brokers.map((endpoint, i) => {
    const prefix = `${name}.link.${i}`;
    const socketId = `${prefix}.socket`;
    const connectionId = `${prefix}.connection`;
    const drainTimeoutMs = config.drainTimeoutMs ?? 5_000;
    return {
      id: `link.${i}`,
      systemId: prefix,
      shutdown: drainTimeoutMs + 1_000,
      logic: supervisor({
        name: prefix,
        strategy: 'one_for_all',
        intensity: 10,
        period: 60_000,
        backoff: { initial: 200, max: 10_000 },
        logger: config.logger,
        children: [
          brokerSocket(endpoint, socketId, connectionId),
          {
            id: 'connection',
            systemId: connectionId,
            shutdown: drainTimeoutMs,
            logic: workerConnection({ ...config, socket: socketId, pool, index: i }),
          },
          {
            id: 'heartbeat',
            logic: heartbeatMonitor,
            input: { target: connectionId, intervalMs: config.heartbeatIntervalMs ?? MDP_HEARTBEAT_INTERVAL_MS },
          },
        ],
      }),
    };
  });
  return supervisor({
    name,
    strategy: 'one_for_one',
    intensity: 5,
    period: 60_000,
    children: [...sinkChildren, ...links],
    logger: config.logger,
  });
}
