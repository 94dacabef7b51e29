import { UsageError } from '../cli/errors.js';
import { flagString, type RoleDefinition } from '../cli/role.js';
import { loadKeywordsConfig } from '../config/keywords-config.js';
import { loadKeywordsFile } from '../config/keywords-file.js';
import { isValidName } from '../protocol/ktl-types.js';
import { Dispatcher } from '../api/dispatcher.js';

export const dispatcherRole: RoleDefinition = {
  name: 'dispatcher',
  summary: 'hosts the keywords of one service: reads, validated writes, broadcasts (Cauldron dispatcher)',
  usage: `Usage: steward --role dispatcher --service NAME --keywords FILE [-c CONFIG]

Hosts the keywords declared in FILE (JSON, see docs/keywords.md) as service NAME.
With [zmq-router] enable = yes it registers with the registry for a port pair,
starting a registry itself when none answers within timeout and allow-spawn = yes
(process = thread: inside this process; otherwise a child process it stops on exit).
With enable = no it binds the [zmq] dispatch-port and broadcast-port.

Flags:
  -s, --service NAME    the service name (1-64 of A-Z a-z 0-9 _ . -)
  -k, --keywords FILE   the keywords JSON file
  -c, --config FILE     INI file with [zmq] and [zmq-router] (default: the built-in defaults)

Example:
  steward --role dispatcher --service thermo --keywords examples/keywords/keywords.json -c examples/keywords/config.ini`,
  options: {
    service: { type: 'string', short: 's' },
    keywords: { type: 'string', short: 'k' },
    config: { type: 'string', short: 'c' },
  },
  async start(ctx) {
    const service = flagString(ctx.flags, 'service');
    if (service === undefined) throw new UsageError('--service is required', 'steward --role dispatcher --service NAME --keywords FILE');
    if (!isValidName(service)) throw new UsageError(`"${service}" is not a service name (1-64 of A-Z a-z 0-9 _ . -)`, '--service thermo');
    const file = flagString(ctx.flags, 'keywords');
    if (file === undefined) throw new UsageError('--keywords is required', 'steward --role dispatcher --service NAME --keywords FILE');
    const config = await loadKeywordsConfig(flagString(ctx.flags, 'config'));
    const keywords = await loadKeywordsFile(file);
    const dispatcher = Dispatcher.launch({
      service,
      keywords,
      config,
      logger: ctx.logger,
      metrics: ctx.metrics,
      ...(ctx.inspect ? { inspect: ctx.inspect } : {}),
    });
    // Never resolves while serving; rejects when the registry refuses the service (exit 1).
    const done = new Promise<number>((_, reject) => {
      dispatcher.listening().catch(reject);
    });
    return { root: dispatcher.actor, done };
  },
};
