import { configFile } from '../../actors/config-file.js';
import { healthCheck } from '../../actors/health/index.js';
import type { SocketOptions } from '../../actors/zmq-socket.js';
import { loadBalancerConfig, type BalancerConfig, type BalancerConfigLimits } from '../../config/balancer-config.js';
import type { Logger } from '../../log.js';
import type { Random } from '../../machines/balancer/algorithms.js';
import { backendHealth } from '../../machines/balancer/backend-health.machine.js';
import { balancerMachine } from '../../machines/balancer/balancer.machine.js';
import { heartbeatMonitor } from '../../machines/heartbeat/heartbeat-monitor.machine.js';
import type { Metrics } from '../../metrics/metrics.js';
import { DEFAULT_STIRR_LIMITS, stirrCodec, type StirrLimits } from '../../protocol/stirr.js';
import { curveServer, type CurveServerOptions } from '../../security/curve.js';
import { dynamicSupervisor } from '../sharded.js';
import { roleSupervisor, socketChild } from './parts.js';

export interface BalancerTreeConfig {
  /** Names the tree; systemIds are `${name}.socket`, `${name}.machine` ... */
  readonly name?: string;
  readonly bind: string;
  /** The configuration validated at start-up (load it with `loadBalancerConfig`, which names what is wrong). */
  readonly config: BalancerConfig;
  /** Watch the file and reload on change (default true); SIGHUP and `reload()` work either way. */
  readonly watch?: boolean;
  readonly watchDebounceMs?: number;
  readonly configLimits?: BalancerConfigLimits;
  readonly limits?: Partial<StirrLimits>;
  /**
   * Largest message a peer may send, in bytes (ZMQ_MAXMSGSIZE). libzmq drops
   * the connection of a peer that exceeds it, so it sits well above the
   * request limit, which is answered with an error instead.
   */
  readonly maxMessageSize?: number;
  readonly socketOptions?: SocketOptions;
  /** CURVE on the socket, with a ZAP allow-list of client keys. */
  readonly curve?: CurveServerOptions;
  /** Upper bound of one health check (also never longer than the backend's heartbeat). */
  readonly checkTimeoutMs?: number;
  /** How often the balancer makes sure every checked backend has its health actor. */
  readonly reconcileIntervalMs?: number;
  readonly healthShards?: number;
  readonly random?: Random;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly now?: () => number;
}

export interface BalancerTreeIds {
  readonly root: string;
  readonly socket: string;
  readonly config: string;
  readonly machine: string;
  readonly health: string;
  readonly healthPrefix: string;
  readonly ticker: string;
}

export function balancerTreeIds(name = 'balancer'): BalancerTreeIds {
  return {
    root: name,
    socket: `${name}.socket`,
    config: `${name}.config`,
    machine: `${name}.machine`,
    health: `${name}.health`,
    healthPrefix: `${name}.health.backend`,
    ticker: `${name}.ticker`,
  };
}

/**
 * balancer (rest_for_one)
 *   zap        with CURVE: the ZAP handler, bound before the socket listens
 *   socket     ROUTER at --bind; bound first, closed last
 *   config     the configuration file: watched, reloaded, last good version kept
 *   machine    answers requests; a crash restarts the health actors with it, the socket stays bound
 *   health     one backend-health actor per checked backend, started and stopped by the machine
 *   ticker     ticks the machine, which restarts any health actor that went missing
 */
export function balancerTree(config: BalancerTreeConfig) {
  const ids = balancerTreeIds(config.name);
  const limits: StirrLimits = { ...DEFAULT_STIRR_LIMITS, ...config.limits };
  const socketOptions: SocketOptions = {
    maxMessageSize: config.maxMessageSize ?? Math.max(1024 * 1024, limits.maxRequestBytes * 4),
    sendHighWaterMark: 100_000,
    receiveHighWaterMark: 100_000,
    ...config.socketOptions,
  };
  const now = config.now ? { now: config.now } : {};
  const metrics = config.metrics ? { metrics: config.metrics } : {};
  const curve = curveServer(config.curve, { server: ids.root, logger: config.logger, ...metrics });
  return roleSupervisor({
    name: ids.root,
    logger: config.logger,
    ...now,
    children: [
      ...curve.children,
      socketChild('socket', curve.secure({
          name: ids.socket,
          kind: 'router',
          bind: [config.bind],
          owner: ids.machine,
          codec: stirrCodec(limits),
          options: socketOptions,
          logger: config.logger,
          ...metrics,
        })),
      {
        id: 'config',
        systemId: ids.config,
        logic: configFile({
          name: ids.config,
          file: config.config.file,
          owner: ids.machine,
          initial: config.config,
          load: (file) => loadBalancerConfig(file, config.configLimits),
          ...(config.watch !== undefined ? { watch: config.watch } : {}),
          ...(config.watchDebounceMs !== undefined ? { debounceMs: config.watchDebounceMs } : {}),
          logger: config.logger,
        }),
      },
      {
        id: 'machine',
        systemId: ids.machine,
        logic: balancerMachine({
          socket: ids.socket,
          config: ids.config,
          health: ids.health,
          healthPrefix: ids.healthPrefix,
          self: ids.machine,
          healthLogic: backendHealth.provide({ actors: { check: healthCheck } }),
          ...(config.checkTimeoutMs !== undefined ? { checkTimeoutMs: config.checkTimeoutMs } : {}),
          ...(config.random ? { random: config.random } : {}),
          logger: config.logger,
          ...metrics,
        }),
      },
      {
        id: 'health',
        systemId: ids.health,
        shutdown: 5_000,
        logic: dynamicSupervisor({
          name: ids.health,
          shards: config.healthShards ?? 4,
          logger: config.logger,
          intensity: 100,
          period: 10_000,
          ...now,
        }),
      },
      {
        id: 'ticker',
        systemId: ids.ticker,
        logic: heartbeatMonitor,
        input: { target: ids.machine, intervalMs: config.reconcileIntervalMs ?? 1_000 },
      },
    ],
  });
}
