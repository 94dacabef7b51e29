import { UsageError } from '../errors.js';
import type { RoleDefinition } from '../role.js';
import { flagString } from '../flags.js';
import { loadKeywordsConfig } from '../../config/keywords-config.js';
import { loadKeywordsFile } from '../../config/keywords-file.js';
import { isValidName } from '../../protocol/ktl-types.js';
import { Dispatcher } from '../../api/dispatcher.js';
import { curveServerFlags, curveServerFromFlags, curveServerUsage } from '../curve-flags.js';
import { resolvePublicKey } from '../../security/keys.js';
import { reloadAllowList } from '../../security/zap-handler.js';

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
${curveServerUsage}
  --curve-server-key KEY  the registry's public key (default: this dispatcher's own, a
                          keyword mesh sharing one pair); a registry this dispatcher
                          starts uses its pair and allow-list

Example:
  steward --role dispatcher --service thermo --keywords examples/keywords/keywords.json -c examples/keywords/config.ini`,
  options: {
    service: { type: 'string', short: 's' },
    keywords: { type: 'string', short: 'k' },
    config: { type: 'string', short: 'c' },
    ...curveServerFlags,
    'curve-server-key': { type: 'string' },
  },
  endpointFlag: ({ where }, flags) => {
    const file = flagString(flags, 'config');
    const section = where.endsWith('.link') ? '[zmq-router] host and port' : '[zmq] host, dispatch-port and broadcast-port';
    return file === undefined ? `${section} (the built-in defaults; give -c FILE)` : `${section} in ${file}`;
  },
  async start(ctx) {
    const service = flagString(ctx.flags, 'service');
    if (service === undefined) throw new UsageError('--service is required', 'steward --role dispatcher --service NAME --keywords FILE');
    if (!isValidName(service)) throw new UsageError(`"${service}" is not a service name (1-64 of A-Z a-z 0-9 _ . -)`, '--service thermo');
    const file = flagString(ctx.flags, 'keywords');
    if (file === undefined) throw new UsageError('--keywords is required', 'steward --role dispatcher --service NAME --keywords FILE');
    const config = await loadKeywordsConfig(flagString(ctx.flags, 'config'));
    const keywords = await loadKeywordsFile(file);
    const server = await curveServerFromFlags(ctx.flags, ctx.logger, 'dispatcher');
    const registryKeyFlag = flagString(ctx.flags, 'curve-server-key');
    if (registryKeyFlag !== undefined && !server) throw new UsageError('--curve-server-key needs --curve-secret-key-file and --curve-allow (the dispatcher serves with CURVE too)', '--curve-secret-key-file dispatcher.key --curve-allow clients.allow');
    const registryKey = registryKeyFlag === undefined ? undefined : await resolvePublicKey(registryKeyFlag);
    const keyFile = flagString(ctx.flags, 'curve-secret-key-file');
    const curve = server ? { ...server, ...(registryKey ? { registryKey } : {}), ...(keyFile ? { keyFile } : {}) } : undefined;
    const dispatcher = Dispatcher.launch({
      service,
      keywords,
      config,
      ...(curve ? { curve } : {}),
      logger: ctx.logger,
      metrics: ctx.metrics,
      ...(ctx.inspect ? { inspect: ctx.inspect } : {}),
    });
    if (curve) ctx.onReload(() => reloadAllowList(dispatcher.actor.system, dispatcher.ids.root));
    // Never resolves while serving; rejects when the registry refuses the service (exit 1).
    const done = new Promise<number>((_, reject) => {
      dispatcher.listening().catch(reject);
    });
    return { root: dispatcher.actor, done };
  },
};
