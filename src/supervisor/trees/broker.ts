import type { SocketOptions } from '../../actors/zmq-socket.js';
import type { Logger } from '../../log.js';
import { heartbeatMonitor } from '../../machines/heartbeat/heartbeat-monitor.machine.js';
import { brokerMachine } from '../../machines/broker/broker.machine.js';
import type { BrokerCoreOptions } from '../../machines/broker/broker-core.js';
import { DropCounter } from '../../metrics/drops.js';
import type { Metrics } from '../../metrics/metrics.js';
import { DEFAULT_BROKER_WIRE_LIMITS, brokerCodec, type BrokerWireLimits } from '../../protocol/broker-wire.js';
import { MDP_HEARTBEAT_INTERVAL_MS } from '../../protocol/mdp.js';
import { curveServer, type CurveServerOptions } from '../../security/curve.js';
import { dynamicSupervisor } from '../sharded.js';
import { SOCKET_SHUTDOWN_MS } from './constants.js';
import { roleSupervisor, socketChild } from './parts.js';
import { zmtpCanBind, zmtpRouter } from '../../actors/zmtp-router.js';
import { usesZmtp, type SocketTransport } from '../../actors/socket-transport.js';
import { MAX_MESSAGE_FRAMES } from '../../protocol/steward-wire.js';
import type { ChildSpec } from '../types.js';

export interface BrokerTreeConfig extends BrokerCoreOptions {
  /** Names the tree; systemIds are `${name}.frontend`, `${name}.broker` ... */
  readonly name?: string;
  readonly frontend: string;
  /** May equal `frontend`: one socket then serves clients and workers. */
  readonly backend: string;
  readonly drainTimeoutMs?: number;
  readonly limits?: Partial<BrokerWireLimits>;
  /**
   * Largest message accepted from a peer, all frames together, in bytes. A
   * larger one is refused and counted (a tagged client is answered 413). A
   * single frame over twice this is cut off by libzmq itself (ZMQ_MAXMSGSIZE),
   * which drops the connection without a word.
   */
  readonly maxMessageSize?: number;
  /** CURVE on both sockets, with a ZAP allow-list of client (and worker) keys. */
  readonly curve?: CurveServerOptions;
  readonly socketOptions?: SocketOptions;
  /**
   * Which ZeroMQ stack speaks on the broker's sockets. `auto` (the default): steward's own ZMTP ROUTER
   * (actors/zmtp-router.ts) for plain tcp:// and ipc:// endpoints, libzmq for CURVE and the rest.
   * `libzmq`: libzmq always (through zeromq.js).
   */
  readonly transport?: BrokerTransport;
  readonly sessionShards?: number;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly now?: () => number;
}

export type BrokerTransport = SocketTransport;

/** The broker's default `maxMessageSize`: 16 MiB. */
export const DEFAULT_MAX_MESSAGE_SIZE = 16 * 1024 * 1024;

export interface BrokerTreeIds {
  readonly root: string;
  readonly frontend: string;
  readonly backend: string;
  readonly broker: string;
  readonly heartbeat: string;
  readonly sessions: string;
}

/** One socket serves both when given one concrete endpoint; two wildcards ask for two ports. */
export function sharesSocket(frontend: string, backend: string): boolean {
  return frontend === backend && !frontend.endsWith(':*');
}

export function brokerTreeIds(name = 'broker'): BrokerTreeIds {
  return {
    root: name,
    frontend: `${name}.frontend`,
    backend: `${name}.backend`,
    broker: `${name}.broker`,
    heartbeat: `${name}.heartbeat`,
    sessions: `${name}.sessions`,
  };
}

/**
 * broker (rest_for_one)
 *   zap                               with CURVE: the ZAP handler, bound before any socket listens
 *   frontend socket, backend socket   bind first; a crash here restarts everything after
 *   broker                            routing; a crash restarts the heartbeat and sessions, sockets stay bound
 *   heartbeat monitor                 ticks the broker
 *   sessions                          one worker-session actor per registered worker, sharded
 *
 * Stopped in reverse: sessions and ticks end, the broker drains in-flight
 * requests while its sockets are still open, then the sockets close.
 */
export function brokerTree(config: BrokerTreeConfig) {
  const ids = brokerTreeIds(config.name);
  const limits = { ...DEFAULT_BROKER_WIRE_LIMITS, ...config.limits };
  const maxMessageSize = config.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  const codec = brokerCodec(limits, maxMessageSize);
  const shared = sharesSocket(config.frontend, config.backend);
  const curve = curveServer(config.curve, { server: ids.root, logger: config.logger, ...(config.metrics ? { metrics: config.metrics } : {}) });
  const socketOptions: SocketOptions = {
    // Headroom above the limit, so a message just over it reaches the codec and its sender is told.
    maxMessageSize: maxMessageSize * 2,
    // Named workers reconnecting under the same identity must be accepted at once.
    handover: true,
    sendHighWaterMark: 100_000,
    receiveHighWaterMark: 100_000,
    ...config.socketOptions,
  };
  const socketsIds = shared ? [ids.frontend] : [ids.frontend, ids.backend];
  // Plain TCP or IPC: steward's own ZMTP ROUTER, no libzmq thread between the wire and the broker, a burst
  // per read and a write per peer per burst (docs/architecture.md, "Hot path rules"). CURVE: libzmq.
  const zmtp = usesZmtp(config.transport, config.curve, [config.frontend, config.backend], zmtpCanBind);
  const socket = (id: 'frontend' | 'backend', name: string, endpoint: string): ChildSpec =>
    zmtp
      ? {
          id,
          systemId: name,
          shutdown: SOCKET_SHUTDOWN_MS,
          logic: zmtpRouter({
            name,
            bind: [endpoint],
            owner: ids.broker,
            codec,
            handover: socketOptions.handover ?? true,
            ...(socketOptions.maxMessageSize !== undefined ? { maxMessageSize: socketOptions.maxMessageSize } : {}),
            // The codec holds messages to the broker's frame limit and answers what it can (413); the
            // transport only keeps a peer from making one message of millions of frames.
            maxFrames: Math.max(limits.maxFrames, MAX_MESSAGE_FRAMES + 1) * 4,
            logger: config.logger,
            ...(config.metrics ? { metrics: config.metrics } : {}),
          }),
        }
      : socketChild(id, curve.secure({
          name,
          kind: 'router',
          bind: [endpoint],
          owner: ids.broker,
          codec,
          options: socketOptions,
          logger: config.logger,
          ...(config.metrics ? { metrics: config.metrics } : {}),
        }));
  const children: ChildSpec[] = [...curve.children, socket('frontend', ids.frontend, config.frontend)];
  if (!shared) children.push(socket('backend', ids.backend, config.backend));
  const drainTimeoutMs = config.drainTimeoutMs ?? 5_000;
  children.push(
    {
      id: 'broker',
      systemId: ids.broker,
      shutdown: drainTimeoutMs + 1_000,
      logic: brokerMachine({
        ...config,
        sockets: socketsIds,
        sessions: ids.sessions,
        sessionPrefix: `${ids.sessions}.worker`,
        drainTimeoutMs,
        drops: new DropCounter('broker', config.metrics, config.logger.child({ actor: 'broker' })),
      }),
    },
    {
      id: 'heartbeat',
      systemId: ids.heartbeat,
      logic: heartbeatMonitor,
      input: { target: ids.broker, intervalMs: config.heartbeatIntervalMs ?? MDP_HEARTBEAT_INTERVAL_MS },
    },
    {
      id: 'sessions',
      systemId: ids.sessions,
      shutdown: 5_000,
      logic: dynamicSupervisor({
        name: ids.sessions,
        shards: config.sessionShards ?? 8,
        logger: config.logger,
        intensity: 100,
        period: 10_000,
        ...(config.now ? { now: config.now } : {}),
      }),
    },
  );
  return roleSupervisor({
    name: ids.root,
    children,
    logger: config.logger,
    ...(config.now ? { now: config.now } : {}),
  });
}
