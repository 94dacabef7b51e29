/**
 * Typed errors of the keyword library. Every one is a KeywordError with a
 * `code` to switch on; the subclasses say what went wrong in words a user
 * can act on (which service, which endpoint, how long was waited).
 */
import type { ErrorCode } from '../../protocol/keywords.js';

export type KeywordErrorCode =
  /** Answered by a registry or dispatcher in place of "ok". */
  | ErrorCode
  /** The registry did not answer in time. */
  | 'registry-unavailable'
  /** The dispatcher did not answer in time (stopped, killed, or unreachable). */
  | 'dispatcher-unavailable'
  /** `wait()` saw no change in time. */
  | 'timeout'
  /** The client was closed while the request was in flight. */
  | 'closed'
  /** A reply that does not follow the protocol. */
  | 'protocol';

export interface KeywordErrorDetails {
  readonly service?: string;
  readonly keyword?: string;
  readonly endpoint?: string;
  readonly cause?: unknown;
}

export class KeywordError extends Error {
  override name = 'KeywordError';
  readonly service: string | undefined;
  readonly keyword: string | undefined;
  readonly endpoint: string | undefined;

  constructor(
    readonly code: KeywordErrorCode,
    message: string,
    details: KeywordErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.service = details.service;
    this.keyword = details.keyword;
    this.endpoint = details.endpoint;
  }
}

/** The registry said no, or a dispatcher refused a request (invalid value, read-only, unknown keyword...). */
export class KeywordRejectedError extends KeywordError {
  override name = 'KeywordRejectedError';
}

export class ServiceNotFoundError extends KeywordError {
  override name = 'ServiceNotFoundError';
  constructor(service: string, message: string, endpoint?: string) {
    super('no-such-service', message, { service, ...(endpoint ? { endpoint } : {}) });
  }
}

export class RegistryUnavailableError extends KeywordError {
  override name = 'RegistryUnavailableError';
  constructor(endpoint: string, timeoutMs: number, service?: string) {
    super('registry-unavailable', `no registry answered at ${endpoint} within ${timeoutMs} ms; is one running (steward --role registry)?`, {
      endpoint,
      ...(service ? { service } : {}),
    });
  }
}

export class DispatcherUnavailableError extends KeywordError {
  override name = 'DispatcherUnavailableError';
  constructor(service: string, endpoint: string, timeoutMs: number, keyword?: string, registryState?: string) {
    const listed = registryState === 'suspect' ? ' (the registry lists it as suspect: it has missed heartbeats)' : '';
    super('dispatcher-unavailable', `the dispatcher of "${service}" at ${endpoint} did not answer within ${timeoutMs} ms; it may have stopped${listed}`, {
      service,
      endpoint,
      ...(keyword ? { keyword } : {}),
    });
  }
}

export class KeywordTimeoutError extends KeywordError {
  override name = 'KeywordTimeoutError';
}

export class KeywordClosedError extends KeywordError {
  override name = 'KeywordClosedError';
  constructor(what: string) {
    super('closed', `${what}: the keyword client was closed`);
  }
}
