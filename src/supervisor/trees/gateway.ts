import { httpListener } from '../../actors/http-listener.js';
import { zmqSocket, type SocketOptions } from '../../actors/zmq-socket.js';
import { zmtpCanBind, zmtpRouter } from '../../actors/zmtp-router.js';
import type { GatewaySettings } from '../../config/gateway.js';
import type { Logger } from '../../log.js';
import { gatewayDrain } from '../../machines/gateway/drain.machine.js';
import { heartbeatMonitor } from '../../machines/heartbeat/heartbeat-monitor.js';
import { BackendDispatch } from '../../machines/gateway/dispatch.js';
import { gatewayMachine } from '../../machines/gateway/gateway.machine.js';
import { GatewayRegistry } from '../../machines/gateway/registry.js';
import type { SessionLimits } from '../../machines/gateway/session-types.js';
import type { Metrics } from '../../metrics/registry.js';
import { backendCodec } from '../../protocol/blastbeat/message.js';
import { curveServer, type CurveServerOptions } from '../../security/curve.js';
import { dynamicSupervisor } from '../sharded.js';
import { supervisor } from '../supervisor.js';
import type { ChildSpec } from '../types.js';

export interface GatewayTreeConfig {
  /** Names the tree; systemIds are `${name}.zmq`, `${name}.router` ... */
  readonly name?: string;
  readonly settings: GatewaySettings;
  /** Shared tables; made from the settings when not given (the API passes its own to expose them). */
  readonly registry?: GatewayRegistry;
  /** How often presence and deadlines are checked; derived from the timeouts when not given. */
  readonly sweepIntervalMs?: number;
  /** How long a shutdown waits for exchanges in flight. */
  readonly drainTimeoutMs?: number;
  /** How long a closing connection (WebSocket close handshake, flushing) may take. */
  readonly closeTimeoutMs?: number;
  /**
   * Shard supervisors the sessions are spread over (default 128). XState copies a supervisor's table of
   * children on every spawn, so a shard's size sets what opening one more connection costs: with 20,000
   * sessions open a spawn took about 400 us with 16 shards (and left its copy as garbage), 160 with 32,
   * 90 with 64, 83 with 128, 70 with 256. The live inspector hides empty shards.
   */
  readonly sessionShards?: number;
  /** Largest message accepted from a node, in bytes (ZMQ_MAXMSGSIZE). */
  readonly maxMessageSize?: number;
  readonly socketOptions?: SocketOptions;
  /**
   * CURVE on the nodes' ROUTER, with a ZAP allow-list of node keys: a node
   * whose key is not listed never gets a message through, so it never
   * becomes available and no session is routed to it.
   */
  readonly curve?: CurveServerOptions;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly now?: () => number;
}

export interface GatewayTreeIds {
  readonly root: string;
  readonly zmq: string;
  readonly router: string;
  readonly sweep: string;
  readonly sessions: string;
  readonly http: string;
  readonly drain: string;
}

export function gatewayTreeIds(name = 'gateway'): GatewayTreeIds {
  return {
    root: name,
    zmq: `${name}.zmq`,
    router: `${name}.router`,
    sweep: `${name}.sweep`,
    sessions: `${name}.sessions`,
    http: `${name}.http`,
    drain: `${name}.drain`,
  };
}

export function gatewayRegistry(settings: GatewaySettings): GatewayRegistry {
  return new GatewayRegistry(
    settings.vhosts.map((v) => ({ name: v.name, nodes: v.nodes, aliases: v.aliases, timeoutMs: v.timeoutMs, maxSessions: v.maxSessions })),
    settings.pingFreqMs,
    { maxNodeSessions: settings.maxNodeSessions },
  );
}

export function sessionLimits(settings: GatewaySettings, closeTimeoutMs = 2_000): SessionLimits {
  return {
    head: { maxHeadSize: settings.maxHeadSize, maxHeaders: settings.maxHeaders, maxBodySize: settings.maxBodySize },
    maxWebSocketMessage: settings.maxWebSocketMessage,
    headerTimeoutMs: settings.headerTimeoutMs,
    bodyTimeoutMs: settings.bodyTimeoutMs,
    idleTimeoutMs: settings.idleTimeoutMs,
    closeTimeoutMs,
    maxPipelined: Math.max(64 * 1024, settings.maxHeadSize * 2),
  };
}

/** Fine enough for the shortest timeout configured, never busier than every 10 ms. */
function defaultSweep(settings: GatewaySettings): number {
  const shortest = Math.min(settings.pingFreqMs / 2, settings.headerTimeoutMs / 4, settings.bodyTimeoutMs / 4, ...settings.vhosts.map((v) => v.timeoutMs / 4), 250);
  return Math.max(10, Math.floor(shortest));
}

/**
 * gateway (rest_for_one)
 *   zap        with CURVE: the ZAP handler, bound before the ROUTER listens
 *   zmq        ROUTER for backend nodes (handover: a node reconnecting under its name is taken at once)
 *   router     presence, pings, dispatch of node messages to sessions, the deadline sweep
 *   sweep      heartbeat monitor: ticks the router (presence, pings, deadlines) on the system clock
 *   sessions   one gateway-session actor per client connection, sharded
 *   http       HTTP/HTTPS servers and client sockets; a connection becomes a session
 *   drain      the terminator: on shutdown, stop accepting and let sessions finish
 *
 * Stopped in reverse: the drain runs while everything else still works, then
 * the sockets go, the sessions, the router, and the ROUTER last.
 */
export function gatewayTree(config: GatewayTreeConfig) {
  const ids = gatewayTreeIds(config.name);
  const settings = config.settings;
  const registry = config.registry ?? gatewayRegistry(settings);
  const drainTimeoutMs = config.drainTimeoutMs ?? 5_000;
  const metrics = config.metrics ? { metrics: config.metrics } : {};
  const now = config.now ? { now: config.now } : {};
  const socketOptions: SocketOptions = {
    maxMessageSize: config.maxMessageSize ?? 64 * 1024 * 1024,
    handover: true,
    sendHighWaterMark: 100_000,
    receiveHighWaterMark: 100_000,
    ...config.socketOptions,
  };
  const curve = curveServer(config.curve, { server: ids.root, logger: config.logger, ...metrics });
  // Node messages are per-message work: the ROUTER hands each burst to the gateway machine's inlet, which runs it.
  const dispatch = new BackendDispatch({ registry, logger: config.logger, ...metrics, ...now });
  const zmtp = config.curve === undefined && zmtpCanBind(settings.zmq);
  // A session ending is routine: its supervisor logs exits only when something is wrong.
  const sessionsLogger = config.logger.child({}, { level: 'warn' });
  const children: ChildSpec[] = [
    ...curve.children,
    {
      id: 'zmq',
      systemId: ids.zmq,
      // Plain TCP or IPC: steward's own ZMTP ROUTER (zmtp-router.ts), a burst per read and per write.
      // CURVE, inproc and the rest: libzmq through zeromq.js.
      logic:
        zmtp
          ? zmtpRouter({
              name: ids.zmq,
              bind: [settings.zmq],
              owner: ids.router,
              codec: backendCodec(),
              handover: socketOptions.handover ?? true,
              ...(socketOptions.maxMessageSize !== undefined ? { maxMessageSize: socketOptions.maxMessageSize } : {}),
              logger: config.logger,
              ...metrics,
            })
          : zmqSocket(curve.secure({
              name: ids.zmq,
              kind: 'router',
              bind: [settings.zmq],
              owner: ids.router,
              codec: backendCodec(),
              options: socketOptions,
              logger: config.logger,
              ...metrics,
            })),
    },
    {
      id: 'router',
      systemId: ids.router,
      logic: gatewayMachine({ registry, dispatch, socket: ids.zmq, logger: config.logger, ...metrics, ...now }),
    },
    {
      id: 'sweep',
      systemId: ids.sweep,
      logic: heartbeatMonitor,
      input: { target: ids.router, intervalMs: config.sweepIntervalMs ?? defaultSweep(settings) },
    },
    {
      id: 'sessions',
      systemId: ids.sessions,
      shutdown: 5_000,
      logic: dynamicSupervisor({
        name: ids.sessions,
        shards: config.sessionShards ?? 128,
        logger: sessionsLogger,
        intensity: 100,
        period: 10_000,
        ...now,
      }),
    },
    {
      id: 'http',
      systemId: ids.http,
      logic: httpListener({
        name: ids.http,
        http: settings.bind,
        https: settings.bindSsl,
        tlsSites: settings.vhosts.flatMap((v) => (v.tls ? [{ names: [v.name.replace(/:\d+$/, ''), ...v.aliases.map((a) => a.replace(/:\d+$/, ''))], cert: v.tls.cert, key: v.tls.key }] : [])),
        owner: ids.router,
        sessions: ids.sessions,
        sessionPrefix: `${ids.sessions}.`,
        zmqSocket: ids.zmq,
        registry,
        limits: sessionLimits(settings, config.closeTimeoutMs),
        maxSessions: settings.maxSessions,
        writeQueueLimit: settings.writeQueueBuffer,
        logger: config.logger,
        ...metrics,
        ...now,
      }),
    },
    {
      id: 'drain',
      systemId: ids.drain,
      shutdown: drainTimeoutMs + 1_000,
      logic: gatewayDrain({ registry, http: ids.http, drainTimeoutMs }),
    },
  ];
  return supervisor({
    name: ids.root,
    strategy: 'rest_for_one',
    intensity: 5,
    period: 30_000,
    backoff: { initial: 100, max: 5_000 },
    children,
    logger: config.logger,
    ...now,
  });
}
