/**
 * The command line the example nodes share:
 *
 *   NODE.js [ENDPOINT] [--curve-server-key KEY --curve-secret-key-file FILE]
 *
 * With the CURVE flags the node talks to a gateway started with
 * --curve-secret-key-file and --curve-allow (or their INI keys); its public
 * key must be on the gateway's allow-list. The same flags as every steward
 * client, read by the same code.
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../../src/cli/errors.js';
import { ConfigError } from '../../src/config/errors.js';
import { createLogger, type Logger } from '../../src/log.js';
import type { CurveClientOptions } from '../../src/security/curve.js';
import { curveClientFlags, curveClientFromFlags } from '../../src/cli/curve-flags.js';

export interface NodeArgs {
  readonly endpoint: string;
  readonly curve: CurveClientOptions | undefined;
  readonly logger: Logger;
}

export async function nodeArgs(name: string): Promise<NodeArgs> {
  const logger = createLogger({ name });
  try {
    const { values, positionals } = parseArgs({ options: curveClientFlags, allowPositionals: true, strict: true });
    if (positionals.length > 1) throw new UsageError('give at most one endpoint', `${name} tcp://127.0.0.1:5000`);
    const curve = await curveClientFromFlags(values, logger);
    return { endpoint: positionals[0] ?? 'tcp://127.0.0.1:5000', curve, logger };
  } catch (error) {
    if (!(error instanceof UsageError || error instanceof ConfigError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))) throw error;
    const hint = error instanceof UsageError && error.hint ? ` (try: ${error.hint})` : '';
    process.stderr.write(`${name}: ${(error as Error).message}${hint}\nusage: ${name} [ENDPOINT] [--curve-server-key KEY --curve-secret-key-file FILE]\n`);
    process.exit(2);
  }
}
