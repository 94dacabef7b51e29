import type { Actor } from 'xstate';
import { ConfigError } from '../config/errors.js';
import { GATEWAY_DEFAULTS, MAX_HEAD_SIZE_LIMIT, parseListenAddress, type GatewaySettings, type ListenAddress, type VhostSettings } from '../config/gateway.js';
import { silentLogger, type Logger } from '../log.js';
import type { GatewayEmitted } from '../machines/gateway/gateway.machine.js';
import type { GatewayTables } from '../machines/gateway/gateway-tables.js';
import type { Metrics } from '../metrics/metrics.js';
import { gatewayTables, gatewayTree, gatewayTreeIds, type GatewayTreeConfig } from '../supervisor/trees/gateway.js';
import { RoleHandle } from './role-handle.js';

export interface VhostOptions {
  /** `host` or `host:port`, as the Host header carries it. */
  readonly name: string;
  readonly nodes: readonly string[];
  readonly aliases?: readonly string[];
  /** PEM certificate and key for HTTPS (served by SNI). */
  readonly cert?: string;
  readonly key?: string;
  readonly timeoutMs?: number;
  readonly maxSessions?: number;
}

export interface GatewayOptions extends Omit<GatewayTreeConfig, 'settings' | 'logger' | 'tables'> {
  /** HTTP addresses, `HOST:PORT` (port 0 picks a free one; read it back from `endpoints()`). */
  readonly bind?: readonly (string | ListenAddress)[];
  readonly bindSsl?: readonly (string | ListenAddress)[];
  /** The ROUTER endpoint for nodes; `tcp://127.0.0.1:*` picks a free port. */
  readonly zmq?: string;
  readonly vhosts: readonly VhostOptions[];
  readonly pingFreqMs?: number;
  readonly timeoutMs?: number;
  readonly maxSessions?: number;
  /** Sessions one node may hold at once (default 10,000); a full node is skipped, 503 when all are. */
  readonly maxNodeSessions?: number;
  readonly maxHeaders?: number;
  readonly writeQueueBuffer?: number;
  readonly maxHeadSize?: number;
  readonly maxBodySize?: number;
  readonly maxWebSocketMessage?: number;
  readonly headerTimeoutMs?: number;
  /** How long a request body may go without a byte from the client (default 30 s): 408, and the node told `end`. */
  readonly bodyTimeoutMs?: number;
  readonly idleTimeoutMs?: number;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
}

export interface GatewayEndpoints {
  /** `http://HOST:PORT` per HTTP address. */
  readonly http: readonly string[];
  readonly https: readonly string[];
  readonly zmq: string;
}

const SOURCE = 'Gateway.start options';

function address(value: string | ListenAddress, field: string): ListenAddress {
  if (typeof value !== 'string') return value;
  const a = parseListenAddress(value);
  if (!a) throw new ConfigError(SOURCE, field, `"${value}" is not HOST:PORT`, `${field}: ['127.0.0.1:0']`);
  return a;
}

function positive(value: number | undefined, fallback: number, field: string, max = Number.MAX_SAFE_INTEGER): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0 || v > max) throw new ConfigError(SOURCE, field, `${v} is out of range`, `${field}: ${fallback}`);
  return v;
}

/** Options to validated settings, with BlastBeat's defaults. */
export function gatewaySettings(options: GatewayOptions): GatewaySettings {
  const timeoutMs = positive(options.timeoutMs, GATEWAY_DEFAULTS.timeoutMs, 'timeoutMs');
  const vhosts: VhostSettings[] = options.vhosts.map((v, i) => {
    if (v.nodes.length === 0) throw new ConfigError(SOURCE, `vhosts[${i}].nodes`, 'no node given', `nodes: ['foobar1']`);
    if ((v.cert === undefined) !== (v.key === undefined)) throw new ConfigError(SOURCE, `vhosts[${i}]`, 'cert and key go together', 'give both or neither');
    return {
      name: v.name.toLowerCase(),
      nodes: v.nodes,
      aliases: (v.aliases ?? []).map((a) => a.toLowerCase()),
      ...(v.cert !== undefined && v.key !== undefined ? { tls: { cert: v.cert, key: v.key } } : {}),
      timeoutMs: positive(v.timeoutMs, timeoutMs, `vhosts[${i}].timeoutMs`),
      maxSessions: v.maxSessions ?? 0,
    };
  });
  const bindSsl = (options.bindSsl ?? []).map((a) => address(a, 'bindSsl'));
  if (bindSsl.length > 0 && !vhosts.some((v) => v.tls)) throw new ConfigError(SOURCE, 'bindSsl', 'no virtual host has a certificate', 'give cert and key to a vhost');
  return {
    bind: (options.bind ?? (bindSsl.length > 0 ? [] : [GATEWAY_DEFAULTS.bind])).map((a) => address(a, 'bind')),
    bindSsl,
    zmq: options.zmq ?? GATEWAY_DEFAULTS.zmq,
    pingFreqMs: positive(options.pingFreqMs, GATEWAY_DEFAULTS.pingFreqMs, 'pingFreqMs'),
    timeoutMs,
    maxSessions: positive(options.maxSessions, GATEWAY_DEFAULTS.maxSessions, 'maxSessions'),
    maxNodeSessions: positive(options.maxNodeSessions, GATEWAY_DEFAULTS.maxNodeSessions, 'maxNodeSessions'),
    maxHeaders: positive(options.maxHeaders, GATEWAY_DEFAULTS.maxHeaders, 'maxHeaders'),
    writeQueueBuffer: positive(options.writeQueueBuffer, GATEWAY_DEFAULTS.writeQueueBuffer, 'writeQueueBuffer'),
    maxHeadSize: positive(options.maxHeadSize, GATEWAY_DEFAULTS.maxHeadSize, 'maxHeadSize', MAX_HEAD_SIZE_LIMIT),
    maxBodySize: options.maxBodySize ?? GATEWAY_DEFAULTS.maxBodySize,
    maxWebSocketMessage: positive(options.maxWebSocketMessage, GATEWAY_DEFAULTS.maxWebSocketMessage, 'maxWebSocketMessage'),
    headerTimeoutMs: positive(options.headerTimeoutMs, GATEWAY_DEFAULTS.headerTimeoutMs, 'headerTimeoutMs'),
    bodyTimeoutMs: positive(options.bodyTimeoutMs, GATEWAY_DEFAULTS.bodyTimeoutMs, 'bodyTimeoutMs'),
    idleTimeoutMs: positive(options.idleTimeoutMs, GATEWAY_DEFAULTS.idleTimeoutMs, 'idleTimeoutMs'),
    vhosts,
  };
}

/**
 * A running gateway: its supervision tree, the endpoints it bound, the
 * routing tables, and a graceful stop. `node dist/main.js --role gateway`
 * is this plus an INI file.
 */
export class Gateway {
  readonly ids: ReturnType<typeof gatewayTreeIds>;
  /** Virtual hosts, node presence and live sessions (read them; the gateway updates them). */
  readonly tables: GatewayTables;
  /** @deprecated Renamed `tables`: a registry in steward is the keyword address book. */
  get registry(): GatewayTables {
    return this.tables;
  }
  readonly settings: GatewaySettings;
  private readonly role: RoleHandle<ReturnType<typeof gatewayTree>, GatewayEndpoints>;

  private constructor(settings: GatewaySettings, options: Omit<GatewayOptions, 'vhosts'>) {
    this.settings = settings;
    this.ids = gatewayTreeIds(options.name);
    this.tables = gatewayTables(settings);
    this.role = new RoleHandle(gatewayTree({ ...options, settings, tables: this.tables, logger: options.logger ?? silentLogger }), {
      notListening: () => new Error(`gateway stopped before it listened (zmq ${settings.zmq})`),
    });
  }

  static async start(options: GatewayOptions): Promise<Gateway> {
    return Gateway.startWith(gatewaySettings(options), options);
  }

  /** Starts from settings already validated (the role reads them from an INI file). */
  static async startWith(settings: GatewaySettings, options: Omit<GatewayOptions, 'vhosts'> = {}): Promise<Gateway> {
    const gateway = new Gateway(settings, options);
    gateway.role.start();
    gateway.role.onEmitted<Extract<GatewayEmitted, { type: 'gateway.listening' }>>(gateway.ids.router, 'gateway.listening', (event) =>
      gateway.role.listen({ http: event.http, https: event.https, zmq: event.zmq[0] ?? '' }),
    );
    await gateway.role.listening();
    return gateway;
  }

  /** The root of the gateway's supervision tree. */
  get actor(): Actor<ReturnType<typeof gatewayTree>> {
    return this.role.actor;
  }

  endpoints(): Promise<GatewayEndpoints> {
    return this.role.listening();
  }

  /** Nodes that answer pings now. */
  availableNodes(): string[] {
    return [...this.tables.nodes.all()].filter((n) => n.available).map((n) => n.name);
  }

  /** Graceful: stop accepting, let exchanges in flight finish (bounded), close everything. */
  stop(): Promise<void> {
    return this.role.stop();
  }
}
