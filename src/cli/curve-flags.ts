/** The CURVE flags roles share, read into the options of `curveServer` and the client APIs. */
import { stat } from 'node:fs/promises';
import { UsageError } from './errors.js';
import { flagString, type Flags, type OptionSpec } from './flags.js';
import type { Logger } from '../log.js';
import { loadAllowList } from '../security/allow-list.js';
import type { CurveClientOptions, CurveServerOptions } from '../security/curve.js';
import { loadKeyPair, resolvePublicKey } from '../security/keys.js';

export const curveServerFlags: OptionSpec = {
  'curve-secret-key-file': { type: 'string' },
  'curve-allow': { type: 'string' },
};

export const curveServerUsage = `  --curve-secret-key-file FILE
                          CURVE-encrypt the sockets with this key pair (steward keygen);
                          needs --curve-allow (default: plain TCP)
  --curve-allow FILE      public keys of the peers let in, one per line; others are
                          refused and logged (reloaded on SIGHUP)`;

export const curveClientFlags: OptionSpec = {
  'curve-server-key': { type: 'string' },
  'curve-secret-key-file': { type: 'string' },
};

export const curveClientUsage = `  --curve-server-key KEY  CURVE: the server's public key (40 Z85 characters, or a file holding it)
  --curve-secret-key-file FILE
                          CURVE: this peer's key pair (default: a fresh pair, which the
                          server's allow-list cannot know)`;

/** Warns when a secret key file can be read by others: CURVE is only as safe as that file. */
async function warnIfExposed(file: string, logger: Logger): Promise<void> {
  try {
    const { mode } = await stat(file);
    if ((mode & 0o077) !== 0) logger.warn({ file, mode: `0${(mode & 0o777).toString(8)}` }, 'secret key file is readable by others; chmod 600 it');
  } catch {
    // loadKeyPair reports a missing file.
  }
}

/**
 * `--curve-secret-key-file` and `--curve-allow` of a server role, or undefined for plain TCP.
 * `fromConfig` are the files a role's config file names; a flag replaces either.
 */
export async function curveServerFromFlags(
  flags: Flags,
  logger: Logger,
  role: string,
  fromConfig?: { readonly secretKeyFile: string; readonly allowFile: string },
): Promise<CurveServerOptions | undefined> {
  const keyFile = flagString(flags, 'curve-secret-key-file') ?? fromConfig?.secretKeyFile;
  const allowFile = flagString(flags, 'curve-allow') ?? fromConfig?.allowFile;
  if (keyFile === undefined && allowFile === undefined) return undefined;
  if (keyFile === undefined) {
    throw new UsageError('--curve-allow needs --curve-secret-key-file (the server\'s key pair)', `steward keygen --out ${role}.key; steward --role ${role} --curve-secret-key-file ${role}.key --curve-allow ${allowFile as string}`);
  }
  if (allowFile === undefined) {
    throw new UsageError('--curve-secret-key-file needs --curve-allow FILE: without an allow-list any key would be let in', `--curve-allow clients.allow`);
  }
  const pair = await loadKeyPair(keyFile);
  await warnIfExposed(keyFile, logger);
  const allow = await loadAllowList(allowFile);
  logger.info({ publicKey: pair.publicKey, allowed: allow.length, allowFile }, 'CURVE on');
  return { secretKey: pair.secretKey, publicKey: pair.publicKey, allow, allowFile };
}

/**
 * `--curve-server-key` (or another flag naming a server key) and
 * `--curve-secret-key-file` of a client role, or undefined for plain TCP.
 */
export async function curveClientFromFlags(flags: Flags, logger: Logger, serverKeyFlag = 'curve-server-key'): Promise<CurveClientOptions | undefined> {
  const serverKey = flagString(flags, serverKeyFlag);
  const keyFile = flagString(flags, 'curve-secret-key-file');
  if (serverKey === undefined && keyFile === undefined) return undefined;
  if (serverKey === undefined) {
    throw new UsageError(`--curve-secret-key-file needs --${serverKeyFlag} (the server's public key)`, `--${serverKeyFlag} KEY`);
  }
  const resolved = await resolvePublicKey(serverKey);
  if (keyFile === undefined) return { serverKey: resolved };
  const pair = await loadKeyPair(keyFile);
  await warnIfExposed(keyFile, logger);
  return { serverKey: resolved, secretKey: pair.secretKey, publicKey: pair.publicKey };
}
