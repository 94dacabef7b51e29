/**
 * The state a session keeps between events. Fields are updated in place by
 * the machine's actions (as the supervisor does with its child table): a
 * session sees several events per request, and copying the context on each
 * would be most of its cost.
 */
import { RequestStream } from '../../protocol/blastbeat/request-stream.js';
import type { PeerVars } from '../../protocol/blastbeat/request-vars.js';
import type { ResponseFraming } from '../../protocol/blastbeat/response.js';
import type { WebSocketReader } from '../../protocol/blastbeat/websocket.js';
import type { ExchangePhase, LifeChange, RequestDecision, SessionEndReason, SessionInput, SessionLife } from './session-types.js';

export interface ResponseState {
  readonly framing: ResponseFraming['kind'];
  /** Body bytes still owed under a Content-Length. */
  remaining: number;
  /** The backend asked for the connection to close after this response. */
  readonly close: boolean;
  done: boolean;
}

export interface SessionContext extends SessionInput {
  /** Where the session's life is (its actor's state, mirrored for the per-message code). */
  life: SessionLife;
  /** Where the HTTP exchange in progress is, while `life` is `http`. */
  exchange: ExchangePhase;
  /** A life change the per-message code decided inside the actor, until the actor takes it (its `always`). */
  change: LifeChange | undefined;
  readonly stream: RequestStream;
  /** The connection's own uwsgi vars, encoded at its first request (an HTTP connection's, dropped on upgrade). */
  peerVars: PeerVars | undefined;
  ws: WebSocketReader | undefined;
  /** The node this session is bound to (BlastBeat: a sid always maps to one node). */
  node: string | undefined;
  nodeId: Buffer | undefined;
  vhost: string | undefined;
  /** The virtual host's backend timeout. */
  timeoutMs: number;
  /** Method of the request in flight (HEAD responses have no body). */
  method: string;
  /** Whether the client's side allows another request after this one. */
  keepAlive: boolean;
  /** The request body is chunked: its end is told to the backend with an empty `body`. */
  chunkedBody: boolean;
  response: ResponseState | undefined;
  paused: boolean;
  /** When the sweeper should wake the session (ms on the session clock); 0 for never. */
  deadline: number;
  /** A head has started arriving (its first byte armed the header timeout). */
  headStarted: boolean;
  draining: boolean;
  clientEnded: boolean;
  /** `end` went to the node for the current binding (sent once). */
  endSent: boolean;
  endReason: SessionEndReason;
  requests: number;
  /** The request head just read and what to do with it, until a transition takes it. */
  next: RequestDecision | undefined;
  /** A broken request body, until a transition answers it. */
  bodyError: { readonly reason: 'bad_chunk' | 'body_too_large'; readonly detail: string } | undefined;
}

/**
 * A class rather than `{ ...input, stream, ... }`: V8 (Node 20) gives every
 * object made by a spread literal a hidden class of its own, and this one,
 * with 28 fields, then fell into dictionary mode (about 1.6 KiB per session,
 * most of it kept for as long as an idle WebSocket stays open). Fields
 * assigned in one order in the constructor share one hidden class.
 */
class Context implements SessionContext {
  readonly sid: Buffer;
  readonly peer: SessionInput['peer'];
  readonly limits: SessionInput['limits'];
  readonly route: SessionInput['route'];
  readonly out: SessionInput['out'];
  readonly now: SessionInput['now'];
  life: SessionLife = 'http';
  exchange: ExchangePhase = 'reading';
  change: LifeChange | undefined = undefined;
  readonly stream: RequestStream;
  peerVars: PeerVars | undefined = undefined;
  ws: WebSocketReader | undefined = undefined;
  node: string | undefined = undefined;
  nodeId: Buffer | undefined = undefined;
  vhost: string | undefined = undefined;
  timeoutMs = 0;
  method = 'GET';
  keepAlive = true;
  chunkedBody = false;
  response: ResponseState | undefined = undefined;
  paused = false;
  deadline = 0;
  headStarted = false;
  draining = false;
  clientEnded = false;
  endSent = false;
  endReason: SessionEndReason = 'client_closed';
  requests = 0;
  next: RequestDecision | undefined = undefined;
  bodyError: SessionContext['bodyError'] = undefined;

  constructor(input: SessionInput) {
    this.sid = input.sid;
    this.peer = input.peer;
    this.limits = input.limits;
    this.route = input.route;
    this.out = input.out;
    this.now = input.now;
    this.stream = new RequestStream(input.limits.head);
  }
}

export function createSessionContext(input: SessionInput): SessionContext {
  return new Context(input);
}
