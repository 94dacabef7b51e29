import { statSync } from 'node:fs';
import { DEFAULT_BACKEND } from '../../api/broker.js';
import { Worker } from '../../api/worker.js';
import { UsageError } from '../errors.js';
import { transportFlag } from '../transport-flag.js';
import type { WorkerWireChoice } from '../../machines/worker/worker-link.js';
import type { RoleDefinition } from '../role.js';
import { flagInt, flagList, flagString } from '../flags.js';
import type { Handler } from '../../machines/worker/worker-call.js';
import { MDP_HEARTBEAT_INTERVAL_MS, MDP_HEARTBEAT_LIVENESS } from '../../protocol/mdp.js';
import type { JsonValue } from '../../protocol/json.js';
import { curveClientFlags, curveClientFromFlags, curveClientUsage } from '../curve-flags.js';
import { ImagesService } from '../../handlers/images.js';
import { echoHandler, loadHandler, loadRpcModule } from '../handler-module.js';

/** The service `--role worker` serves RPC for without being told: butler's example. */
export const IMAGES_SERVICE = 'api.images';

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

type Serving = { kind: 'handler'; handler: Handler } | { kind: 'rpc'; target: object | 'images' };

async function chooseServing(service: string, handlerPath: string | undefined, rpc: string | undefined): Promise<Serving> {
  if (handlerPath !== undefined && rpc !== undefined) throw new UsageError('give --handler or --rpc, not both', '--rpc images');
  if (handlerPath !== undefined) return { kind: 'handler', handler: await loadHandler(handlerPath) };
  if (rpc === 'images' || (rpc === undefined && service === IMAGES_SERVICE)) return { kind: 'rpc', target: 'images' };
  if (rpc !== undefined) return { kind: 'rpc', target: await loadRpcModule(rpc) };
  return { kind: 'handler', handler: echoHandler };
}

export const workerRole: RoleDefinition = {
  name: 'worker',
  summary: 'serve one named service through one or more brokers',
  usage: `Usage: steward --role worker --service NAME [--broker ENDPOINT]... [--handler PATH | --rpc images|PATH] [flags]

Registers NAME with every broker given, heartbeats both ways, registers again
when a broker goes silent, and answers requests. With several brokers the
worker never runs more than --concurrency requests across all of them: each
live broker gets a share (docs/deploy.md), and a broker that goes away gives
its share to the others until it answers again.
  --handler PATH   with a module whose default export is \`async (request) => reply\`,
                   or an async generator function: each yield is a partial reply,
                   sent as the caller reads, and its return value the final one
                   (examples/handlers/countdown.mjs; docs/wires.md);
  --rpc PATH       over butler RPC, with the functions a module exports (or the
                   methods of its default export object; async generators stream);
  --rpc images     over butler RPC, with the built-in api.images service
                   (resize_image(name, "WxH"), info(name), and resize_images("WxH",
                   name...), which streams a reply per picture) on the files under --root;
                   this is the default for --service ${IMAGES_SERVICE};
  otherwise it echoes each request back.

Flags:
  --service NAME          the service to serve (required), e.g. api.images
  --broker ENDPOINT       a broker backend, repeatable (default ${DEFAULT_BACKEND})
  --handler PATH          module answering requests
  --rpc images|PATH       serve RPC (see above)
  --root DIR              directory api.images reads and writes (default: the current one)
  --sink ENDPOINT         push events to a sink (api.images reports each image it writes)
  --concurrency N         requests run at once (default 1)
  --identity NAME         fixed routing id, so brokers accept reconnects at once
  --heartbeat MS          heartbeat interval (default ${MDP_HEARTBEAT_INTERVAL_MS})
  --liveness N            silent intervals before the broker is taken for lost (default ${MDP_HEARTBEAT_LIVENESS})
  --drain-timeout MS      on shutdown, how long running requests may finish (default 5000)
  --wire steward|mdp      steward (default): the compact wire, steward brokers only;
                          mdp: MDP/0.1, for any Majordomo broker
  --transport auto|libzmq the ZeroMQ stack on the sockets to the brokers: auto (default) speaks
                          ZMTP 3.1 itself over node's net to plain tcp:// and ipc:// brokers,
                          libzmq with CURVE and for the rest; libzmq uses libzmq always
${curveClientUsage}
  --curve-sink-key KEY    CURVE to the sink: its public key (or a file holding it)

Examples:
  steward --role worker --service echo --broker tcp://127.0.0.1:5556
  steward --role worker --service api.images --root ./pictures --concurrency 4`,
  options: {
    service: { type: 'string' },
    broker: { type: 'string', multiple: true },
    handler: { type: 'string' },
    rpc: { type: 'string' },
    root: { type: 'string' },
    sink: { type: 'string' },
    concurrency: { type: 'string' },
    identity: { type: 'string' },
    heartbeat: { type: 'string' },
    liveness: { type: 'string' },
    'drain-timeout': { type: 'string' },
    wire: { type: 'string' },
    transport: { type: 'string' },
    ...curveClientFlags,
    'curve-sink-key': { type: 'string' },
  },
  endpointFlag: ({ where }) => (where.endsWith('.sink') ? '--sink' : '--broker'),
  async start(ctx) {
    const { flags } = ctx;
    const service = flagString(flags, 'service');
    if (!service) throw new UsageError('--service is required', 'steward --role worker --service echo');
    if (service.startsWith('mmi.')) throw new UsageError(`--service ${service}: names starting with mmi. belong to the broker`, '--service echo');
    const serving = await chooseServing(service, flagString(flags, 'handler'), flagString(flags, 'rpc'));
    const root = flagString(flags, 'root');
    if (root !== undefined && !(serving.kind === 'rpc' && serving.target === 'images')) {
      throw new UsageError('--root is for the api.images service', `steward --role worker --service ${IMAGES_SERVICE} --root ${root}`);
    }
    if (root !== undefined && !isDirectory(root)) throw new UsageError(`--root ${root}: no such directory`, '--root ./pictures');
    const brokers = flagList(flags, 'broker');
    const concurrency = flagInt(flags, 'concurrency', 1, 1, 10_000);
    const wire = workerWire(flagString(flags, 'wire'));
    const brokerCount = Math.max(1, brokers.length);
    if (wire === 'mdp' && concurrency < brokerCount) {
      throw new UsageError(
        `--concurrency ${concurrency} with ${brokerCount} brokers and --wire mdp: an MDP broker takes at least one request at a time, so the worker could hold ${brokerCount}`,
        `--concurrency ${brokerCount}, or the steward wire (which moves one slot between brokers)`,
      );
    }
    if (concurrency < brokerCount) {
      ctx.logger.warn(
        { concurrency, brokers: brokerCount },
        'fewer slots than brokers: the worker registers with as many brokers as it has slots at a time (raise --concurrency to serve every broker at once)',
      );
    }
    const identity = flagString(flags, 'identity');
    const sink = flagString(flags, 'sink');
    // The sink may use CURVE while the brokers do not, and the other way round; both use this worker's pair.
    const sinkOnly = flagString(flags, 'curve-sink-key') !== undefined && flagString(flags, 'curve-server-key') === undefined;
    const curve = sinkOnly ? undefined : await curveClientFromFlags(flags, ctx.logger);
    const sinkCurve = flagString(flags, 'curve-sink-key') === undefined ? undefined : await curveClientFromFlags(flags, ctx.logger, 'curve-sink-key');
    const worker = Worker.prepare({
      ...(ctx.inspect ? { inspect: ctx.inspect } : {}),
      service,
      broker: brokers.length > 0 ? brokers : [DEFAULT_BACKEND],
      ...(serving.kind === 'handler' ? { handler: serving.handler } : {}),
      concurrency,
      heartbeatIntervalMs: flagInt(flags, 'heartbeat', MDP_HEARTBEAT_INTERVAL_MS, 10, 3_600_000),
      liveness: flagInt(flags, 'liveness', MDP_HEARTBEAT_LIVENESS, 1, 1000),
      drainTimeoutMs: flagInt(flags, 'drain-timeout', 5_000, 0, 600_000),
      wire,
      transport: transportFlag(flagString(flags, 'transport')),
      ...(identity !== undefined ? { identity } : {}),
      ...(sink !== undefined ? { sink } : {}),
      ...(curve ? { curve } : {}),
      ...(sinkCurve ? { sinkCurve } : {}),
      logger: ctx.logger,
      metrics: ctx.metrics,
    });
    if (serving.kind === 'rpc') {
      const onEvent = sink === undefined ? undefined : (event: JsonValue) => void worker.emit(event);
      worker.register(serving.target === 'images' ? new ImagesService({ ...(root !== undefined ? { root } : {}), ...(onEvent ? { onEvent } : {}) }) : serving.target);
    }
    worker.run();
    ctx.logger.info(
      { service, brokers: brokers.length > 0 ? brokers : [DEFAULT_BACKEND], serving: serving.kind === 'rpc' ? `rpc:${serving.target === 'images' ? 'images' : flagString(flags, 'rpc')}` : 'handler' },
      'worker started',
    );
    return { root: worker.actor };
  },
};

function workerWire(value: string | undefined): WorkerWireChoice {
  if (value === undefined || value === 'steward' || value === 'mdp') return value ?? 'steward';
  throw new UsageError(`--wire must be steward or mdp, got "${value}"`, '--wire mdp');
}
