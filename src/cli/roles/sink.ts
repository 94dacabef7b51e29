import { Sink } from '../../api/sink.js';
import type { RoleDefinition } from '../role.js';
import { flagInt, flagString } from '../flags.js';
import { DEFAULT_SINK_ENDPOINT, DEFAULT_SINK_LIMITS } from '../../protocol/sink.js';
import { curveServerFlags, curveServerFromFlags, curveServerUsage } from '../curve-flags.js';
import { reloadAllowList } from '../../security/zap-handler.js';

export const sinkRole: RoleDefinition = {
  name: 'sink',
  summary: 'collect the events workers push (butler task result sink)',
  usage: `Usage: steward --role sink [--bind ENDPOINT] [flags]

Binds a PULL socket and logs every event workers push to it (a worker started
with --sink ENDPOINT, or any PUSH socket sending one JSON frame, or a source
frame and a JSON frame), one structured log line per event ("sink event").
Events larger or deeper than the limits, and frames that are not JSON, are
dropped and counted (steward_dropped_total{socket="sink.socket"}).

Flags:
  --bind ENDPOINT         where workers push (default ${DEFAULT_SINK_ENDPOINT})
  --max-event-size B      largest event, in bytes of JSON (default ${DEFAULT_SINK_LIMITS.maxBytes})
  --max-depth N           deepest nesting of an event (default ${DEFAULT_SINK_LIMITS.maxDepth})
${curveServerUsage}

Example:
  steward --role sink --bind tcp://127.0.0.1:5558
  steward --role worker --service api.images --sink tcp://127.0.0.1:5558`,
  options: {
    bind: { type: 'string' },
    'max-event-size': { type: 'string' },
    'max-depth': { type: 'string' },
    ...curveServerFlags,
  },
  endpointFlag: () => '--bind',
  async start(ctx) {
    const { flags } = ctx;
    const curve = await curveServerFromFlags(flags, ctx.logger, 'sink');
    const sink = await Sink.start({
      ...(ctx.inspect ? { inspect: ctx.inspect } : {}),
      bind: flagString(flags, 'bind') ?? DEFAULT_SINK_ENDPOINT,
      limits: {
        maxBytes: flagInt(flags, 'max-event-size', DEFAULT_SINK_LIMITS.maxBytes, 2, 256 * 1024 * 1024),
        maxDepth: flagInt(flags, 'max-depth', DEFAULT_SINK_LIMITS.maxDepth, 1, 1024),
      },
      ...(curve ? { curve } : {}),
      logger: ctx.logger,
      metrics: ctx.metrics,
    });
    if (curve) ctx.onReload(() => reloadAllowList(sink.actor.system, 'sink'));
    return { root: sink.actor };
  },
};
