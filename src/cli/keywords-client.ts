import { UsageError } from './errors.js';
import type { RoleContext } from './role.js';
import { flagInt, flagString, type Flags } from './flags.js';
import { assertResolvable } from '../actors/endpoint-error.js';
import { tcpEndpoint } from '../protocol/keywords.js';
import { loadKeywordsConfig } from '../config/keywords-config.js';
import { isValidName } from '../protocol/ktl-types.js';
import { KeywordClient, KeywordError } from '../api/keywords/index.js';
import { curveClientFlags, curveClientFromFlags, curveClientUsage } from './curve-flags.js';
import { resolvePublicKey } from '../security/keys.js';

/** The shared start of `show` and `modify`: a client from -c and --timeout, and the -s service. */
export async function clientFor(ctx: RoleContext, role: string): Promise<{ client: KeywordClient; service: string }> {
  const service = flagString(ctx.flags, 'service');
  if (service === undefined) throw new UsageError('-s SERVICE is required', `steward --role ${role} -s SERVICE ...`);
  if (!isValidName(service)) throw new UsageError(`"${service}" is not a service name (1-64 of A-Z a-z 0-9 _ . -)`, `steward --role ${role} -s thermo ...`);
  const config = await loadKeywordsConfig(flagString(ctx.flags, 'config'));
  const timeoutMs = flagInt(ctx.flags, 'timeout', config.router.timeoutMs, 1, 3_600_000);
  // A host that does not exist would only show as a timeout, "registry-unavailable".
  const first = config.router.enable ? tcpEndpoint(config.router.host, config.router.port) : tcpEndpoint(config.zmq.host, config.zmq.dispatchPort);
  await assertResolvable(config.router.enable ? `${role}.registry` : `${role}.dispatcher`, first);
  const curve = await curveClientFromFlags(ctx.flags, ctx.logger);
  const dispatcherFlag = flagString(ctx.flags, 'curve-dispatcher-key');
  if (dispatcherFlag !== undefined && !curve) throw new UsageError('--curve-dispatcher-key needs --curve-server-key (the registry\'s key)', '--curve-server-key KEY');
  const dispatcherKey = dispatcherFlag === undefined ? undefined : await resolvePublicKey(dispatcherFlag);
  return {
    client: new KeywordClient({ config, timeoutMs, ...(curve ? { curve: { ...curve, ...(dispatcherKey ? { dispatcherKey } : {}) } } : {}), logger: ctx.logger }),
    service,
  };
}

/** Where show's and modify's first endpoint comes from, for a startup failure: the config file's host. */
export function keywordsEndpointFlag({ where }: { where: string }, flags: Flags): string {
  const file = flagString(flags, 'config');
  const key = where.endsWith('.registry') ? '[zmq-router] host' : '[zmq] host';
  return file === undefined ? `${key} (the built-in default; give -c FILE)` : `${key} in ${file}`;
}

/** One failed keyword: a line on stderr naming it, the code and the reason. */
export function reportFailure(service: string, keyword: string, error: unknown): void {
  const text = error instanceof KeywordError ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
  process.stderr.write(`steward: ${service}.${keyword}: ${text}\n`);
}

export const clientOptions = {
  service: { type: 'string', short: 's' },
  config: { type: 'string', short: 'c' },
  timeout: { type: 'string' },
  ...curveClientFlags,
  'curve-dispatcher-key': { type: 'string' },
} as const;

/** The CURVE lines of show's and modify's help. */
export const keywordsCurveUsage = `${curveClientUsage}
                          (the registry's key; without a registry, the dispatcher's)
  --curve-dispatcher-key KEY
                          the dispatchers' public key, when it differs from the registry's`;
