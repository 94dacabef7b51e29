import { fromResource } from '../actors/from-resource.js';
import type { Logger } from '../log.js';
import { loadAllowList } from './allow-list.js';
import type { RefusalLog } from './refusals.js';
import { zapHub, type ZapHub } from './zap-hub.js';
import type { ZapDecision, ZapPolicy } from './zap.js';

export interface ZapHandlerConfig {
  /** The server's name in logs and metrics (its tree name). */
  readonly server: string;
  /** The ZAP domain its CURVE sockets name. */
  readonly domain: string;
  /** Z85 public keys of the clients let in. */
  readonly allow: readonly string[];
  /** Where `allow` came from: `zap.reload` reads it again. */
  readonly allowFile?: string;
  /**
   * The server's own public key, always let in: whoever holds the secret key
   * can already be the server, and processes sharing one pair (a dispatcher
   * and the registry it started) must reach each other.
   */
  readonly ownKey?: string;
  readonly refusals: RefusalLog;
  readonly logger: Logger;
  readonly hub?: ZapHub;
}

export type ZapHandlerEvent =
  /** Read the allow-list file again (SIGHUP); a bad file is logged and the current list kept. */
  | { type: 'zap.reload' }
  /** Replace the allow-list. */
  | { type: 'zap.allow'; keys: readonly string[] };

function policyOf(keys: readonly string[], ownKey: string | undefined): ZapPolicy {
  const allowed = new Set(keys);
  if (ownKey !== undefined) allowed.add(ownKey);
  return { allowed };
}

/**
 * The ZAP handler of one CURVE server: registers the server's domain and
 * allow-list with the process's ZAP socket for as long as it runs, and logs
 * and counts each refusal. It is the first child of the server's tree,
 * because a CURVE socket that listens before a handler is bound lets every
 * key in; the sockets themselves also wait for it (see `curveServer`).
 */
export function zapHandler(config: ZapHandlerConfig) {
  const hub = config.hub ?? zapHub;
  const log = config.logger.child({ actor: `${config.server}.zap` });
  return fromResource<ZapHandlerEvent>(({ receive, fail }) => {
    let stopped = false;
    let keys = config.allow;
    const onDecision = (decision: ZapDecision) => {
      if (decision.allowed) {
        log.debug({ address: decision.address, key: decision.key }, 'peer allowed');
        return;
      }
      config.refusals.refused(decision.reason, { address: decision.address, key: decision.key, mechanism: decision.mechanism });
    };
    const registration = hub.register(config.domain, policyOf(keys, config.ownKey), onDecision);
    hub.ready(config.domain).then(
      () => {
        if (!stopped) log.info({ allowed: keys.length, ...(config.allowFile ? { file: config.allowFile } : {}) }, 'ZAP handler ready');
      },
      (error: unknown) => {
        if (!stopped) fail(error);
      },
    );

    const replace = (next: readonly string[], source: string) => {
      keys = next;
      registration.update(policyOf(keys, config.ownKey));
      log.info({ allowed: keys.length, source }, 'allow-list replaced');
    };

    receive((event) => {
      switch (event.type) {
        case 'zap.allow':
          replace(event.keys, 'api');
          break;
        case 'zap.reload': {
          const file = config.allowFile;
          if (file === undefined) {
            log.info('no allow-list file to reload');
            break;
          }
          loadAllowList(file).then(
            (next) => {
              if (!stopped) replace(next, file);
            },
            (error: unknown) => {
              log.error({ err: error, file, kept: keys.length }, 'allow-list reload failed; the current list stays');
            },
          );
          break;
        }
      }
    });

    return () => {
      stopped = true;
      registration.release();
    };
  });
}

/** Asks a running tree's ZAP handler to read its allow-list file again (SIGHUP); false when it has none. */
export function reloadAllowList(system: { get(id: string): { send(event: ZapHandlerEvent): void } | undefined }, tree: string): boolean {
  const handler = system.get(`${tree}.zap`);
  if (!handler) return false;
  handler.send({ type: 'zap.reload' });
  return true;
}
