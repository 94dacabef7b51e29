import { lookup } from 'node:dns/promises';
import { checkEndpoint, isHostName, type EndpointOp } from '../util/endpoint.js';

export type { EndpointOp } from '../util/endpoint.js';

/** What each errno means for an endpoint, in the words an operator needs. */
const PROBLEMS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'address already in use (another process listens there: stop it or choose another port)',
  EACCES: 'permission denied (ports below 1024 need root)',
  EPERM: 'permission denied',
  EPROTONOSUPPORT: 'protocol not supported (use tcp://, ipc:// or inproc://)',
  ENODEV: 'no such network interface or host (cannot resolve it)',
  ENOTFOUND: 'cannot resolve the host name',
  EAI_AGAIN: 'cannot resolve the host name (the name server did not answer)',
  EADDRNOTAVAIL: 'address not available on this machine (use one of its own addresses, 127.0.0.1 or *)',
  ENOENT: 'no such directory for the ipc:// path',
  EINVAL: 'invalid endpoint',
};

function codeOf(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/**
 * A socket or server that could not bind, listen or connect where it was
 * told. `where` names it as the library does (`broker.frontend`,
 * `gateway.http`); the CLI turns that into the flag that set it. Raised while
 * a tree starts, it fails the start (see the supervisor's module doc).
 */
export class EndpointError extends Error {
  override readonly name = 'EndpointError';
  constructor(
    readonly where: string,
    readonly op: EndpointOp,
    readonly endpoint: string,
    /** The errno name (EADDRINUSE, EPROTONOSUPPORT, ENOTFOUND...), when there is one. */
    readonly code: string | undefined,
    /** What is wrong, for a person: "address already in use (...)". */
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${where}: ${failedTo(op, endpoint)}: ${problem}`, options);
  }
}

/** "cannot bind tcp://...", "cannot listen on 127.0.0.1:8080" */
export function failedTo(op: EndpointOp, endpoint: string): string {
  return `cannot ${op}${op === 'listen' ? ' on' : ''} ${endpoint}`;
}

/** Wraps what bind, listen or connect threw; an EndpointError passes through. */
export function endpointError(where: string, op: EndpointOp, endpoint: string, error: unknown): EndpointError {
  if (error instanceof EndpointError) return error;
  const code = codeOf(error);
  const known = code === 'EACCES' && endpoint.startsWith('ipc://') ? "permission denied (the ipc:// path's directory is not writable)" : code === undefined ? undefined : PROBLEMS[code];
  const problem = known ?? (error instanceof Error ? error.message : String(error));
  return new EndpointError(where, op, endpoint, code, problem, { cause: error });
}

/** Throws an EndpointError for an endpoint libzmq would refuse, or take for another (see `checkEndpoint`). */
export function assertEndpoint(where: string, op: EndpointOp, endpoint: string): void {
  const check = checkEndpoint(endpoint, op);
  if (!check.ok) throw new EndpointError(where, op, endpoint, check.code, check.problem);
}

/**
 * Looks up a connect endpoint's host name. libzmq resolves it only when it
 * connects, and retries a name that does not exist forever in silence; a
 * typo should fail the start instead. A name server that does not answer
 * (EAI_AGAIN) is not the endpoint's fault: that passes.
 */
export async function assertResolvable(where: string, endpoint: string): Promise<void> {
  const check = checkEndpoint(endpoint, 'connect');
  if (!check.ok || check.host === undefined || !isHostName(check.host)) return;
  const unresolvable = (cause: unknown, code = 'ENOTFOUND') => new EndpointError(where, 'connect', endpoint, code, `${PROBLEMS['ENOTFOUND']} "${check.host}"`, { cause });
  // RFC 6761 6.4: names under .invalid never resolve, and resolvers should say so at once; not every
  // resolver does (without a reachable name server the answer is EAI_AGAIN), so steward says it itself.
  if (isReservedInvalid(check.host)) throw unresolvable(undefined);
  try {
    await lookup(check.host);
  } catch (error) {
    if (codeOf(error) === 'EAI_AGAIN') return;
    throw unresolvable(error, codeOf(error));
  }
}

function isReservedInvalid(host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  return name === 'invalid' || name.endsWith('.invalid');
}
