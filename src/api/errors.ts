/** Typed errors a caller can tell apart by class or by `name`. */

/**
 * No answer within the timeout, after every retry. `detail` says what the
 * client knew of the last attempt's broker: up (then a worker was too slow, or
 * none came while the call waited for one) or silent.
 */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
  constructor(
    readonly service: string,
    readonly attempts: number,
    readonly timeoutMs: number,
    readonly detail?: string,
  ) {
    super(`no reply from ${service} within ${timeoutMs} ms (${attempts} attempt${attempts === 1 ? '' : 's'})${detail ? `: ${detail}` : ''}`);
  }
}

/**
 * No worker serves the service: every broker the call could reach said so at
 * once (status 404), none of them queued it. Only for calls that do not wait
 * for a worker (the default; see `waitForWorker`). `brokers` are the
 * endpoints that said so.
 */
export class NoWorkerError extends Error {
  override readonly name = 'NoWorkerError';
  constructor(
    readonly service: string,
    readonly brokers: readonly string[],
  ) {
    super(`no worker serves ${service} (${brokers.length === 1 ? 'broker' : 'brokers'} ${brokers.join(', ')} said so; pass waitForWorker to wait for one)`);
  }
}

/** The broker answered instead of a worker: expired, unavailable, worker lost, bad request. */
export class BrokerError extends Error {
  override readonly name = 'BrokerError';
  constructor(
    readonly service: string,
    /** The broker's status (see protocol/status.ts): 400, 410, 413, 501, 503, 504. */
    readonly status: number,
    message: string,
  ) {
    super(`${service}: ${status} ${message}`);
  }
}

/**
 * The remote method threw; `remoteName`, `message` and `remoteStack` are the
 * remote error's (its class name, message and traceback). The remote
 * traceback is appended to `stack` too, for whoever prints it.
 */
export class RemoteError extends Error {
  override readonly name = 'RemoteError';
  constructor(
    readonly service: string,
    readonly remoteName: string,
    message: string,
    readonly remoteStack: string,
    readonly method?: string,
  ) {
    super(message);
    if (remoteStack.length > 0) this.stack = `${this.stack ?? ''}\n    --- remote ${remoteName} in ${service}${method ? `.${method}` : ''} ---\n${remoteStack}`;
  }
}

/** The service answered "404": it has no method of that name. */
export class UnknownMethodError extends Error {
  override readonly name = 'UnknownMethodError';
  constructor(
    readonly service: string,
    readonly method: string,
  ) {
    super(`${service} has no method ${method}`);
  }
}

/** A reply that could not be read (too large, too deeply nested, empty). */
export class InvalidReplyError extends Error {
  override readonly name = 'InvalidReplyError';
  constructor(
    readonly service: string,
    message: string,
  ) {
    super(`${service}: ${message}`);
  }
}

/** The client was closed while the call waited. */
export class ClosedError extends Error {
  override readonly name = 'ClosedError';
  constructor() {
    super('client closed');
  }
}
