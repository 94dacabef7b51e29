/**
 * The vocabulary of a gateway session: what its connection and the backends
 * tell it (events), and what it asks of them (commands). The session machine
 * turns one into the other and touches no socket; the HTTP adapter carries
 * the commands out (docs/architecture.md "Design rules").
 */
import type { BackendKind, GatewayKind } from '../../protocol/blastbeat/message.js';
import type { HeadLimits, RequestHead } from '../../protocol/blastbeat/http-head.js';
import type { GatewayStatus } from '../../protocol/blastbeat/http-status.js';
import type { PeerInfo } from '../../protocol/blastbeat/request-vars.js';

export interface SessionLimits {
  readonly head: HeadLimits;
  readonly maxWebSocketMessage: number;
  /** A request head must be complete this long after its first byte (slow senders are cut off with 408). */
  readonly headerTimeoutMs: number;
  /**
   * A request body may go this long without a byte from the client (408, or a cut once the response has
   * started). The node's timeout runs only once it has the whole request, so a client that stalls is
   * never blamed on the node.
   */
  readonly bodyTimeoutMs: number;
  /** A keep-alive connection with no request in progress is closed after this long. */
  readonly idleTimeoutMs: number;
  /** How long a closing handshake (WebSocket close, flushing) may take. */
  readonly closeTimeoutMs: number;
  /** Bytes of pipelined requests buffered while a response is in flight before reading is paused. */
  readonly maxPipelined: number;
}

/** Where a request goes, as the routing table answers. */
export type RouteDecision =
  | { readonly kind: 'node'; readonly node: string; readonly id: Buffer; readonly vhost: string; readonly timeoutMs: number }
  | { readonly kind: 'unknown-host' }
  /** The virtual host exists but none of its nodes is available. */
  | { readonly kind: 'no-node'; readonly vhost: string }
  /** The virtual host has its maximum of sessions. */
  | { readonly kind: 'full'; readonly vhost: string }
  /** Every available node of the virtual host has its maximum of sessions (`limit` each). */
  | { readonly kind: 'nodes-full'; readonly vhost: string; readonly limit: number };

export type RouteToNode = Extract<RouteDecision, { kind: 'node' }>;

/** Picks a node for a Host; `current` is the node the session is bound to, kept while it is available. */
export type Router = (host: string, current: string | undefined) => RouteDecision;

export interface SessionInput {
  /** 16 random bytes, the session's id on the backend wire. */
  readonly sid: Buffer;
  readonly peer: PeerInfo;
  readonly limits: SessionLimits;
  readonly route: Router;
  /** Where commands go. Called synchronously from the machine's actions. */
  readonly out: (command: SessionCommand) => void;
  readonly now: () => number;
}

/**
 * A session's life, the states of its actor (`session.machine.ts`): HTTP
 * exchanges one after the other, or a WebSocket after an upgrade; every way
 * out through `closing` (and `wsClosing` for a WebSocket's close handshake)
 * to `closed`.
 */
export type SessionLife = 'http' | 'websocket' | 'wsClosing' | 'closing' | 'closed';

/**
 * Where one HTTP exchange is while the session's life is `http`: `reading`
 * a head (or idle between requests), `waiting` for the node with the whole
 * head forwarded, `streaming` the node's response. Per-message work, kept
 * in the context by plain functions (`session-steps.ts`), not actor states.
 */
export type ExchangePhase = 'reading' | 'waiting' | 'streaming';

/** What the per-message code asks of the session's actor: a change of its life. */
export type LifeChange =
  /** The upgrade was accepted: the session is a WebSocket now. */
  | 'session.upgraded'
  /** Start the WebSocket close handshake (the node ended it, or the gateway goes away). */
  | 'session.wsClose'
  /** Close the connection (after what was written): the node is told `end`. */
  | 'session.close'
  /** The close is done (or its time is up): the session is over. */
  | 'session.closed';

export type SessionEvent =
  | { readonly type: 'conn.data'; readonly data: Buffer }
  /** The client will send nothing more (FIN); it may still read. */
  | { readonly type: 'conn.end' }
  /** The connection is gone (closed, reset, or cut by the adapter). */
  | { readonly type: 'conn.closed'; readonly reason?: string }
  | { readonly type: 'backend.message'; readonly kind: BackendKind; readonly body: Buffer }
  /** The session's node stopped answering pings. */
  | { readonly type: 'backend.lost' }
  /** Sent by the sweeper once `now` has passed the session's deadline. */
  | { readonly type: 'session.tick'; readonly now: number }
  /** Finish the exchange in progress, then close (graceful shutdown). */
  | { readonly type: 'session.drain' }
  | { readonly type: 'lifecycle.shutdown' };

/** Everything the session's actor takes: the events above and the life changes they lead to. */
export type SessionActorEvent =
  | SessionEvent
  | { readonly type: LifeChange }
  /** The per-message code threw on the connection's behalf: the actor fails with this error. */
  | { readonly type: 'session.crash'; readonly error: unknown };

/** What to do with a request head just read: forward it, upgrade it, or answer it here. */
export type RequestDecision =
  | { readonly type: 'http.request'; readonly head: RequestHead; readonly route: RouteToNode; readonly packet: Buffer }
  | { readonly type: 'http.upgrade'; readonly head: RequestHead; readonly route: RouteToNode; readonly packet: Buffer; readonly key: string }
  | { readonly type: 'http.reject'; readonly status: GatewayStatus; readonly reason: string; readonly message: string; readonly close: boolean };

export type SessionCommand =
  | { readonly type: 'conn.write'; readonly data: Buffer }
  /** Close after everything written so far has been flushed. */
  | { readonly type: 'conn.end' }
  | { readonly type: 'conn.pause' }
  | { readonly type: 'conn.resume' }
  | { readonly type: 'backend.send'; readonly node: Buffer; readonly kind: GatewayKind; readonly body: Buffer }
  | { readonly type: 'session.bind'; readonly node: string; readonly vhost: string }
  | { readonly type: 'session.unbind'; readonly node: string; readonly vhost: string }
  /** The gateway answered a request itself (4xx/5xx), or cut a connection: for metrics and logs. */
  | { readonly type: 'session.error'; readonly status: GatewayStatus | 0; readonly reason: string }
  /** A message from the backend that made no sense in the session's state. */
  | { readonly type: 'session.drop'; readonly reason: string }
  /** The session is over (its actor reached `closed`): release the connection. */
  | { readonly type: 'session.end' }
  /** The session's code threw (its actor fails with this error): release the connection. */
  | { readonly type: 'session.crashed'; readonly error: unknown };

/** Why a session ended, as its output says. */
export type SessionEndReason =
  | 'client_closed'
  | 'keep_alive_done'
  | 'idle'
  | 'header_timeout'
  | 'body_timeout'
  | 'bad_request'
  | 'backend_end'
  | 'backend_timeout'
  | 'backend_lost'
  | 'bad_response'
  | 'websocket_closed'
  | 'websocket_error'
  | 'shutdown';
