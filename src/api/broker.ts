import type { Actor } from 'xstate';
import { silentLogger, type Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import { brokerTree, brokerTreeIds, sharesSocket, type BrokerTreeConfig } from '../supervisor/trees/broker.js';
import type { BrokerCore } from '../machines/broker/broker-core.js';
import type { BrokerContext, BrokerEmitted } from '../machines/broker/broker.machine.js';
import { RoleHandle } from './role-handle.js';
import type { RuntimeOptions } from './runtime-options.js';

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
  readonly ids: ReturnType<typeof brokerTreeIds>;
  private readonly role: RoleHandle<ReturnType<typeof brokerTree>, BrokerEndpoints>;

  private constructor(options: BrokerOptions) {
    const { inspect, ...config } = options;
    const frontend = config.frontend ?? DEFAULT_FRONTEND;
    const backend = config.backend ?? DEFAULT_BACKEND;
    this.ids = brokerTreeIds(config.name);
    // The root's id names the tree in the inspector; inspection is set here, at the root, for the whole system.
    this.role = new RoleHandle(brokerTree({ ...config, frontend, backend, logger: config.logger ?? silentLogger }), {
      id: this.ids.root,
      inspect,
      notListening: () => new Error(`broker stopped before it listened on ${frontend} / ${backend}`),
    });
    this.backendId = sharesSocket(frontend, backend) ? this.ids.frontend : this.ids.backend;
  }

  private readonly backendId: string;

  static async start(options: BrokerOptions = {}): Promise<Broker> {
    const broker = new Broker(options);
    broker.role.start();
    broker.role.onEmitted<BrokerEmitted>(broker.ids.broker, 'broker.listening', ({ endpoints }) => {
      const ep = (id: string) => endpoints[id]?.[0] ?? '';
      broker.role.listen({ frontend: ep(broker.ids.frontend), backend: ep(broker.backendId) });
    });
    await broker.role.listening();
    return broker;
  }

  /** The root of the broker's supervision tree. */
  get actor(): Actor<ReturnType<typeof brokerTree>> {
    return this.role.actor;
  }

  endpoints(): Promise<BrokerEndpoints> {
    return this.role.listening();
  }

  /** The routing core of the running broker machine (it is replaced when the broker restarts). */
  core(): BrokerCore | undefined {
    return this.role.context<BrokerContext>(this.ids.broker)?.core;
  }

  /** Graceful: refuse new requests, drain in-flight ones, disconnect workers, close sockets. */
  stop(): Promise<void> {
    return this.role.stop();
  }
}
