import { DEFAULT_BACKEND } from '../api/broker.js';
import { Worker } from '../api/worker.js';
import { UsageError } from '../cli/errors.js';
import { flagInt, flagList, flagString, type RoleDefinition } from '../cli/role.js';
import { MDP_HEARTBEAT_INTERVAL_MS, MDP_HEARTBEAT_LIVENESS } from '../protocol/mdp.js';
import { echoHandler, loadHandler } from './handler-module.js';

export const workerRole: RoleDefinition = {
  name: 'worker',
  summary: 'serve one named service through one or more brokers',
  usage: `Usage: steward --role worker --service NAME [--broker ENDPOINT]... [--handler PATH] [flags]

Registers NAME with every broker given, heartbeats both ways, registers again
when a broker goes silent, and answers requests with the handler module
(an ES module whose default export is \`async (request) => reply\`); without
--handler it echoes each request back.

Flags:
  --service NAME          the service to serve (required), e.g. api.images
  --broker ENDPOINT       a broker backend, repeatable (default ${DEFAULT_BACKEND})
  --handler PATH          module answering requests (default: echo)
  --concurrency N         requests run at once (default 1)
  --identity NAME         fixed routing id, so brokers accept reconnects at once
  --heartbeat MS          heartbeat interval (default ${MDP_HEARTBEAT_INTERVAL_MS})
  --liveness N            silent intervals before the broker is taken for lost (default ${MDP_HEARTBEAT_LIVENESS})
  --drain-timeout MS      on shutdown, how long running requests may finish (default 5000)

Example:
  steward --role worker --service echo --broker tcp://127.0.0.1:5556`,
  options: {
    service: { type: 'string' },
    broker: { type: 'string', multiple: true },
    handler: { type: 'string' },
    concurrency: { type: 'string' },
    identity: { type: 'string' },
    heartbeat: { type: 'string' },
    liveness: { type: 'string' },
    'drain-timeout': { type: 'string' },
  },
  async start(ctx) {
    const { flags } = ctx;
    const service = flagString(flags, 'service');
    if (!service) throw new UsageError('--service is required', 'steward --role worker --service echo');
    if (service.startsWith('mmi.')) throw new UsageError(`--service ${service}: names starting with mmi. belong to the broker`, '--service echo');
    const handlerPath = flagString(flags, 'handler');
    const handler = handlerPath ? await loadHandler(handlerPath) : echoHandler;
    const brokers = flagList(flags, 'broker');
    const identity = flagString(flags, 'identity');
    const worker = Worker.start({
      service,
      broker: brokers.length > 0 ? brokers : [DEFAULT_BACKEND],
      handler,
      concurrency: flagInt(flags, 'concurrency', 1, 1, 10_000),
      heartbeatIntervalMs: flagInt(flags, 'heartbeat', MDP_HEARTBEAT_INTERVAL_MS, 10, 3_600_000),
      liveness: flagInt(flags, 'liveness', MDP_HEARTBEAT_LIVENESS, 1, 1000),
      drainTimeoutMs: flagInt(flags, 'drain-timeout', 5_000, 0, 600_000),
      ...(identity !== undefined ? { identity } : {}),
      logger: ctx.logger,
      metrics: ctx.metrics,
    });
    ctx.logger.info({ service, brokers: brokers.length > 0 ? brokers : [DEFAULT_BACKEND] }, 'worker started');
    return { root: worker.actor };
  },
};
