/**
 * What one event does to a gateway session, as plain functions over its
 * context: the per-message work (bytes from the client, messages from the
 * node, a deadline passing). They issue commands through `context.out`,
 * move the HTTP exchange on (`context.exchange`: reading, waiting,
 * streaming), and return the change of the session's life they lead to, if
 * any, for its actor (`session.machine.ts`) to carry out: an upgrade, the
 * WebSocket close handshake, closing the connection, the end.
 *
 * Why plain functions: each request passes two to three events through
 * here, and a statechart interpreter per event cost more than the work
 * itself (docs/architecture.md "Hot path rules": per-message work in plain functions, per-session life
 * in actors). The connection calls `step` directly for bytes and node
 * messages; the actor calls it for the rare events (deadlines, a lost node,
 * shutdown) and for the entry of each life state.
 */
import { statusOfRequestError } from '../../protocol/blastbeat/http-status.js';
import type { BackendKind } from '../../protocol/blastbeat/message.js';
import { CloseCode } from '../../protocol/blastbeat/websocket.js';
import {
  answer,
  applyResponse,
  closesAfterResponse,
  completesResponse,
  continueResponse,
  forwardRequest,
  planResponse,
  pumpBody,
  readRequest,
  sendEnd,
  unbind,
} from './exchange.js';
import type { SessionContext } from './session-context.js';
import type { ExchangePhase, LifeChange, SessionEndReason, SessionEvent } from './session-types.js';
import { acceptWebSocket, clientClosed, pumpWebSocket, wsClose, wsToClient, type WsOutcome } from './websocket-exchange.js';

type Ctx = SessionContext;
/** A handler's answer: where the exchange goes next, a change of life, or nothing (stay, and check again). */
type Next = ExchangePhase | LifeChange | undefined;

const expired = (ctx: Ctx, now: number) => ctx.deadline > 0 && now >= ctx.deadline;

function end(ctx: Ctx, reason: SessionEndReason): LifeChange {
  ctx.endReason = reason;
  return 'session.close';
}

function dropUnexpected(ctx: Ctx, kind: BackendKind): undefined {
  ctx.out({ type: 'session.drop', reason: `unexpected_${kind}` });
  return undefined;
}

function armBackend(ctx: Ctx): void {
  ctx.deadline = ctx.now() + ctx.timeoutMs;
}

/** The client still owes body bytes and can still send them. */
const readingBody = (ctx: Ctx) => ctx.stream.inBody && !ctx.clientEnded;

/**
 * The deadline of an exchange: while the client still owes body bytes, the body timeout from its last
 * bytes; once the node has the whole request, the node's timeout. A node cannot answer a request it does
 * not have yet, so a client that stalls mid-body must never turn into a 504 counted against the node.
 */
function armExchange(ctx: Ctx): void {
  ctx.deadline = ctx.now() + (readingBody(ctx) ? ctx.limits.bodyTimeoutMs : ctx.timeoutMs);
}

function armClose(ctx: Ctx): void {
  ctx.deadline = ctx.now() + ctx.limits.closeTimeoutMs;
}

/** No body byte for the body timeout: 408 while nothing of the response is out, a cut after. */
function bodyTimeout(ctx: Ctx): LifeChange {
  ctx.endReason = 'body_timeout';
  if (ctx.response === undefined) answer(ctx, 408, 'body_timeout', `request body stalled: no bytes for ${ctx.limits.bodyTimeoutMs} ms`, true);
  else ctx.out({ type: 'session.error', status: 0, reason: 'body_timeout_mid_response' });
  return 'session.close';
}

/** Forwards body bytes that arrive while the request is with the node. */
function pumpMore(ctx: Ctx, data: Buffer): undefined {
  const stream = ctx.stream;
  const owed = readingBody(ctx) && data.length > 0;
  stream.push(data);
  const body = pumpBody(ctx);
  if (body !== 'ok') {
    ctx.bodyError = body;
    return undefined;
  }
  // Body bytes came: the body timeout starts again, or, the request now whole, the node's starts.
  if (owed) armExchange(ctx);
  // Pipelined requests wait in the buffer; past a bound, stop reading until the response is out.
  if (!stream.inBody && stream.buffered > ctx.limits.maxPipelined && !ctx.paused) {
    ctx.paused = true;
    ctx.out({ type: 'conn.pause' });
  }
  return undefined;
}

function answerBadBody(ctx: Ctx): LifeChange | undefined {
  const error = ctx.bodyError;
  if (error === undefined) return undefined;
  ctx.bodyError = undefined;
  ctx.endReason = 'bad_request';
  if (ctx.response === undefined) answer(ctx, statusOfRequestError(error.reason), error.reason, error.detail, true);
  else ctx.out({ type: 'session.error', status: 0, reason: error.reason });
  return 'session.close';
}

/** Reading starts on the next request: its deadline (a head already begun, or idle), and the head if it is all there. */
function readNext(ctx: Ctx): void {
  ctx.headStarted = ctx.stream.buffered > 0;
  ctx.deadline = ctx.now() + (ctx.headStarted ? ctx.limits.headerTimeoutMs : ctx.limits.idleTimeoutMs);
  ctx.next = readRequest(ctx);
}

/** Past the head no status can be sent: the client sees the connection close early. */
function cutResponse(ctx: Ctx, reason: 'backend_lost' | 'backend_timeout'): LifeChange {
  ctx.endReason = reason;
  ctx.out({ type: 'session.error', status: 0, reason: `${reason}_mid_response` });
  return 'session.close';
}

/** Takes the heads read so far: a request goes to its node, refusals the connection survives are answered in turn. */
function takeRequests(ctx: Ctx): Next {
  for (let next = ctx.next; next !== undefined; next = ctx.next) {
    ctx.next = undefined;
    switch (next.type) {
      case 'http.request': {
        forwardRequest(ctx, next.head, next.route, next.packet);
        const body = pumpBody(ctx);
        if (body !== 'ok') ctx.bodyError = body;
        return 'waiting';
      }
      case 'http.upgrade':
        acceptWebSocket(ctx, next);
        return 'session.upgraded';
      case 'http.reject':
        if (next.close) ctx.endReason = 'bad_request';
        answer(ctx, next.status, next.reason, next.message, next.close);
        if (next.close) return 'session.close';
        // Without a body to skip, the connection carries on with the next request.
        readNext(ctx);
    }
  }
  return undefined;
}

/** What the exchange phase checks after each event (and on entry): a head to take, a broken body to answer. */
function check(ctx: Ctx): Next {
  return ctx.exchange === 'reading' ? takeRequests(ctx) : answerBadBody(ctx);
}

/** Enters an exchange phase (re-entering runs its entry again), then follows its checks. */
function enter(ctx: Ctx, phase: ExchangePhase): LifeChange | undefined {
  // Each step moves reading -> waiting (one request taken per read) or ends in a life change: bounded.
  for (let next: Next = phase; ; ) {
    ctx.exchange = next;
    switch (next) {
      case 'reading':
        if (ctx.paused) {
          ctx.paused = false;
          ctx.out({ type: 'conn.resume' });
        }
        readNext(ctx);
        break;
      case 'waiting':
        armExchange(ctx);
        break;
      case 'streaming':
        // A body deadline carries over from waiting: the node's answer gives the client no more time.
        if (!readingBody(ctx)) armBackend(ctx);
        break;
    }
    const after = check(ctx);
    if (after === undefined || !isPhase(after)) return after;
    next = after;
  }
}

function isPhase(next: Next): next is ExchangePhase {
  return next === 'reading' || next === 'waiting' || next === 'streaming';
}

/** Follows a handler's answer: staying still checks the phase (a head just read, a body that broke). */
function settle(ctx: Ctx, next: Next): LifeChange | undefined {
  const after = next === undefined ? check(ctx) : next;
  return after !== undefined && isPhase(after) ? enter(ctx, after) : after;
}

// ---- HTTP exchanges (life: http) ----

function httpData(ctx: Ctx, data: Buffer): LifeChange | undefined {
  if (ctx.exchange !== 'reading') return settle(ctx, pumpMore(ctx, data));
  ctx.stream.push(data);
  // The header timeout runs from a head's first byte, however slowly the rest comes.
  if (!ctx.headStarted) {
    ctx.headStarted = true;
    ctx.deadline = ctx.now() + ctx.limits.headerTimeoutMs;
  }
  ctx.next = readRequest(ctx);
  return settle(ctx, undefined);
}

function httpBackend(ctx: Ctx, kind: BackendKind, body: Buffer): LifeChange | undefined {
  switch (ctx.exchange) {
    case 'reading':
      if (kind !== 'end') return dropUnexpected(ctx, kind);
      ctx.endSent = true;
      return end(ctx, 'backend_end');
    case 'waiting':
      return settle(ctx, waitingBackend(ctx, kind, body));
    case 'streaming':
      return settle(ctx, streamingBackend(ctx, kind, body));
  }
}

function waitingBackend(ctx: Ctx, kind: BackendKind, body: Buffer): Next {
  if (kind === 'headers' || kind === 'body') {
    const plan = planResponse(ctx, body);
    if (plan.kind === 'bad') {
      ctx.endReason = 'bad_response';
      ctx.out({ type: 'session.drop', reason: 'bad_response_head' });
      answer(ctx, 502, 'bad_response', 'the backend sent a response the gateway cannot forward', true);
      return 'session.close';
    }
    applyResponse(ctx, body, plan);
    if (plan.kind === 'informational') return undefined;
    if (!plan.done) return 'streaming';
    return plan.close ? end(ctx, 'keep_alive_done') : 'reading';
  }
  if (kind === 'end') {
    ctx.endReason = 'backend_end';
    ctx.endSent = true;
    answer(ctx, 502, 'backend_end', 'the backend ended the session without a response', true);
    return 'session.close';
  }
  if (kind === 'chunk') {
    ctx.endReason = 'bad_response';
    answer(ctx, 502, 'bad_response', 'the backend sent a chunk before any response head', true);
    return 'session.close';
  }
  return dropUnexpected(ctx, kind);
}

function streamingBackend(ctx: Ctx, kind: BackendKind, body: Buffer): Next {
  if (kind === 'body' || kind === 'chunk') {
    const done = completesResponse(ctx, kind, body);
    continueResponse(ctx, kind, body);
    if (!done) {
      // While the client still owes body bytes, their deadline stands: the node's progress does not extend it.
      if (!readingBody(ctx)) armBackend(ctx);
      return undefined;
    }
    return closesAfterResponse(ctx) ? end(ctx, 'keep_alive_done') : 'reading';
  }
  if (kind === 'end') {
    ctx.endSent = true;
    return end(ctx, 'backend_end');
  }
  return dropUnexpected(ctx, kind);
}

function httpEnd(ctx: Ctx): LifeChange | undefined {
  switch (ctx.exchange) {
    case 'reading':
      return end(ctx, 'client_closed');
    case 'waiting':
      ctx.clientEnded = true;
      // A body still owed can never come now (a client that gave up mid-body, or was reset: the kernel reports
      // a reset after data as an end). Waiting would hold the session, its socket and the node's half request
      // until the node's timeout, then blame the node with a 504 nobody reads; give up as on an end mid-head.
      return ctx.stream.inBody ? end(ctx, 'client_closed') : settle(ctx, undefined);
    case 'streaming':
      // A body cut short can no longer stall: the response goes on (closing after it), timed by the node's timeout.
      if (readingBody(ctx)) armBackend(ctx);
      ctx.clientEnded = true;
      return settle(ctx, undefined);
  }
}

function httpTick(ctx: Ctx, now: number): LifeChange | undefined {
  if (!expired(ctx, now)) return undefined;
  switch (ctx.exchange) {
    case 'reading':
      if (!ctx.headStarted) return end(ctx, 'idle');
      ctx.endReason = 'header_timeout';
      answer(ctx, 408, 'header_timeout', `request head not complete within ${ctx.limits.headerTimeoutMs} ms`, true);
      return 'session.close';
    case 'waiting':
      if (readingBody(ctx)) return bodyTimeout(ctx);
      ctx.endReason = 'backend_timeout';
      answer(ctx, 504, 'backend_timeout', `node "${ctx.node ?? '?'}" did not answer within ${ctx.timeoutMs} ms`, true);
      return 'session.close';
    case 'streaming':
      return readingBody(ctx) ? bodyTimeout(ctx) : cutResponse(ctx, 'backend_timeout');
  }
}

function httpLost(ctx: Ctx): LifeChange | undefined {
  switch (ctx.exchange) {
    case 'reading':
      // Idle: the next request is routed afresh. A lost node is not told `end`.
      ctx.endSent = true;
      unbind(ctx);
      return undefined;
    case 'waiting':
      ctx.endReason = 'backend_lost';
      answer(ctx, 502, 'backend_lost', `node "${ctx.node ?? '?'}" went away before it answered`, true);
      return 'session.close';
    case 'streaming':
      return cutResponse(ctx, 'backend_lost');
  }
}

function httpDrain(ctx: Ctx): LifeChange | undefined {
  // Idle: close now. Mid-exchange: finish it, then close (the response head says so).
  if (ctx.exchange === 'reading') return end(ctx, 'shutdown');
  ctx.draining = true;
  return undefined;
}

// ---- WebSocket (life: websocket, wsClosing) ----

function afterFrames(ctx: Ctx, outcome: WsOutcome): LifeChange | undefined {
  if (outcome === 'closed') return end(ctx, 'websocket_closed');
  if (outcome === 'failed') return end(ctx, 'websocket_error');
  return undefined;
}

function wsCloseAway(ctx: Ctx, lost: boolean): LifeChange {
  ctx.endReason = lost ? 'backend_lost' : 'shutdown';
  if (lost) ctx.endSent = true;
  wsClose(ctx, lost ? CloseCode.InternalError : CloseCode.GoingAway, lost ? 'backend gone' : 'going away');
  return 'session.wsClose';
}

function wsBackend(ctx: Ctx, kind: BackendKind, body: Buffer): LifeChange | undefined {
  switch (kind) {
    case 'websocket':
      wsToClient(ctx, false, body);
      return undefined;
    case 'websocket-binary':
      wsToClient(ctx, true, body);
      return undefined;
    case 'end':
      ctx.endReason = 'backend_end';
      ctx.endSent = true;
      wsClose(ctx, CloseCode.Normal, '');
      return 'session.wsClose';
    default:
      return dropUnexpected(ctx, kind);
  }
}

// ---- The entry points ----

/** Bytes from the client: the hot path, called by the connection without an event object. */
export function clientData(ctx: Ctx, data: Buffer): LifeChange | undefined {
  switch (ctx.life) {
    case 'http':
      return httpData(ctx, data);
    case 'websocket':
      ctx.ws?.push(data);
      return afterFrames(ctx, pumpWebSocket(ctx));
    case 'wsClosing':
      ctx.ws?.push(data);
      return clientClosed(ctx) ? 'session.close' : undefined;
    default:
      return undefined;
  }
}

/** A message from the session's node: the hot path's other half. */
export function backendMessage(ctx: Ctx, kind: BackendKind, body: Buffer): LifeChange | undefined {
  switch (ctx.life) {
    case 'http':
      return httpBackend(ctx, kind, body);
    case 'websocket':
      return wsBackend(ctx, kind, body);
    default:
      // A late message for a session on its way out (the end of its response was already decided).
      return undefined;
  }
}

/** Any event, in whatever state the session is: what the actor runs, and the connection through the two above. */
export function step(ctx: Ctx, event: SessionEvent): LifeChange | undefined {
  switch (event.type) {
    case 'conn.data':
      return clientData(ctx, event.data);
    case 'backend.message':
      return backendMessage(ctx, event.kind, event.body);
    case 'conn.closed':
      return ctx.life === 'closed' ? undefined : 'session.closed';
    case 'conn.end':
      if (ctx.life === 'http') return httpEnd(ctx);
      if (ctx.life === 'websocket') return end(ctx, 'websocket_closed');
      return ctx.life === 'wsClosing' ? 'session.close' : undefined;
    case 'session.tick':
      if (ctx.life === 'http') return httpTick(ctx, event.now);
      if (ctx.life === 'wsClosing' && expired(ctx, event.now)) return 'session.close';
      if (ctx.life === 'closing' && expired(ctx, event.now)) return 'session.closed';
      return undefined;
    case 'backend.lost':
      if (ctx.life === 'http') return httpLost(ctx);
      return ctx.life === 'websocket' ? wsCloseAway(ctx, true) : undefined;
    case 'session.drain':
    case 'lifecycle.shutdown':
      if (ctx.life === 'http') return httpDrain(ctx);
      return ctx.life === 'websocket' ? wsCloseAway(ctx, false) : undefined;
  }
}

// ---- Entering each life state (the actor's entry actions) ----

/** The session begins reading its first request. */
export function enterHttp(ctx: Ctx): LifeChange | undefined {
  ctx.life = 'http';
  return enter(ctx, 'reading');
}

/** After the handshake: reads the frames that came with it. */
export function enterWebSocket(ctx: Ctx): LifeChange | undefined {
  ctx.life = 'websocket';
  ctx.deadline = 0;
  return afterFrames(ctx, pumpWebSocket(ctx));
}

/** Our close frame is out: the node is told `end`; the client has the close timeout to answer. */
export function enterWsClosing(ctx: Ctx): void {
  ctx.life = 'wsClosing';
  armClose(ctx);
  sendEnd(ctx);
}

/** The node gets `end`, the connection ends after what was written, within the close timeout. */
export function enterClosing(ctx: Ctx): void {
  ctx.life = 'closing';
  sendEnd(ctx);
  ctx.out({ type: 'conn.end' });
  armClose(ctx);
}

export function enterClosed(ctx: Ctx): void {
  ctx.life = 'closed';
  ctx.deadline = 0;
  unbind(ctx);
  ctx.out({ type: 'session.end' });
}
