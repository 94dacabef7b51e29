import type { Actor, AnyActorRef } from 'xstate';
import { RoleHandle } from './role-handle.js';
import type { RuntimeOptions } from './runtime-options.js';
import type { ConfigFileCommand, ReloadCause } from '../actors/config-file.js';
import { loadBalancerConfig, type BalancerConfig } from '../config/balancer-config.js';
import { silentLogger, type Logger } from '../log.js';
import type { BalancerContext, BalancerEmitted, ConfigState } from '../machines/balancer/balancer.machine.js';
import type { BackendSummary } from '../machines/balancer/balancer-table.js';
import type { Metrics } from '../metrics/metrics.js';
import { balancerTree, balancerTreeIds, type BalancerTreeConfig } from '../supervisor/trees/balancer.js';

export { BalancerClient, BalancerError } from './balancer-client.js';
export type { BalancerClientOptions, BalancerErrorReason, BalancerRequest } from './balancer-client.js';

export interface BalancerOptions extends Omit<BalancerTreeConfig, 'logger' | 'bind' | 'config'>, RuntimeOptions {
  /** Path of the configuration file (stirr's format); read and validated before anything binds. */
  readonly configFile?: string;
  /** Or a configuration already loaded (it still names the file to watch). */
  readonly config?: BalancerConfig;
  /** `tcp://127.0.0.1:*` picks a free port (read it back from `endpoint()`). */
  readonly bind?: string;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
}

export const DEFAULT_BALANCER_BIND = 'tcp://127.0.0.1:5555';
export const DEFAULT_BALANCER_CONFIG = 'config.json';

/**
 * A running balancer: its supervision tree, the endpoint it bound, reload and
 * a graceful stop. `node dist/main.js --role balancer` is this plus flags.
 * `start` throws ConfigError (naming file, field and fix) before binding
 * anything when the file is wrong.
 */
export class Balancer {
  readonly ids: ReturnType<typeof balancerTreeIds>;
  private readonly role: RoleHandle<ReturnType<typeof balancerTree>, string>;

  private constructor(options: BalancerOptions, config: BalancerConfig) {
    const bind = options.bind ?? DEFAULT_BALANCER_BIND;
    this.ids = balancerTreeIds(options.name);
    // The socket's last failure explains a tree that gave up before listening (address in use, bad endpoint).
    let lastFailure: unknown;
    this.role = new RoleHandle(balancerTree({ ...options, bind, config, logger: options.logger ?? silentLogger }), {
      id: this.ids.root,
      ...(options.inspect ? { inspect: options.inspect } : {}),
      notListening: () => {
        const why = lastFailure instanceof Error ? `: ${lastFailure.message}` : '';
        return new Error(`balancer could not listen on ${bind}${why}`, { cause: lastFailure });
      },
    });
    this.role.actor.on('supervisor.childExited', (report) => {
      if (report.reason.kind === 'error') lastFailure = report.reason.error;
    });
  }

  static async start(options: BalancerOptions = {}): Promise<Balancer> {
    const config = options.config ?? (await loadBalancerConfig(options.configFile ?? DEFAULT_BALANCER_CONFIG, options.configLimits));
    const balancer = new Balancer(options, config);
    balancer.role.start();
    balancer.role.onEmitted<Extract<BalancerEmitted, { type: 'balancer.listening' }>>(balancer.ids.machine, 'balancer.listening', (event) =>
      balancer.role.listen(event.endpoint),
    );
    const known = balancer.context()?.endpoint;
    if (known !== undefined) balancer.role.listen(known);
    await balancer.role.listening();
    return balancer;
  }

  /** The root of the balancer's supervision tree. */
  get actor(): Actor<ReturnType<typeof balancerTree>> {
    return this.role.actor;
  }

  /** The endpoint bound, with the port filled in. */
  endpoint(): Promise<string> {
    return this.role.listening();
  }

  /** Reads the configuration file again (what SIGHUP does); a broken file is logged and changes nothing. */
  reload(cause: Extract<ReloadCause, 'signal' | 'api'> = 'api'): void {
    const file = this.role.actor.system.get(this.ids.config) as AnyActorRef | undefined;
    file?.send({ type: 'config.reload', cause } satisfies ConfigFileCommand);
  }

  /** Which configuration is in force and how reloads went. */
  configState(): ConfigState | undefined {
    const state = this.context()?.configState;
    return state ? { ...state } : undefined;
  }

  /** Every backend with its health, in file order. */
  backends(): BackendSummary[] {
    return this.context()?.table.summary() ?? [];
  }

  /** Graceful: stop health checks, stop answering, close the socket. */
  stop(): Promise<void> {
    return this.role.stop();
  }

  /** The running balancer machine's context (it is replaced when the machine restarts). */
  private context(): BalancerContext | undefined {
    return this.role.context<BalancerContext>(this.ids.machine);
  }
}
