import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Actor } from 'xstate';
import { RoleHandle } from './role-handle.js';
import type { RuntimeOptions } from './runtime-options.js';
import {
  DEFAULT_KEYWORDS_CONFIG,
  connectHost,
  directEndpoints,
  registryConnectEndpoint,
  type KeywordsConfig,
} from '../config/keywords-config.js';
import type { KeywordDefinition } from '../config/keywords-file.js';
import { silentLogger, type Logger } from '../log.js';
import type { KeywordServiceContext, KeywordServiceEmitted } from '../machines/keywords/keyword-service.machine.js';
import type { RegistrarEmitted } from '../machines/keywords/registrar.machine.js';
import type { Metrics } from '../metrics/metrics.js';
import type { KeywordDescriptor, KeywordInput, TypedValue } from '../protocol/ktl-types.js';
import { castInput } from '../protocol/ktl-types.js';
import { isErrorCode } from '../protocol/keywords.js';
import { dispatcherTree, dispatcherTreeIds, type DispatcherCurve, type DispatcherPlacement, type RegistrySpawn } from '../supervisor/trees/dispatcher.js';
import { KeywordError, KeywordRejectedError } from './keywords/errors.js';
import { registryTreeConfig } from './registry.js';

export interface DispatcherOptions extends RuntimeOptions {
  readonly service: string;
  readonly keywords: readonly KeywordDefinition[];
  /** The INI settings: `[zmq-router]` (registry, spawning) or, with `enable = no`, `[zmq]` ports. */
  readonly config?: KeywordsConfig;
  /** Bind these and skip the registry (overrides the config). `tcp://127.0.0.1:*` works. */
  readonly direct?: { readonly dispatch: string; readonly broadcast: string };
  /** How a registry is started when none answers (default: from `process` in the config). */
  readonly spawn?: RegistrySpawn;
  /** Names this dispatcher to the registry; default host, pid and random bytes. */
  readonly token?: string;
  readonly bindTimeoutMs?: number;
  readonly retryMs?: number;
  /** Reject `start` if the dispatcher does not listen within this (default: wait for a registry as long as it takes). */
  readonly startTimeoutMs?: number;
  readonly name?: string;
  /**
   * CURVE: the dispatch and broadcast sockets serve with this pair and
   * allow-list, and the dispatcher uses the pair towards the registry (whose
   * key is `registryKey`, by default the same pair's). A registry it starts
   * runs with the same pair and allow-list (as a process: from `keyFile` and `allowFile`).
   */
  readonly curve?: DispatcherCurve;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
}

type RegistrarRefused = Extract<RegistrarEmitted, { type: 'registrar.refused' }>;

export interface DispatcherEndpoints {
  readonly dispatch: string;
  readonly broadcast: string;
}

/** `node dist/main.js` beside this module once built; from the sources (tests), the built one. */
export function defaultMainScript(): string {
  const built = fileURLToPath(new URL('../main.js', import.meta.url));
  if (existsSync(built)) return built;
  return fileURLToPath(new URL('../../dist/main.js', import.meta.url));
}

/** How a dispatcher spawns a registry when `process` is not `thread`: this program, `--role registry`, settings as flags. */
export function registryProcessSpawn(config: KeywordsConfig, logLevel?: string, curve?: DispatcherCurve): RegistrySpawn {
  const r = config.router;
  const args = [
    defaultMainScript(),
    '--role',
    'registry',
    ...(config.file ? ['-c', config.file] : []),
    '--port',
    String(r.port),
    '--first-port',
    String(r.firstPort),
    '--last-port',
    String(r.lastPort),
    '--heartbeat',
    String(r.heartbeatMs),
    '--liveness',
    String(r.liveness),
    '--parent-watch',
    ...(logLevel ? ['--log-level', logLevel] : []),
    ...(curve ? curveSpawnArgs(curve) : []),
  ];
  return { mode: 'process', command: process.execPath, args };
}

function curveSpawnArgs(curve: DispatcherCurve): string[] {
  if (curve.keyFile === undefined || curve.allowFile === undefined) {
    throw new TypeError('a CURVE dispatcher that may start a registry process needs curve.keyFile and curve.allowFile (or process = thread)');
  }
  return ['--curve-secret-key-file', curve.keyFile, '--curve-allow', curve.allowFile];
}

function placementOf(options: DispatcherOptions, config: KeywordsConfig, logger: Logger): DispatcherPlacement {
  if (options.direct) return { kind: 'direct', ...options.direct };
  if (!config.router.enable) return { kind: 'direct', ...directEndpoints(config, 'bind') };
  const r = config.router;
  const spawn =
    options.spawn ??
    (r.process === 'thread'
      ? ({ mode: 'thread', tree: registryTreeConfig({ config }, logger) } satisfies RegistrySpawn)
      : r.allowSpawn
        ? registryProcessSpawn(config, logger.level, options.curve)
        : registryProcessSpawn(config, logger.level));
  return {
    kind: 'registry',
    registry: registryConnectEndpoint(config),
    host: connectHost(config.zmq.host),
    token: options.token ?? `${hostname()}-${process.pid}-${randomBytes(6).toString('hex')}`,
    timeoutMs: r.timeoutMs,
    allowSpawn: r.allowSpawn,
    spawn,
    ...(options.bindTimeoutMs !== undefined ? { bindTimeoutMs: options.bindTimeoutMs } : {}),
    ...(options.retryMs !== undefined ? { retryMs: options.retryMs } : {}),
  };
}

/**
 * A running dispatcher: hosts one service's keywords, answers reads, writes,
 * identify and enumerate, and broadcasts every change. With a registry it
 * registers (starting one when none answers and `allow-spawn = yes`) and
 * heartbeats; without, it binds the `[zmq]` ports.
 */
export class Dispatcher {
  readonly ids: ReturnType<typeof dispatcherTreeIds>;
  readonly service: string;
  private readonly role: RoleHandle<ReturnType<typeof dispatcherTree>, DispatcherEndpoints>;

  private constructor(options: DispatcherOptions) {
    const logger = options.logger ?? silentLogger;
    const config = options.config ?? DEFAULT_KEYWORDS_CONFIG;
    this.service = options.service;
    this.ids = dispatcherTreeIds(options.service, options.name);
    this.role = new RoleHandle(
      dispatcherTree({
        service: options.service,
        definitions: options.keywords,
        placement: placementOf(options, config, logger),
        logger,
        ...(options.name !== undefined ? { name: options.name } : {}),
        ...(options.curve ? { curve: options.curve } : {}),
        ...(options.metrics ? { metrics: options.metrics } : {}),
      }),
      {
        id: this.ids.root,
        systemId: this.ids.root,
        ...(options.inspect ? { inspect: options.inspect } : {}),
        notListening: () => new Error(`dispatcher of "${options.service}" stopped before it listened`),
      },
    );
    if (options.startTimeoutMs !== undefined) {
      const timer = setTimeout(
        () => this.role.fail(new KeywordError('registry-unavailable', `dispatcher of "${options.service}" did not start listening within ${options.startTimeoutMs} ms`, { service: options.service })),
        options.startTimeoutMs,
      );
      timer.unref();
    }
  }

  /** Starts a dispatcher and resolves once it listens; rejects (and stops it) if the registry refuses it. */
  static async start(options: DispatcherOptions): Promise<Dispatcher> {
    const dispatcher = Dispatcher.launch(options);
    try {
      await dispatcher.role.listening();
    } catch (error) {
      await dispatcher.stop();
      throw error;
    }
    return dispatcher;
  }

  /**
   * Starts a dispatcher without waiting: it may wait a long time for a
   * registry. `listening()` settles when it listens or is refused.
   */
  static launch(options: DispatcherOptions): Dispatcher {
    const dispatcher = new Dispatcher(options);
    const { role, service } = dispatcher;
    role.start();
    role.onEmitted<KeywordServiceEmitted>(dispatcher.ids.keywords, 'dispatcher.listening', (e) => role.listen({ dispatch: e.dispatch, broadcast: e.broadcast }));
    role.onEmitted<RegistrarRefused>(dispatcher.ids.registrar, 'registrar.refused', (e) => {
      // Taken by a dispatcher that may be dead: the registrar asks again until the registry drops it.
      if (e.code === 'service-taken') return;
      role.fail(new KeywordRejectedError(isErrorCode(e.code) ? e.code : 'protocol', `the registry refused "${service}": ${e.message}`, { service }));
    });
    return dispatcher;
  }

  /** The root of the dispatcher's supervision tree. */
  get actor(): Actor<ReturnType<typeof dispatcherTree>> {
    return this.role.actor;
  }

  private context(): KeywordServiceContext | undefined {
    return this.role.context<KeywordServiceContext>(this.ids.keywords);
  }

  /** Where the dispatcher listens now (its ports may change if a restarted registry could not give the same ones back). */
  endpoints(): DispatcherEndpoints | undefined {
    const ctx = this.context();
    const b = ctx?.binding;
    if (!ctx || !b || !ctx.listening) return undefined;
    const dispatch = ctx.endpoints.get(b.dispatch);
    const broadcast = ctx.endpoints.get(b.broadcast);
    return dispatch !== undefined && broadcast !== undefined ? { dispatch, broadcast } : undefined;
  }

  /** Resolves with the endpoints first listened on. */
  listening(): Promise<DispatcherEndpoints> {
    return this.role.listening();
  }

  get(name: string): TypedValue | undefined {
    return this.context()?.store.get(name);
  }

  descriptor(name: string): KeywordDescriptor | undefined {
    return this.context()?.store.descriptor(name);
  }

  /**
   * Sets a value from the dispatcher's own code (a sensor reading, a state
   * change) and broadcasts it; read-only keywords too, since read-only
   * means read-only to clients. Throws KeywordRejectedError on a bad value.
   */
  set(name: string, value: KeywordInput): TypedValue {
    const desc = this.descriptor(name);
    if (!desc) throw new KeywordRejectedError('no-such-keyword', `"${this.service}" has no keyword "${name}"`, { service: this.service, keyword: name });
    const cast = castInput(desc, value);
    if (!cast.ok) throw new KeywordRejectedError('invalid-value', `${this.service}.${name} (${desc.type}): ${cast.reason}`, { service: this.service, keyword: name });
    this.role.actor.system.get(this.ids.keywords)?.send({ type: 'keywords.set', name, value });
    return cast.value;
  }

  /** Graceful: close the sockets, unregister, stop a registry this dispatcher started. */
  stop(): Promise<void> {
    return this.role.stop();
  }
}
