import { statusOfRequestError } from '../../protocol/blastbeat/http-status.js';
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
import { flatMachine, type FlatSnapshot, type Handlers } from './flat-machine.js';
import { createSessionContext, type SessionContext } from './session-context.js';
import type { SessionEndReason, SessionEvent, SessionInput } from './session-types.js';
import { acceptWebSocket, clientClosed, pumpWebSocket, wsClose, wsToClient } from './websocket-exchange.js';

export interface SessionOutput {
  readonly reason: SessionEndReason;
  readonly requests: number;
}

/** Where a session is. */
export type SessionState = 'reading' | 'waiting' | 'streaming' | 'websocket' | 'wsClosing' | 'closing' | 'closed';

type Ctx = SessionContext;
type Tick = Extract<SessionEvent, { type: 'session.tick' }>;
type BackendMessage = Extract<SessionEvent, { type: 'backend.message' }>;

const expired = (ctx: Ctx, event: Tick) => ctx.deadline > 0 && event.now >= ctx.deadline;

function end(ctx: Ctx, reason: SessionEndReason, next: SessionState): SessionState {
  ctx.endReason = reason;
  return next;
}

function dropUnexpected(ctx: Ctx, event: BackendMessage): undefined {
  ctx.out({ type: 'session.drop', reason: `unexpected_${event.kind}` });
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

/** No body byte for the body timeout: 408 while nothing of the response is out, a cut after. */
function bodyTimeout(ctx: Ctx): SessionState {
  ctx.endReason = 'body_timeout';
  if (ctx.response === undefined) answer(ctx, 408, 'body_timeout', `request body stalled: no bytes for ${ctx.limits.bodyTimeoutMs} ms`, true);
  else ctx.out({ type: 'session.error', status: 0, reason: 'body_timeout_mid_response' });
  return 'closing';
}

function armClose(ctx: Ctx): void {
  ctx.deadline = ctx.now() + ctx.limits.closeTimeoutMs;
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

function answerBadBody(ctx: Ctx): SessionState | undefined {
  const error = ctx.bodyError;
  if (error === undefined) return undefined;
  ctx.bodyError = undefined;
  ctx.endReason = 'bad_request';
  if (ctx.response === undefined) answer(ctx, statusOfRequestError(error.reason), error.reason, error.detail, true);
  else ctx.out({ type: 'session.error', status: 0, reason: error.reason });
  return 'closing';
}

/** Reading starts on the next request: its deadline (a head already begun, or idle), and the head if it is all there. */
function readNext(ctx: Ctx): void {
  ctx.headStarted = ctx.stream.buffered > 0;
  ctx.deadline = ctx.now() + (ctx.headStarted ? ctx.limits.headerTimeoutMs : ctx.limits.idleTimeoutMs);
  ctx.next = readRequest(ctx);
}

function draining(ctx: Ctx): undefined {
  ctx.draining = true;
  return undefined;
}

function wsCloseAway(ctx: Ctx, lost: boolean): SessionState {
  ctx.endReason = lost ? 'backend_lost' : 'shutdown';
  if (lost) ctx.endSent = true;
  wsClose(ctx, lost ? CloseCode.InternalError : CloseCode.GoingAway, lost ? 'backend gone' : 'going away');
  return 'wsClosing';
}

/** Past the head no status can be sent: the client sees the connection close early. */
function cutResponse(ctx: Ctx, reason: 'backend_lost' | 'backend_timeout'): SessionState {
  ctx.endReason = reason;
  ctx.out({ type: 'session.error', status: 0, reason: `${reason}_mid_response` });
  return 'closing';
}

const readingOn: Handlers<SessionState, Ctx, SessionEvent> = {
  'conn.data': (ctx, e) => {
    ctx.stream.push(e.data);
    // The header timeout runs from a head's first byte, however slowly the rest comes.
    if (!ctx.headStarted) {
      ctx.headStarted = true;
      ctx.deadline = ctx.now() + ctx.limits.headerTimeoutMs;
    }
    ctx.next = readRequest(ctx);
    return undefined;
  },
  'conn.end': (ctx) => end(ctx, 'client_closed', 'closing'),
  'session.tick': (ctx, e) => {
    if (!expired(ctx, e)) return undefined;
    if (!ctx.headStarted) return end(ctx, 'idle', 'closing');
    ctx.endReason = 'header_timeout';
    answer(ctx, 408, 'header_timeout', `request head not complete within ${ctx.limits.headerTimeoutMs} ms`, true);
    return 'closing';
  },
  'session.drain': (ctx) => end(ctx, 'shutdown', 'closing'),
  'lifecycle.shutdown': (ctx) => end(ctx, 'shutdown', 'closing'),
  'backend.lost': (ctx) => {
    // Idle: the next request is routed afresh. A lost node is not told `end`.
    ctx.endSent = true;
    unbind(ctx);
    return undefined;
  },
  'backend.message': (ctx, e) => {
    if (e.kind !== 'end') return dropUnexpected(ctx, e);
    ctx.endSent = true;
    return end(ctx, 'backend_end', 'closing');
  },
};

const waitingOn: Handlers<SessionState, Ctx, SessionEvent> = {
  'conn.data': (ctx, e) => pumpMore(ctx, e.data),
  'conn.end': (ctx) => {
    ctx.clientEnded = true;
    // A body still owed can never come now (a client that gave up mid-body, or was reset: the kernel reports
    // a reset after data as an end). Waiting would hold the session, its socket and the node's half request
    // until the node's timeout, then blame the node with a 504 nobody reads; give up as on an end mid-head.
    return ctx.stream.inBody ? end(ctx, 'client_closed', 'closing') : undefined;
  },
  'backend.message': (ctx, e) => {
    if (e.kind === 'headers' || e.kind === 'body') {
      const plan = planResponse(ctx, e.body);
      if (plan.kind === 'bad') {
        ctx.plan = undefined;
        ctx.endReason = 'bad_response';
        ctx.out({ type: 'session.drop', reason: 'bad_response_head' });
        answer(ctx, 502, 'bad_response', 'the backend sent a response the gateway cannot forward', true);
        return 'closing';
      }
      applyResponse(ctx, e.body);
      if (plan.kind === 'informational') return undefined;
      if (!plan.done) return 'streaming';
      return plan.close ? end(ctx, 'keep_alive_done', 'closing') : 'reading';
    }
    if (e.kind === 'end') {
      ctx.endReason = 'backend_end';
      ctx.endSent = true;
      answer(ctx, 502, 'backend_end', 'the backend ended the session without a response', true);
      return 'closing';
    }
    if (e.kind === 'chunk') {
      ctx.endReason = 'bad_response';
      answer(ctx, 502, 'bad_response', 'the backend sent a chunk before any response head', true);
      return 'closing';
    }
    return dropUnexpected(ctx, e);
  },
  'backend.lost': (ctx) => {
    ctx.endReason = 'backend_lost';
    answer(ctx, 502, 'backend_lost', `node "${ctx.node ?? '?'}" went away before it answered`, true);
    return 'closing';
  },
  'session.tick': (ctx, e) => {
    if (!expired(ctx, e)) return undefined;
    if (readingBody(ctx)) return bodyTimeout(ctx);
    ctx.endReason = 'backend_timeout';
    answer(ctx, 504, 'backend_timeout', `node "${ctx.node ?? '?'}" did not answer within ${ctx.timeoutMs} ms`, true);
    return 'closing';
  },
  'session.drain': draining,
  'lifecycle.shutdown': draining,
};

const streamingOn: Handlers<SessionState, Ctx, SessionEvent> = {
  'conn.data': (ctx, e) => pumpMore(ctx, e.data),
  'conn.end': (ctx) => {
    // A body cut short can no longer stall: the response goes on (closing after it), timed by the node's timeout.
    if (readingBody(ctx)) armBackend(ctx);
    ctx.clientEnded = true;
    return undefined;
  },
  'backend.message': (ctx, e) => {
    if (e.kind === 'body' || e.kind === 'chunk') {
      const done = completesResponse(ctx, e.kind, e.body);
      continueResponse(ctx, e.kind, e.body);
      if (!done) {
        // While the client still owes body bytes, their deadline stands: the node's progress does not extend it.
        if (!readingBody(ctx)) armBackend(ctx);
        return undefined;
      }
      return closesAfterResponse(ctx) ? end(ctx, 'keep_alive_done', 'closing') : 'reading';
    }
    if (e.kind === 'end') {
      ctx.endSent = true;
      return end(ctx, 'backend_end', 'closing');
    }
    return dropUnexpected(ctx, e);
  },
  'backend.lost': (ctx) => cutResponse(ctx, 'backend_lost'),
  'session.tick': (ctx, e) => {
    if (!expired(ctx, e)) return undefined;
    return readingBody(ctx) ? bodyTimeout(ctx) : cutResponse(ctx, 'backend_timeout');
  },
  'session.drain': draining,
  'lifecycle.shutdown': draining,
};

const websocketOn: Handlers<SessionState, Ctx, SessionEvent> = {
  'conn.data': (ctx, e) => {
    ctx.ws?.push(e.data);
    ctx.wsOutcome = pumpWebSocket(ctx);
    return undefined;
  },
  'conn.end': (ctx) => end(ctx, 'websocket_closed', 'closing'),
  'backend.message': (ctx, e) => {
    switch (e.kind) {
      case 'websocket':
        wsToClient(ctx, false, e.body);
        return undefined;
      case 'websocket-binary':
        wsToClient(ctx, true, e.body);
        return undefined;
      case 'end':
        ctx.endReason = 'backend_end';
        ctx.endSent = true;
        wsClose(ctx, CloseCode.Normal, '');
        return 'wsClosing';
      default:
        return dropUnexpected(ctx, e);
    }
  },
  'backend.lost': (ctx) => wsCloseAway(ctx, true),
  'session.drain': (ctx) => wsCloseAway(ctx, false),
  'lifecycle.shutdown': (ctx) => wsCloseAway(ctx, false),
};

/**
 * One client connection (docs/gateway.md "The backend wire"). HTTP exchanges follow each other on a
 * keep-alive connection: `reading` a head, `waiting` for the node's
 * response, `streaming` it, then reading the next (pipelined requests wait
 * in the buffer). An upgrade turns the session into a `websocket` until
 * either side closes. Every way out passes through `closing`, which tells
 * the node (`end`) and the connection (close after flushing).
 *
 * Time never arms a timer here: each state sets `deadline`, and a sweeper
 * sends `session.tick` to sessions whose deadline has passed. A head still
 * incomplete at its deadline gets 408, and so does a body that stalls (no
 * byte for the body timeout; a cut once the response has started); a node
 * silent past its virtual host's timeout, counted from when it has the whole
 * request, gets 504 (before any response byte) or a cut connection (after);
 * a node that goes away before answering gets 502.
 *
 * Several events per request pass through here, so the chart is a flat
 * machine (`flat-machine.ts`) rather than an XState statechart: the same
 * states, events and commands at a fraction of the cost per event.
 * Commands go out through `input.out`, synchronously: it touches no socket.
 */
export const gatewaySession = flatMachine<SessionState, Ctx, SessionEvent, SessionInput, SessionOutput>({
  id: 'gatewaySession',
  initial: 'reading',
  context: createSessionContext,
  on: {
    'conn.closed': () => 'closed',
  },
  states: {
    reading: {
      entry: (ctx) => {
        if (ctx.paused) {
          ctx.paused = false;
          ctx.out({ type: 'conn.resume' });
        }
        readNext(ctx);
      },
      always: (ctx) => {
        // Refusals the connection survives are answered here, one after the other, rather than by
        // re-entering this state: a read may hold any number of them, and the machine bounds its moves per step.
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
              return 'websocket';
            case 'http.reject':
              if (next.close) ctx.endReason = 'bad_request';
              answer(ctx, next.status, next.reason, next.message, next.close);
              if (next.close) return 'closing';
              // Without a body to skip, the connection carries on with the next request.
              readNext(ctx);
          }
        }
        return undefined;
      },
      on: readingOn,
    },
    waiting: {
      entry: armExchange,
      always: answerBadBody,
      on: waitingOn,
    },
    streaming: {
      // A body deadline carries over from waiting: the node's answer gives the client no more time.
      entry: (ctx) => {
        if (!readingBody(ctx)) armBackend(ctx);
      },
      always: answerBadBody,
      on: streamingOn,
    },
    websocket: {
      entry: (ctx) => {
        ctx.deadline = 0;
        ctx.wsOutcome = pumpWebSocket(ctx);
      },
      always: (ctx) => {
        if (ctx.wsOutcome === 'closed') return end(ctx, 'websocket_closed', 'closing');
        if (ctx.wsOutcome === 'failed') return end(ctx, 'websocket_error', 'closing');
        return undefined;
      },
      on: websocketOn,
    },
    wsClosing: {
      entry: (ctx) => {
        armClose(ctx);
        sendEnd(ctx);
      },
      on: {
        'conn.data': (ctx, e) => {
          ctx.ws?.push(e.data);
          return clientClosed(ctx) ? 'closing' : undefined;
        },
        'conn.end': () => 'closing',
        'session.tick': (ctx, e) => (expired(ctx, e) ? 'closing' : undefined),
      },
    },
    closing: {
      entry: (ctx) => {
        sendEnd(ctx);
        ctx.out({ type: 'conn.end' });
        armClose(ctx);
      },
      on: {
        'session.tick': (ctx, e) => (expired(ctx, e) ? 'closed' : undefined),
      },
    },
    closed: {
      final: true,
      entry: unbind,
    },
  },
  output: (ctx) => ({ reason: ctx.endReason, requests: ctx.requests }),
});

export type GatewaySessionLogic = typeof gatewaySession;
export type GatewaySessionSnapshot = FlatSnapshot<SessionState, Ctx, SessionOutput>;
