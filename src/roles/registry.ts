import type { LevelWithSilent } from 'pino';
import { flagCount, flagInt, flagString, flagBool, type RoleDefinition } from '../cli/role.js';
import { loadKeywordsConfig } from '../config/keywords-config.js';
import { Registry } from '../api/registry.js';
import { curveServerFlags, curveServerFromFlags, curveServerUsage } from '../security/flags.js';
import { reloadAllowList } from '../security/zap-handler.js';

/** `-v` count (or `verbose` in the config) to a log level, unless --log-level or -d chose one. */
export function verbosityLevel(verbose: number): LevelWithSilent | undefined {
  if (verbose <= 0) return undefined;
  return verbose === 1 ? 'debug' : 'trace';
}

export const registryRole: RoleDefinition = {
  name: 'registry',
  summary: 'address book for keyword services: dispatchers register, clients look up (Cauldron router)',
  usage: `Usage: steward --role registry [-c CONFIG] [-v -v -v] [flags]

Starts a registry (Cauldron's "router"): dispatchers register a service and get a
dispatch and a broadcast port from [zmq-router] first-port..last-port; clients
look services up. A dispatcher silent for heartbeat x liveness ms is dropped and
its ports freed.

Flags:
  -c, --config FILE     INI file with [zmq-router] (default: the built-in defaults)
  -v, --verbose         more log detail; repeat up to three times (or verbose = N)
  --port N              listen port (overrides [zmq-router] port, default 6510)
  --first-port N        first port handed out (default 6600)
  --last-port N         last port handed out (default 6700)
  --heartbeat MS        how often dispatchers heartbeat (default 1000)
  --liveness N          heartbeats missed before a dispatcher is dropped (default 3)
${curveServerUsage}

Example:
  steward --role registry -c examples/keywords/config.ini -v`,
  options: {
    config: { type: 'string', short: 'c' },
    verbose: { type: 'boolean', short: 'v', multiple: true },
    port: { type: 'string' },
    'first-port': { type: 'string' },
    'last-port': { type: 'string' },
    heartbeat: { type: 'string' },
    liveness: { type: 'string' },
    ...curveServerFlags,
  },
  endpointFlag: (_failure, flags) => {
    const file = flagString(flags, 'config');
    return file === undefined || flagString(flags, 'port') !== undefined ? '--port' : `--port (or [zmq-router] host and port in ${file})`;
  },
  async start(ctx) {
    const config = await loadKeywordsConfig(flagString(ctx.flags, 'config'));
    const r = config.router;
    const level = verbosityLevel(Math.max(flagCount(ctx.flags, 'verbose'), r.verbose));
    if (level && flagString(ctx.flags, 'log-level') === undefined && !flagBool(ctx.flags, 'debug')) ctx.logger.level = level;
    const port = flagInt(ctx.flags, 'port', r.port, 1, 65535);
    const curve = await curveServerFromFlags(ctx.flags, ctx.logger, 'registry');
    const registry = await Registry.start({
      ...(ctx.inspect ? { inspect: ctx.inspect } : {}),
      config: { ...config, router: { ...r, port } },
      firstPort: flagInt(ctx.flags, 'first-port', r.firstPort, 1, 65535),
      lastPort: flagInt(ctx.flags, 'last-port', r.lastPort, 1, 65535),
      heartbeatMs: flagInt(ctx.flags, 'heartbeat', r.heartbeatMs, 10, 3_600_000),
      liveness: flagInt(ctx.flags, 'liveness', r.liveness, 1, 100),
      ...(curve ? { curve } : {}),
      logger: ctx.logger,
      metrics: ctx.metrics,
    });
    if (curve) ctx.onReload(() => reloadAllowList(registry.actor.system, registry.ids.root));
    return { root: registry.actor };
  },
};
