import type { StartFailure, SupervisorOutput } from '../supervisor/types.js';

/**
 * A tree that failed to start for a reason other than an endpoint (those
 * reject with the `EndpointError` itself): names the child that failed, by
 * its path in the tree, and keeps its error as `cause`.
 */
export class StartupError extends Error {
  override readonly name = 'StartupError';
  constructor(
    readonly child: string,
    cause: unknown,
  ) {
    super(`${child} failed to start: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

function startFailureIn(output: unknown): StartFailure | undefined {
  if (typeof output !== 'object' || output === null) return undefined;
  const failed = output as Partial<Extract<SupervisorOutput, { exit: 'failed' }>>;
  return failed.exit === 'failed' ? failed.startFailure : undefined;
}

/**
 * What a role's `start()` rejects with when its tree ended before it started:
 * the failing child's own error when it is an `EndpointError` (a bind or
 * connect that cannot work: which socket, which endpoint, why), else a
 * `StartupError`. Undefined when the tree did not fail its start.
 */
export function startFailureError(snapshot: { output?: unknown }): Error | undefined {
  const failure = startFailureIn(snapshot.output);
  if (!failure) return undefined;
  if (failure.error instanceof Error && failure.error.name === 'EndpointError') return failure.error;
  return new StartupError(failure.child, failure.error);
}
