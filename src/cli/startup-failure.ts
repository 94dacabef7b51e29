import { EndpointError, failedTo } from '../actors/endpoint-error.js';
import { UsageError } from './errors.js';
import type { RoleDefinition } from './role.js';
import { flagList, type Flags } from './flags.js';

/** The flag whose value is `endpoint` as the user typed it, if any. */
function flagGiving(endpoint: string, role: RoleDefinition, flags: Flags): string | undefined {
  for (const name of Object.keys(role.options)) {
    if (flagList(flags, name).includes(endpoint)) return `--${name}`;
  }
  return undefined;
}

/**
 * A bind or connect that failed while the role started, as a usage error
 * (exit code 2) of one line naming the flag, the endpoint and the cause:
 * `--frontend: cannot bind tcp://127.0.0.1:5555 (broker.frontend): address
 * already in use (...)`. Anything else is returned as it was.
 */
export function asStartupUsage(error: unknown, role: RoleDefinition, flags: Flags): unknown {
  if (!(error instanceof EndpointError)) return error;
  const source = flagGiving(error.endpoint, role, flags) ?? role.endpointFlag?.(error, flags);
  const what = `${failedTo(error.op, error.endpoint)} (${error.where}): ${error.problem}`;
  return new UsageError(source === undefined ? what : `${source}: ${what}`);
}
