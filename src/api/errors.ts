/** Typed errors a caller can tell apart by class or by `name`. */

/** No answer within the timeout, after every retry. */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
  constructor(
    readonly service: string,
    readonly attempts: number,
    readonly timeoutMs: number,
  ) {
    super(`no reply from ${service} within ${timeoutMs} ms (${attempts} attempt${attempts === 1 ? '' : 's'})`);
  }
}

/** The broker answered instead of a worker: expired, unavailable, worker lost, bad request. */
export class BrokerError extends Error {
  override readonly name = 'BrokerError';
  constructor(
    readonly service: string,
    readonly status: string,
    message: string,
  ) {
    super(`${service}: ${status} ${message}`);
  }
}

/** The remote handler threw; `remoteName`, `message` and `remoteStack` are the remote error's. */
export class RemoteError extends Error {
  override readonly name = 'RemoteError';
  constructor(
    readonly service: string,
    readonly remoteName: string,
    message: string,
    readonly remoteStack: string,
  ) {
    super(message);
  }
}

/** The client was closed while the call waited. */
export class ClosedError extends Error {
  override readonly name = 'ClosedError';
  constructor() {
    super('client closed');
  }
}
