import { type Actor, type AnyActorRef } from 'xstate';
import { createRootActor, type RuntimeOptions } from './runtime-options.js';
import { DEFAULT_KEYWORDS_CONFIG, registryBindEndpoint, type KeywordsConfig } from '../config/keywords-config.js';
import { silentLogger, type Logger } from '../log.js';
import type { RegistryTable } from '../machines/registry/table.js';
import type { Metrics } from '../metrics/registry.js';
import { whenStopped } from '../runtime/run-role.js';
import { registryTree, registryTreeIds, type RegistryTreeConfig } from '../supervisor/trees/registry.js';
import { startFailureError } from './start-failure.js';

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
  readonly actor: Actor<ReturnType<typeof registryTree>>;
  readonly ids: ReturnType<typeof registryTreeIds>;
  private readonly ready: Promise<string>;
  private listen: (endpoint: string) => void = () => undefined;

  private constructor(options: RegistryOptions) {
    const tree = registryTreeConfig(options, options.logger ?? silentLogger);
    this.ids = registryTreeIds(tree.name);
    this.actor = createRootActor(registryTree(tree), {
      id: this.ids.root,
      systemId: this.ids.root,
      ...(options.inspect ? { inspect: options.inspect } : {}),
    });
    this.ready = new Promise<string>((resolve, rejectReady) => {
      this.actor.subscribe({
        next: (snapshot) => {
          if (snapshot.status !== 'active') rejectReady(startFailureError(snapshot) ?? new Error(`registry stopped before it listened on ${tree.endpoint}`));
        },
        error: (error) => rejectReady(error),
      });
      this.listen = resolve;
    });
    // The tree may fail to bind; a rejection nobody awaits yet must not crash the process.
    this.ready.catch(() => undefined);
  }

  static async start(options: RegistryOptions = {}): Promise<Registry> {
    const registry = new Registry(options);
    registry.actor.start();
    const machine = registry.actor.system.get(registry.ids.registry) as AnyActorRef | undefined;
    machine?.on('registry.listening', (event: { endpoint: string }) => registry.listen(event.endpoint));
    await registry.ready;
    return registry;
  }

  /** The bound endpoint, read back from the socket (so `tcp://127.0.0.1:*` works). */
  endpoint(): Promise<string> {
    return this.ready;
  }

  /** The address book of the running registry machine (replaced, empty, when it restarts). */
  table(): RegistryTable | undefined {
    const machine = this.actor.system.get(this.ids.registry) as AnyActorRef | undefined;
    return (machine?.getSnapshot() as { context?: { table?: RegistryTable } } | undefined)?.context?.table;
  }

  async stop(): Promise<void> {
    if (this.actor.getSnapshot().status !== 'active') return;
    const stopped = whenStopped(this.actor);
    this.actor.send({ type: 'lifecycle.shutdown' });
    await stopped;
  }
}
