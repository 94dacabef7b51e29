/**
 * Which ZeroMQ stack speaks on a socket. `auto`: steward's own ZMTP 3.1 over
 * node's `net` (actors/zmtp-router.ts, actors/zmtp-dealer-socket.ts) where it
 * can (plain `tcp://` and `ipc://`, no CURVE), libzmq through zeromq.js
 * elsewhere. `libzmq`: libzmq always. Both speak the same wire to the same
 * peers; docs/architecture.md "The socket adapter" says why the first exists.
 */
export type SocketTransport = 'auto' | 'libzmq';

/** Whether a socket uses steward's ZMTP: `auto`, no CURVE, and every endpoint one it speaks. */
export function usesZmtp(transport: SocketTransport | undefined, curve: unknown, endpoints: readonly string[], speaks: (endpoint: string) => boolean): boolean {
  return (transport ?? 'auto') === 'auto' && curve === undefined && endpoints.every(speaks);
}
