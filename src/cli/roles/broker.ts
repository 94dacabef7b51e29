import { Broker, DEFAULT_BACKEND, DEFAULT_FRONTEND } from '../../api/broker.js';
import { transportFlag } from '../transport-flag.js';
import type { RoleDefinition } from '../role.js';
import { flagInt, flagString } from '../flags.js';
import { DEFAULT_MAX_QUEUE_BYTES } from '../../machines/broker/broker-core.js';
import { DEFAULT_MAX_STREAM_BYTES } from '../../machines/broker/stream-windows.js';
import { DEFAULT_BROKER_WIRE_LIMITS } from '../../protocol/broker-wire.js';
import { MDP_HEARTBEAT_INTERVAL_MS, MDP_HEARTBEAT_LIVENESS } from '../../protocol/mdp.js';
import { curveServerFlags, curveServerFromFlags, curveServerUsage } from '../curve-flags.js';
import { reloadAllowList } from '../../security/zap-handler.js';

export const brokerRole: RoleDefinition = {
  name: 'broker',
  summary: 'route client requests to service workers (Majordomo MDP/0.1 and 0.2, butler wire)',
  usage: `Usage: steward --role broker [--frontend ENDPOINT] [--backend ENDPOINT] [flags]

Routes each client request to a worker of the named service, least recently used
first, queueing it until a worker is free or the request expires. Speaks MDP/0.1
(RFC 7) with MMI (RFC 8), MDP/0.2 (RFC 18: streamed replies), the butler/ebwrkapi
wire and steward's compact wire, on the same sockets.

Flags:
  --frontend ENDPOINT     where clients connect (default ${DEFAULT_FRONTEND})
  --backend ENDPOINT      where workers connect (default ${DEFAULT_BACKEND});
                          give the same endpoint as --frontend to use one socket
  --heartbeat MS          heartbeat interval (default ${MDP_HEARTBEAT_INTERVAL_MS})
  --liveness N            intervals of silence before a worker is purged (default ${MDP_HEARTBEAT_LIVENESS})
  --max-queue-bytes B     bytes all queued requests may hold together (default 268435456, 256 MiB);
                          past 3/4 of it the broker stops reading clients until the queues
                          drain below half (back-pressure); a request that would pass it is refused
  --max-queue N           requests waiting per service before new ones are refused (default 0: no count limit)
  --max-stream-bytes B    bytes of one stream's partial replies the broker holds for a reader slower
                          than its worker (default 4194304, 4 MiB); past it the stream ends with 507
  --max-message-size B    largest message accepted from a peer, all frames, in bytes (default 16777216)
  --max-frames N          most frames in one message (default ${DEFAULT_BROKER_WIRE_LIMITS.maxFrames})
  --max-clients N         most clients with requests queued or in flight at once (default 100000)
  --max-services N        most services tracked at once (default 10000)
  --drain-timeout MS      on shutdown, how long in-flight requests may finish (default 5000)
  --transport auto|libzmq the ZeroMQ stack on the broker's sockets: auto (default) speaks ZMTP 3.1 itself
                          over node's net for plain tcp:// and ipc://, libzmq for CURVE and the rest;
                          libzmq uses libzmq always
${curveServerUsage}

A request over a limit is refused: steward clients get status 413 (size, frames)
or 503 (queue, clients, services) with a message; MDP clients get nothing, and
the broker logs when it starts and stops refusing, with counts. Each refusal
counts in steward_limit_hits_total{limit=...}. A malformed request from a
tagged or steward client (bad expiration, empty service) is answered 400.

Example:
  steward --role broker --frontend tcp://127.0.0.1:5555 --backend tcp://127.0.0.1:5556`,
  options: {
    frontend: { type: 'string' },
    backend: { type: 'string' },
    heartbeat: { type: 'string' },
    liveness: { type: 'string' },
    'max-queue': { type: 'string' },
    'max-queue-bytes': { type: 'string' },
    'max-stream-bytes': { type: 'string' },
    'max-message-size': { type: 'string' },
    'max-frames': { type: 'string' },
    'max-clients': { type: 'string' },
    'max-services': { type: 'string' },
    'drain-timeout': { type: 'string' },
    transport: { type: 'string' },
    ...curveServerFlags,
  },
  endpointFlag: ({ where }) => (where.endsWith('.backend') ? '--backend' : '--frontend'),
  async start(ctx) {
    const { flags } = ctx;
    const curve = await curveServerFromFlags(flags, ctx.logger, 'broker');
    const broker = await Broker.start({
      ...(ctx.inspect ? { inspect: ctx.inspect } : {}),
      frontend: flagString(flags, 'frontend') ?? DEFAULT_FRONTEND,
      backend: flagString(flags, 'backend') ?? DEFAULT_BACKEND,
      heartbeatIntervalMs: flagInt(flags, 'heartbeat', MDP_HEARTBEAT_INTERVAL_MS, 10, 3_600_000),
      liveness: flagInt(flags, 'liveness', MDP_HEARTBEAT_LIVENESS, 1, 1000),
      maxQueuePerService: flagInt(flags, 'max-queue', 0, 0, 100_000_000),
      // At least 1 MiB: well above what one burst of 512 small requests holds, so back-pressure, not refusal, bounds it.
      maxQueueBytes: flagInt(flags, 'max-queue-bytes', DEFAULT_MAX_QUEUE_BYTES, 1024 * 1024, Number.MAX_SAFE_INTEGER),
      maxStreamBytes: flagInt(flags, 'max-stream-bytes', DEFAULT_MAX_STREAM_BYTES, 1024, Number.MAX_SAFE_INTEGER),
      maxMessageSize: flagInt(flags, 'max-message-size', 16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
      limits: { maxFrames: flagInt(flags, 'max-frames', DEFAULT_BROKER_WIRE_LIMITS.maxFrames, 8, 100_000) },
      maxClients: flagInt(flags, 'max-clients', 100_000, 1, 100_000_000),
      maxServices: flagInt(flags, 'max-services', 10_000, 1, 10_000_000),
      drainTimeoutMs: flagInt(flags, 'drain-timeout', 5_000, 0, 600_000),
      transport: transportFlag(flagString(flags, 'transport')),
      ...(curve ? { curve } : {}),
      logger: ctx.logger,
      metrics: ctx.metrics,
    });
    if (curve) ctx.onReload(() => reloadAllowList(broker.actor.system, broker.ids.root));
    return { root: broker.actor };
  },
};
