import type { Actor, AnyActorRef } from 'xstate';
import { silentLogger, type Logger } from '../log.js';
import type { Metrics } from '../metrics/registry.js';
import { whenStopped } from '../runtime/run-role.js';
import { brokerTree, brokerTreeIds, sharesSocket, type BrokerTreeConfig } from '../supervisor/trees/broker.js';
import type { BrokerCore } from '../machines/broker/broker-core.js';
import { createRootActor, type RuntimeOptions } from './runtime-options.js';
import { startFailureError } from './start-failure.js';

export interface BrokerOptions extends Omit<BrokerTreeConfig, 'logger' | 'frontend' | 'backend'>, RuntimeOptions {
  /** Client endpoint; `tcp://127.0.0.1:*` picks a free port (read it back from `endpoints`). */
  readonly frontend?: string;
  /** Worker endpoint; the same as `frontend` shares one socket. */
  readonly backend?: string;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
}

export interface BrokerEndpoints {
  readonly frontend: string;
  readonly backend: string;
}

export const DEFAULT_FRONTEND = 'tcp://127.0.0.1:5555';
export const DEFAULT_BACKEND = 'tcp://127.0.0.1:5556';

/**
 * A running broker: its supervision tree, the endpoints it bound, and a
 * graceful stop. `node dist/main.js --role broker` is this plus flags.
 */
export class Broker {
  readonly actor: Actor<ReturnType<typeof brokerTree>>;
  readonly ids: ReturnType<typeof brokerTreeIds>;
  private readonly ready: Promise<BrokerEndpoints>;

  private constructor(options: BrokerOptions) {
    const { inspect, ...config } = options;
    const frontend = config.frontend ?? DEFAULT_FRONTEND;
    const backend = config.backend ?? DEFAULT_BACKEND;
    this.ids = brokerTreeIds(config.name);
    // The root's id names the tree in the inspector; inspection is set here, at the root, for the whole system.
    this.actor = createRootActor(brokerTree({ ...config, frontend, backend, logger: config.logger ?? silentLogger }), {
      id: this.ids.root,
      inspect,
    });
    this.ready = new Promise<BrokerEndpoints>((resolve, rejectReady) => {
      this.actor.subscribe({
        next: (snapshot) => {
          if (snapshot.status !== 'active') rejectReady(startFailureError(snapshot) ?? new Error(`broker stopped before it listened on ${frontend} / ${backend}`));
        },
        error: (error) => rejectReady(error),
      });
      this.listen = (endpoints) => {
        const ep = (id: string) => endpoints[id]?.[0] ?? '';
        resolve({ frontend: ep(this.ids.frontend), backend: ep(sharesSocket(frontend, backend) ? this.ids.frontend : this.ids.backend) });
      };
    });
    // The tree may fail to bind; a rejection nobody awaits yet must not crash the process.
    this.ready.catch(() => undefined);
  }

  private listen: (endpoints: Record<string, string[]>) => void = () => undefined;

  static async start(options: BrokerOptions = {}): Promise<Broker> {
    const broker = new Broker(options);
    broker.actor.start();
    const machine = broker.actor.system.get(broker.ids.broker) as AnyActorRef | undefined;
    machine?.on('broker.listening', (event: { endpoints: Record<string, string[]> }) => broker.listen(event.endpoints));
    await broker.ready;
    return broker;
  }

  endpoints(): Promise<BrokerEndpoints> {
    return this.ready;
  }

  /** The routing core of the running broker machine (it is replaced when the broker restarts). */
  core(): BrokerCore | undefined {
    const broker = this.actor.system.get(this.ids.broker) as AnyActorRef | undefined;
    return (broker?.getSnapshot() as { context?: { core?: BrokerCore } } | undefined)?.context?.core;
  }

  /** Graceful: refuse new requests, drain in-flight ones, disconnect workers, close sockets. */
  async stop(): Promise<void> {
    if (this.actor.getSnapshot().status !== 'active') return;
    const stopped = whenStopped(this.actor);
    this.actor.send({ type: 'lifecycle.shutdown' });
    await stopped;
  }
}
