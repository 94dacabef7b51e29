import { Gateway } from '../../api/gateway.js';
import { UsageError } from '../errors.js';
import type { RoleDefinition } from '../role.js';
import { flagInt, flagList, flagString } from '../flags.js';
import { GATEWAY_DEFAULTS, loadGatewayConfig, parseListenAddress, type GatewaySettings, type ListenAddress } from '../../config/gateway.js';
import { curveServerFlags, curveServerFromFlags } from '../curve-flags.js';
import { reloadAllowList } from '../../security/zap-handler.js';

function addresses(values: string[], flag: string): ListenAddress[] {
  return values.map((v) => {
    const a = parseListenAddress(v);
    if (!a) throw new UsageError(`--${flag} must be HOST:PORT, got "${v}"`, `--${flag} 127.0.0.1:8080`);
    return a;
  });
}

export const gatewayRole: RoleDefinition = {
  name: 'gateway',
  summary: 'BlastBeat front door: HTTP, HTTPS and WebSocket to ZeroMQ backend nodes',
  usage: `Usage: steward --role gateway -c FILE.ini [flags]
       steward --role gateway FILE.ini            (BlastBeat's own form)

Serves HTTP and HTTPS (SNI per virtual host) and forwards each connection to
backend nodes over ZeroMQ as [sid, type, body] messages, BlastBeat's wire:
a node is a DEALER whose routing id is the node name its virtual host lists.

Flags:
  -c, --config FILE      the INI file ([blastbeat] and [blastbeat:HOST[:PORT]] sections)
  --bind HOST:PORT       serve HTTP here instead of the file's bind (repeatable)
  --bind-ssl HOST:PORT   serve HTTPS here instead of the file's bind-ssl (repeatable)
  --zmq ENDPOINT         bind the nodes' ROUTER here instead of the file's zmq
  --node-sessions N      sessions one node may hold at once, instead of the file's
                         node-sessions (default ${GATEWAY_DEFAULTS.maxNodeSessions}); a full node is skipped,
                         and when every node of a host is full the client gets 503
  --curve-secret-key-file FILE
                         CURVE-encrypt the nodes' ROUTER with this key pair (steward
                         keygen), instead of the file's curve-secret-key-file; needs an
                         allow-list (default: plain TCP; see docs/security.md)
  --curve-allow FILE     public keys of the nodes let in, one per line, instead of the
                         file's curve-allow; others are refused and logged (reloaded
                         on SIGHUP)

Client connections past the file's sessions, a host's sessions or every
node's node-sessions are answered 503 with the reason, and counted in
steward_limit_hits_total{limit="gateway_sessions" | "gateway_vhost_sessions"
| "gateway_node_sessions"}.

Example file:
  [blastbeat]
  bind = 127.0.0.1:8080
  zmq = tcp://127.0.0.1:5000
  ping-freq = 3
  timeout = 30

  [blastbeat:localhost:8080]
  node = foobar1

See docs/gateway.md for every key, its default and limit.`,
  options: {
    config: { type: 'string', short: 'c' },
    bind: { type: 'string', multiple: true },
    'bind-ssl': { type: 'string', multiple: true },
    zmq: { type: 'string' },
    'node-sessions': { type: 'string' },
    ...curveServerFlags,
  },
  allowPositionals: true,
  endpointFlag: ({ where }, flags) => {
    const [flag, key] = where.endsWith('.zmq') ? ['zmq', 'zmq'] : where.endsWith('.https') ? ['bind-ssl', 'bind-ssl'] : ['bind', 'bind'];
    return flags[flag] !== undefined ? `--${flag}` : `${key} in the INI file`;
  },
  async start(ctx) {
    const fromFlag = flagString(ctx.flags, 'config');
    if (ctx.positionals.length > 1 || (fromFlag !== undefined && ctx.positionals.length > 0)) {
      throw new UsageError('give one config file, with -c FILE or as the only argument', 'steward --role gateway -c gateway.ini');
    }
    const file = fromFlag ?? ctx.positionals[0];
    if (file === undefined) throw new UsageError('the gateway needs its INI file', 'steward --role gateway -c gateway.ini');
    const loaded = loadGatewayConfig(file);
    for (const warning of loaded.warnings) ctx.logger.warn({ file }, warning);
    const bind = flagList(ctx.flags, 'bind');
    const bindSsl = flagList(ctx.flags, 'bind-ssl');
    const zmq = flagString(ctx.flags, 'zmq');
    const settings: GatewaySettings = {
      ...loaded.settings,
      maxNodeSessions: flagInt(ctx.flags, 'node-sessions', loaded.settings.maxNodeSessions, 1, 10_000_000),
      ...(bind.length > 0 ? { bind: addresses(bind, 'bind') } : {}),
      ...(bindSsl.length > 0 ? { bindSsl: addresses(bindSsl, 'bind-ssl') } : {}),
      ...(zmq !== undefined ? { zmq } : {}),
    };
    if (settings.bindSsl.length > 0 && !settings.vhosts.some((v) => v.tls)) {
      throw new UsageError('HTTPS needs a virtual host with certificate and key', 'add certificate = FILE and key = FILE to a [blastbeat:HOST] section');
    }
    const curve = await curveServerFromFlags(ctx.flags, ctx.logger, 'gateway', loaded.curve);
    const gateway = await Gateway.startWith(settings, { ...(curve ? { curve } : {}), logger: ctx.logger, metrics: ctx.metrics });
    ctx.onReload(() => {
      if (curve) reloadAllowList(gateway.actor.system, gateway.ids.root);
      if (curve) ctx.logger.info('the gateway reloads only its CURVE allow-list; restart it to apply other changes');
      else ctx.logger.warn('the gateway does not reload its configuration; restart it to apply changes');
    });
    return { root: gateway.actor };
  },
};
