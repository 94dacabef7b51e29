import type { Logger } from '../log.js';
import { EXIT_FAILURE, EXIT_OK } from './errors.js';
import type { RoleRun } from './role.js';
import { whenStopped } from '../supervisor/when-stopped.js';

export interface RunOptions {
  readonly logger: Logger;
  /** How long a graceful shutdown may take before the process exits anyway. */
  readonly shutdownTimeoutMs?: number;
}

/**
 * Asks a role's tree to shut down (drain, close sockets) and waits, bounded.
 * Returns the exit code: 0 for a clean stop, 1 when the tree had already failed.
 */
export async function shutdownRole(run: RoleRun, options: RunOptions): Promise<number> {
  const { logger } = options;
  const timeout = options.shutdownTimeoutMs ?? 10_000;
  let code = EXIT_OK;
  if (run.root) {
    const stopped = whenStopped(run.root);
    if ((run.root.getSnapshot() as { status: string }).status === 'active') run.root.send({ type: 'lifecycle.shutdown' });
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([
      stopped,
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeout);
      }),
    ]);
    clearTimeout(timer);
    if (result === 'timeout') {
      logger.warn({ timeoutMs: timeout }, 'graceful shutdown timed out; stopping at once');
      (run.root as unknown as { stop?: () => void }).stop?.();
    } else if (isFailed(result.output) || result.status === 'error') {
      code = EXIT_FAILURE;
    }
  }
  await run.close?.();
  return code;
}

export function isFailed(output: unknown): boolean {
  return typeof output === 'object' && output !== null && (output as { exit?: unknown }).exit === 'failed';
}
