import type { SocketTransport } from '../actors/socket-transport.js';
import { UsageError } from './errors.js';

/** `--transport auto|libzmq`, for the roles whose sockets steward's own ZMTP may speak on. */
export function transportFlag(value: string | undefined): SocketTransport {
  if (value === undefined || value === 'auto' || value === 'libzmq') return value ?? 'auto';
  throw new UsageError(`--transport must be auto or libzmq, got "${value}"`, '--transport auto');
}
