import { UsageError } from '../errors.js';
import type { RoleDefinition } from '../role.js';
import { flagString } from '../flags.js';
import { Balancer, DEFAULT_BALANCER_BIND, DEFAULT_BALANCER_CONFIG } from '../../api/balancer.js';
import { curveServerFlags, curveServerFromFlags, curveServerUsage } from '../curve-flags.js';
import { reloadAllowList } from '../../security/zap-handler.js';

const ENDPOINT = /^(tcp|ipc|inproc|ws|wss|pgm|epgm|vmci):\/\/\S+$/;

/** stirr as a steward role: same flags, same wire, same configuration file. */
export const balancerRole: RoleDefinition = {
  name: 'balancer',
  summary: 'hand out backend configurations from a JSON file, load-balanced, skipping unhealthy backends (stirr)',
  usage: `Usage: steward --role balancer [-c CONFIG] [-d] [--bind ADDRESS]

A load-balancing backend configuration manager (stirr). Clients send one JSON
frame {"group", "type", "algorithm", "args"} from a DEALER (or a REQ) and get
the chosen backend's "configuration" back, or {"error": "..."}.

Flags:
  -c, --config PATH     the configuration file to load (default: ${DEFAULT_BALANCER_CONFIG});
                        reloaded when it changes and on SIGHUP
  -d, --debug           output debug information
  --bind ADDRESS        protocol://interface:port to listen on (default: ${DEFAULT_BALANCER_BIND})
${curveServerUsage}

Algorithms: Casual, Weighted, RoundRobin, LeastRecent
Backend types: Base, Tcp, Http, MySQL (["MySQL", user, password]), Redis

Example:
  steward --role balancer -c examples/balancer/config.json --bind tcp://127.0.0.1:5557`,
  options: {
    config: { type: 'string', short: 'c' },
    bind: { type: 'string' },
    ...curveServerFlags,
  },
  endpointFlag: () => '--bind',
  async start(ctx) {
    const bind = flagString(ctx.flags, 'bind') ?? DEFAULT_BALANCER_BIND;
    // The socket would refuse it too; here it is refused in stirr's words, with the default to use.
    if (!ENDPOINT.test(bind)) throw new UsageError(`--bind must be protocol://interface:port, got "${bind}"`, `--bind ${DEFAULT_BALANCER_BIND}`);
    const curve = await curveServerFromFlags(ctx.flags, ctx.logger, 'balancer');
    const balancer = await Balancer.start({
      ...(ctx.inspect ? { inspect: ctx.inspect } : {}),
      configFile: flagString(ctx.flags, 'config') ?? DEFAULT_BALANCER_CONFIG,
      bind,
      ...(curve ? { curve } : {}),
      logger: ctx.logger,
      metrics: ctx.metrics,
    });
    ctx.onReload(() => {
      balancer.reload('signal');
      if (curve) reloadAllowList(balancer.actor.system, balancer.ids.root);
    });
    return { root: balancer.actor };
  },
};
