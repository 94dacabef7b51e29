import type { Actor } from 'xstate';
import { RoleHandle } from './role-handle.js';
import type { RuntimeOptions } from './runtime-options.js';
import { DEFAULT_KEYWORDS_CONFIG, registryBindEndpoint, type KeywordsConfig } from '../config/keywords-config.js';
import { silentLogger, type Logger } from '../log.js';
import type { RegistryTable } from '../machines/registry/registry-table.js';
import type { RegistryContext, RegistryEmitted } from '../machines/registry/registry.machine.js';
import type { Metrics } from '../metrics/metrics.js';
import { registryTree, registryTreeIds, type RegistryTreeConfig } from '../supervisor/trees/registry.js';

export interface RegistryOptions extends Partial<Omit<RegistryTreeConfig, 'logger' | 'metrics'>>, RuntimeOptions {
  /** `[zmq-router]` supplies the endpoint, port range and heartbeat; the other options override it. */
  readonly config?: KeywordsConfig;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
}

/** The tree config a registry runs with: explicit options over `[zmq-router]` over the seed's defaults. */
export function registryTreeConfig(options: RegistryOptions, logger: Logger): RegistryTreeConfig {
  const config = options.config ?? DEFAULT_KEYWORDS_CONFIG;
  const r = config.router;
  return {
    ...(options.name !== undefined ? { name: options.name } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.socketOptions ? { socketOptions: options.socketOptions } : {}),
    ...(options.curve ? { curve: options.curve } : {}),
    ...(options.now ? { now: options.now } : {}),
    endpoint: options.endpoint ?? registryBindEndpoint(config),
    firstPort: options.firstPort ?? r.firstPort,
    lastPort: options.lastPort ?? r.lastPort,
    heartbeatMs: options.heartbeatMs ?? r.heartbeatMs,
    liveness: options.liveness ?? r.liveness,
    logger,
    ...(options.metrics ? { metrics: options.metrics } : {}),
  };
}

/**
 * A running registry (Cauldron's "router"): the address book dispatchers
 * register with and clients look services up in. `steward --role registry`
 * is this plus flags.
 */
export class Registry {
  readonly ids: ReturnType<typeof registryTreeIds>;
  private readonly role: RoleHandle<ReturnType<typeof registryTree>, string>;

  private constructor(options: RegistryOptions) {
    const tree = registryTreeConfig(options, options.logger ?? silentLogger);
    this.ids = registryTreeIds(tree.name);
    this.role = new RoleHandle(registryTree(tree), {
      id: this.ids.root,
      systemId: this.ids.root,
      ...(options.inspect ? { inspect: options.inspect } : {}),
      notListening: () => new Error(`registry stopped before it listened on ${tree.endpoint}`),
    });
  }

  static async start(options: RegistryOptions = {}): Promise<Registry> {
    const registry = new Registry(options);
    registry.role.start();
    registry.role.onEmitted<RegistryEmitted>(registry.ids.registry, 'registry.listening', (event) => registry.role.listen(event.endpoint));
    await registry.role.listening();
    return registry;
  }

  /** The root of the registry's supervision tree. */
  get actor(): Actor<ReturnType<typeof registryTree>> {
    return this.role.actor;
  }

  /** The bound endpoint, read back from the socket (so `tcp://127.0.0.1:*` works). */
  endpoint(): Promise<string> {
    return this.role.listening();
  }

  /** The address book of the running registry machine (replaced, empty, when it restarts). */
  table(): RegistryTable | undefined {
    return this.role.context<RegistryContext>(this.ids.registry)?.table;
  }

  stop(): Promise<void> {
    return this.role.stop();
  }
}
