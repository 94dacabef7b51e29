import type { SocketOptions } from '../../actors/zmq-socket.js';
import type { Logger } from '../../log.js';
import { registryMachine } from '../../machines/registry/registry.machine.js';
import type { Metrics } from '../../metrics/metrics.js';
import { DEFAULT_KEYWORDS_LIMITS, registryCodec, type KeywordsLimits } from '../../protocol/keywords.js';
import { curveServer, type CurveServerOptions } from '../../security/curve.js';
import { dynamicSupervisor } from '../sharded.js';
import { roleSupervisor, socketChild } from './parts.js';

export interface RegistryTreeConfig {
  /** Names the tree; systemIds are `${name}.socket`, `${name}.registry`, `${name}.entries`. */
  readonly name?: string;
  /** Where the registry's ROUTER binds, e.g. `tcp://127.0.0.1:6510`. */
  readonly endpoint: string;
  readonly firstPort: number;
  readonly lastPort: number;
  /** How often dispatchers heartbeat (told to them in the grant). */
  readonly heartbeatMs: number;
  /** Heartbeats a dispatcher may miss before it is dropped and its ports freed. */
  readonly liveness: number;
  readonly limits?: Partial<KeywordsLimits>;
  readonly socketOptions?: SocketOptions;
  /** CURVE on the registry's socket, with a ZAP allow-list of dispatcher and client keys. */
  readonly curve?: CurveServerOptions;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly now?: () => number;
}

export interface RegistryTreeIds {
  readonly root: string;
  readonly socket: string;
  readonly registry: string;
  readonly entries: string;
}

export function registryTreeIds(name = 'registry'): RegistryTreeIds {
  return { root: name, socket: `${name}.socket`, registry: `${name}.registry`, entries: `${name}.entries` };
}

function portOf(endpoint: string): number | undefined {
  const m = /:(\d+)$/.exec(endpoint);
  return m ? Number(m[1]) : undefined;
}

/**
 * registry (rest_for_one)
 *   zap         with CURVE: the ZAP handler, bound before the socket listens
 *   socket      ROUTER bound at the registry's endpoint
 *   registry    the address book; a crash restarts the entries too (they belong to its table)
 *   entries     one actor per registered dispatcher: registered, suspect, expired
 *
 * A restarted registry has an empty table: dispatchers learn it from their
 * next heartbeat's answer and register again, keeping their ports if free.
 */
export function registryTree(config: RegistryTreeConfig) {
  const ids = registryTreeIds(config.name);
  const limits = { ...DEFAULT_KEYWORDS_LIMITS, ...config.limits };
  const expiryMs = config.heartbeatMs * config.liveness;
  const own = portOf(config.endpoint);
  const curve = curveServer(config.curve, { server: ids.root, logger: config.logger, ...(config.metrics ? { metrics: config.metrics } : {}) });
  return roleSupervisor({
    name: ids.root,
    logger: config.logger,
    ...(config.now ? { now: config.now } : {}),
    children: [
      ...curve.children,
      socketChild('socket', curve.secure({
          name: ids.socket,
          kind: 'router',
          bind: [config.endpoint],
          owner: ids.registry,
          codec: registryCodec(limits),
          options: { maxMessageSize: 64 * 1024, ...config.socketOptions },
          logger: config.logger,
          ...(config.metrics ? { metrics: config.metrics } : {}),
        })),
      {
        id: 'registry',
        systemId: ids.registry,
        logic: registryMachine({
          self: ids.registry,
          socket: ids.socket,
          entries: ids.entries,
          firstPort: config.firstPort,
          lastPort: config.lastPort,
          exclude: own === undefined ? [] : [own],
          heartbeatMs: config.heartbeatMs,
          expiryMs,
          // One missed beat is normal jitter; two make a dispatcher suspect.
          suspectAfterMs: Math.min(expiryMs, Math.ceil(config.heartbeatMs * 2)),
          maxListEntries: limits.maxListEntries,
          logger: config.logger,
          ...(config.metrics ? { metrics: config.metrics } : {}),
          ...(config.now ? { now: config.now } : {}),
        }),
      },
      {
        id: 'entries',
        systemId: ids.entries,
        shutdown: 5_000,
        logic: dynamicSupervisor({
          name: ids.entries,
          shards: 4,
          logger: config.logger,
          intensity: 100,
          period: 10_000,
          ...(config.now ? { now: config.now } : {}),
        }),
      },
    ],
  });
}
