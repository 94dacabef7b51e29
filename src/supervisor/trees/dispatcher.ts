import { childProcess } from '../../actors/child-process.js';
import { zmqSocket, type SocketOptions } from '../../actors/zmq-socket.js';
import type { KeywordDefinition } from '../../config/keywords-file.js';
import type { Logger } from '../../log.js';
import { keywordServiceMachine, type SocketBinding } from '../../machines/keywords/keyword-service.machine.js';
import { registrarMachine, type SocketsForGrant } from '../../machines/keywords/registrar.machine.js';
import type { Metrics } from '../../metrics/metrics.js';
import {
  DEFAULT_KEYWORDS_LIMITS,
  broadcastCodec,
  dispatcherCodec,
  replyCodec,
  type Grant,
  type KeywordsLimits,
  type Reply,
} from '../../protocol/keywords.js';
import { curveServer, publicKeyOf, resolveCurveClient, secureClientSocket, type CurveServerOptions } from '../../security/curve.js';
import { supervisor } from '../supervisor.js';
import { roleSupervisor, socketChild } from './parts.js';
import type { ChildSpec } from '../types.js';
import { registryTree, registryTreeIds, type RegistryTreeConfig } from './registry.js';

/** How a dispatcher with no registry to answer it starts one. */
export type RegistrySpawn =
  /** In this process, as a supervised subtree. */
  | { readonly mode: 'thread'; readonly tree: Omit<RegistryTreeConfig, 'logger' | 'metrics' | 'now'> }
  /** As a child process (`node dist/main.js --role registry ...`), stopped when this tree stops. */
  | { readonly mode: 'process'; readonly command: string; readonly args: readonly string[] };

export type DispatcherPlacement =
  /** Registry disabled: bind these endpoints (the `[zmq]` ports). */
  | { readonly kind: 'direct'; readonly dispatch: string; readonly broadcast: string }
  | {
      readonly kind: 'registry';
      /** The registry's endpoint, to connect to. */
      readonly registry: string;
      /** The host the granted endpoints name (where this dispatcher binds, clients connect). */
      readonly host: string;
      readonly token: string;
      readonly timeoutMs: number;
      readonly allowSpawn: boolean;
      readonly spawn?: RegistrySpawn;
      readonly bindTimeoutMs?: number;
      readonly retryMs?: number;
    };

/** CURVE for a dispatcher: its pair and allow-list serve its own sockets, and the pair is its key towards the registry. */
export interface DispatcherCurve extends CurveServerOptions {
  /** The registry's public key; default this dispatcher's own (a keyword mesh sharing one pair). */
  readonly registryKey?: string;
  /** The file the pair came from: a registry process this dispatcher starts is given it. */
  readonly keyFile?: string;
}

export interface DispatcherTreeConfig {
  readonly service: string;
  readonly definitions: readonly KeywordDefinition[];
  readonly placement: DispatcherPlacement;
  /** Names the tree; default `dispatcher.<service>`. */
  readonly name?: string;
  readonly limits?: Partial<KeywordsLimits>;
  readonly socketOptions?: SocketOptions;
  /** CURVE on the dispatch and broadcast sockets, and towards the registry. */
  readonly curve?: DispatcherCurve;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly now?: () => number;
}

export interface DispatcherTreeIds {
  readonly root: string;
  readonly keywords: string;
  readonly link: string;
  readonly registrar: string;
  readonly endpoints: string;
  readonly spawnedRegistry: string;
}

export function dispatcherTreeIds(service: string, name = `dispatcher.${service}`): DispatcherTreeIds {
  return {
    root: name,
    keywords: `${name}.keywords`,
    link: `${name}.link`,
    registrar: `${name}.registrar`,
    endpoints: `${name}.endpoints`,
    spawnedRegistry: `${name}.spawned-registry`,
  };
}

/**
 * dispatcher.<service> (rest_for_one)
 *   keywords     the keyword service: values survive socket restarts, which come after it
 *   -- registry disabled --
 *   dispatch     ROUTER at [zmq] dispatch-port
 *   broadcast    PUB at [zmq] broadcast-port
 *   -- registry enabled --
 *   link         DEALER to the registry
 *   registrar    registers, binds the granted ports, heartbeats; may start a registry
 *   endpoints    supervisor of the dispatch ROUTER and broadcast PUB of the current grant
 *   (registry)   started by the registrar when none answers: a subtree or a child process
 *
 * Stopped in reverse: a spawned registry, the sockets, then the registrar
 * unregisters while the link is still open.
 */
export function dispatcherTree(config: DispatcherTreeConfig) {
  const ids = dispatcherTreeIds(config.service, config.name);
  const limits = { ...DEFAULT_KEYWORDS_LIMITS, ...config.limits };
  const metrics = config.metrics ? { metrics: config.metrics } : {};
  const curve = curveServer(config.curve, { server: ids.root, logger: config.logger, ...metrics });

  const sockets = (dispatch: string, broadcast: string, generation: number): SocketsForGrant => {
    const binding: SocketBinding = { dispatch: `${ids.root}.dispatch.${generation}`, broadcast: `${ids.root}.broadcast.${generation}`, generation };
    const children: ChildSpec[] = [
      socketChild(
        `dispatch.${generation}`,
        curve.secure({
          name: binding.dispatch,
          kind: 'router',
          bind: [dispatch],
          owner: ids.keywords,
          codec: dispatcherCodec(limits),
          options: { maxMessageSize: limits.maxValueBytes + 64 * 1024, sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000, ...config.socketOptions },
          logger: config.logger,
          ...metrics,
        }),
      ),
      socketChild(
        `broadcast.${generation}`,
        curve.secure({
          name: binding.broadcast,
          kind: 'pub',
          bind: [broadcast],
          owner: ids.keywords,
          codec: broadcastCodec,
          // A slow subscriber loses broadcasts past this many (PUB never blocks); it can read the value again.
          options: { sendHighWaterMark: 100_000, ...config.socketOptions },
          logger: config.logger,
          ...metrics,
        }),
      ),
    ];
    return { binding, children };
  };

  const placement = config.placement;
  const children: ChildSpec[] = [];
  if (placement.kind === 'direct') {
    const direct = sockets(placement.dispatch, placement.broadcast, 0);
    children.push(
      {
        id: 'keywords',
        systemId: ids.keywords,
        logic: keywordServiceMachine({ service: config.service, definitions: config.definitions, binding: direct.binding, logger: config.logger, ...metrics }),
      },
      // After the keywords (their values outlive a ZAP restart), before every socket.
      ...curve.children,
      ...direct.children,
    );
  } else {
    children.push(
      {
        id: 'keywords',
        systemId: ids.keywords,
        logic: keywordServiceMachine({ service: config.service, definitions: config.definitions, registrar: ids.registrar, logger: config.logger, ...metrics }),
      },
      ...curve.children,
      {
        id: 'link',
        systemId: ids.link,
        logic: zmqSocket<Reply, Buffer[]>(secureClientSocket({
          name: ids.link,
          kind: 'dealer',
          connect: [placement.registry],
          owner: ids.registrar,
          codec: replyCodec(limits),
          options: { maxMessageSize: 1024 * 1024, ...config.socketOptions },
          logger: config.logger,
          ...metrics,
        }, registryKeys(config.curve), config.logger)),
      },
      {
        id: 'registrar',
        systemId: ids.registrar,
        shutdown: Math.min(placement.timeoutMs, 1_000) + 500,
        logic: registrarMachine({
          service: config.service,
          token: placement.token,
          host: placement.host,
          registryEndpoint: placement.registry,
          timeoutMs: placement.timeoutMs,
          allowSpawn: placement.allowSpawn,
          link: ids.link,
          keywords: ids.keywords,
          endpoints: ids.endpoints,
          root: ids.root,
          sockets: (grant: Grant, generation: number) => sockets(grant.dispatch, grant.broadcast, generation),
          ...(placement.spawn ? { spawn: spawnSpec(placement.spawn, ids, config) } : {}),
          ...(placement.bindTimeoutMs !== undefined ? { bindTimeoutMs: placement.bindTimeoutMs } : {}),
          ...(placement.retryMs !== undefined ? { retryMs: placement.retryMs } : {}),
          logger: config.logger,
        }),
      },
      {
        id: 'endpoints',
        systemId: ids.endpoints,
        shutdown: 5_000,
        logic: supervisor({
          name: ids.endpoints,
          intensity: 10,
          period: 10_000,
          backoff: { initial: 50, max: 1_000 },
          logger: config.logger,
          ...(config.now ? { now: config.now } : {}),
        }),
      },
    );
  }
  return roleSupervisor({
    name: ids.root,
    children,
    logger: config.logger,
    ...(config.now ? { now: config.now } : {}),
  });
}

/** The link's keys: this dispatcher's pair, towards the registry's key (its own by default). */
function registryKeys(curve: DispatcherCurve | undefined) {
  if (!curve) return undefined;
  const publicKey = publicKeyOf('curve', curve.secretKey, curve.publicKey);
  return resolveCurveClient({ serverKey: curve.registryKey ?? publicKey, secretKey: curve.secretKey, publicKey }, 'curve');
}

/** A registry this dispatcher starts serves with the dispatcher's pair and allow-list (and so lets the dispatcher in). */
function registryCurve(curve: DispatcherCurve | undefined): CurveServerOptions | undefined {
  if (!curve) return undefined;
  const { registryKey: _registryKey, keyFile: _keyFile, ...server } = curve;
  return server;
}

function spawnSpec(spawn: RegistrySpawn, ids: DispatcherTreeIds, config: DispatcherTreeConfig): { spec: ChildSpec; systemId: string; mode: string } {
  if (spawn.mode === 'thread') {
    // Its own tree name, so its systemIds never collide with a registry the user runs in this process.
    const name = `${ids.root}.registry`;
    const systemId = registryTreeIds(name).root;
    const curve = registryCurve(config.curve);
    const logic = registryTree({ ...spawn.tree, name, ...(curve ? { curve } : {}), logger: config.logger, ...(config.metrics ? { metrics: config.metrics } : {}) });
    // temporary: if it dies (another registry took the port), the registrar decides whether to start one again.
    return { spec: { id: 'registry', systemId, restart: 'temporary', shutdown: 10_000, logic }, systemId, mode: 'thread' };
  }
  return {
    spec: {
      id: 'registry',
      systemId: ids.spawnedRegistry,
      restart: 'temporary',
      logic: childProcess({ name: 'registry process', command: spawn.command, args: spawn.args, logger: config.logger }),
    },
    systemId: ids.spawnedRegistry,
    mode: 'process',
  };
}
