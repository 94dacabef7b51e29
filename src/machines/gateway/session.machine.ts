import { setup } from 'xstate';
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
import { createSessionContext, type SessionContext } from './session-context.js';
import type { SessionEndReason, SessionEvent, SessionInput } from './session-types.js';
import { acceptWebSocket, clientClosed, pumpWebSocket, wsClose, wsToClient } from './websocket-exchange.js';

export interface SessionOutput {
  readonly reason: SessionEndReason;
  readonly requests: number;
}

type Args = { context: SessionContext; event: SessionEvent };

function ended(reason: SessionEndReason) {
  return ({ context }: Args) => {
    context.endReason = reason;
  };
}

/** The plan for a response head message, when the event is one. */
function headPlan({ context, event }: Args) {
  if (event.type !== 'backend.message' || (event.kind !== 'headers' && event.kind !== 'body')) return undefined;
  return planResponse(context, event.body);
}

/** Whether a `body` / `chunk` completes the response; undefined when the event is neither. */
function bodyCompletes({ context, event }: Args): boolean | undefined {
  if (event.type !== 'backend.message' || (event.kind !== 'body' && event.kind !== 'chunk')) return undefined;
  return completesResponse(context, event.kind, event.body);
}

function kindIs(kind: string) {
  return ({ event }: Args) => event.type === 'backend.message' && event.kind === kind;
}

/**
 * One client connection (DESIGN 5.6). HTTP exchanges follow each other on a
 * keep-alive connection: reading a head, waiting for the node's response,
 * streaming it, then reading the next (pipelined requests wait in the
 * buffer). An upgrade turns the session into a WebSocket until either side
 * closes. Every way out passes through `closing`, which tells the node
 * (`end`) and the connection (close after flushing).
 *
 * Time never arms a timer here: each state sets `deadline`, and a sweeper
 * sends `session.tick` to sessions whose deadline has passed. A head still
 * incomplete at its deadline gets 408; a node silent past its virtual
 * host's timeout gets 504 (before any response byte) or a cut connection
 * (after); a node that goes away before answering gets 502.
 *
 * This runs once per request, so it is shaped for few microsteps: guards
 * ask pure, memoised plans (`planResponse`) which way a backend message
 * leads, and a whole response in one message takes `waiting` straight back
 * to `reading`. Commands go out through `input.out`, synchronously, from
 * actions: the machine touches no socket.
 */
export const gatewaySession = setup({
  types: {
    input: {} as SessionInput,
    context: {} as SessionContext,
    events: {} as SessionEvent,
    output: {} as SessionOutput,
  },
  guards: {
    expired: ({ context, event }) => event.type === 'session.tick' && context.deadline > 0 && event.now >= context.deadline,
    expiredMidHead: ({ context, event }) =>
      event.type === 'session.tick' && context.deadline > 0 && event.now >= context.deadline && context.headStarted,
    nextRequest: ({ context }) => context.next?.type === 'http.request',
    nextUpgrade: ({ context }) => context.next?.type === 'http.upgrade',
    nextRejectClosing: ({ context }) => context.next?.type === 'http.reject' && context.next.close,
    nextReject: ({ context }) => context.next?.type === 'http.reject',
    bodyBroken: ({ context }) => context.bodyError !== undefined,
    headDoneKeep: (args) => {
      const p = headPlan(args);
      return p?.kind === 'started' && p.done && !p.close;
    },
    headDoneClose: (args) => {
      const p = headPlan(args);
      return p?.kind === 'started' && p.done && p.close;
    },
    headStarted: (args) => headPlan(args)?.kind === 'started',
    headInformational: (args) => headPlan(args)?.kind === 'informational',
    headBad: (args) => headPlan(args)?.kind === 'bad',
    bodyDoneKeep: (args) => bodyCompletes(args) === true && !closesAfterResponse(args.context),
    bodyDoneClose: (args) => bodyCompletes(args) === true,
    isBody: (args) => bodyCompletes(args) !== undefined,
    isChunk: kindIs('chunk'),
    isEnd: kindIs('end'),
    isText: kindIs('websocket'),
    isBinary: kindIs('websocket-binary'),
    wsClosed: ({ context }) => context.wsOutcome === 'closed',
    wsFailed: ({ context }) => context.wsOutcome === 'failed',
  },
  actions: {
    armReading: ({ context }) => {
      context.headStarted = context.stream.buffered > 0;
      const wait = context.headStarted ? context.limits.headerTimeoutMs : context.limits.idleTimeoutMs;
      context.deadline = context.now() + wait;
    },
    armBackend: ({ context }) => {
      context.deadline = context.now() + context.timeoutMs;
    },
    armClose: ({ context }) => {
      context.deadline = context.now() + context.limits.closeTimeoutMs;
    },
    clearDeadline: ({ context }) => {
      context.deadline = 0;
    },
    resume: ({ context }) => {
      if (!context.paused) return;
      context.paused = false;
      context.out({ type: 'conn.resume' });
    },
    append: ({ context, event }) => {
      if (event.type !== 'conn.data') return;
      context.stream.push(event.data);
      // The header timeout runs from a head's first byte, however slowly the rest comes.
      if (!context.headStarted) {
        context.headStarted = true;
        context.deadline = context.now() + context.limits.headerTimeoutMs;
      }
    },
    poll: ({ context }) => {
      context.next = readRequest(context);
    },
    answerReject: ({ context }) => {
      const next = context.next;
      context.next = undefined;
      if (next?.type !== 'http.reject') return;
      if (next.close) context.endReason = 'bad_request';
      answer(context, next.status, next.reason, next.message, next.close);
    },
    forward: ({ context }) => {
      const next = context.next;
      context.next = undefined;
      if (next?.type !== 'http.request') return;
      forwardRequest(context, next.head, next.route, next.packet);
      const body = pumpBody(context);
      if (body !== 'ok') context.bodyError = body;
    },
    pumpBody: ({ context, event }) => {
      if (event.type !== 'conn.data') return;
      const stream = context.stream;
      stream.push(event.data);
      const body = pumpBody(context);
      if (body !== 'ok') {
        context.bodyError = body;
        return;
      }
      // Pipelined requests wait in the buffer; past a bound, stop reading until the response is out.
      if (!stream.inBody && stream.buffered > context.limits.maxPipelined && !context.paused) {
        context.paused = true;
        context.out({ type: 'conn.pause' });
      }
    },
    answerBadBody: ({ context }) => {
      const error = context.bodyError;
      context.bodyError = undefined;
      if (error === undefined) return;
      context.endReason = 'bad_request';
      if (context.response === undefined) answer(context, statusOfRequestError(error.reason), error.reason, error.detail, true);
      else context.out({ type: 'session.error', status: 0, reason: error.reason });
    },
    clientEnded: ({ context }) => {
      context.clientEnded = true;
    },
    applyResponse: ({ context, event }) => {
      if (event.type === 'backend.message') applyResponse(context, event.body);
    },
    continueResponse: ({ context, event }) => {
      if (event.type !== 'backend.message' || (event.kind !== 'body' && event.kind !== 'chunk')) return;
      continueResponse(context, event.kind, event.body);
    },
    answer502Bad: ({ context }) => {
      context.plan = undefined;
      context.endReason = 'bad_response';
      context.out({ type: 'session.drop', reason: 'bad_response_head' });
      answer(context, 502, 'bad_response', 'the backend sent a response the gateway cannot forward', true);
    },
    answer502Ended: ({ context }) => {
      context.endReason = 'backend_end';
      context.endSent = true;
      answer(context, 502, 'backend_end', 'the backend ended the session without a response', true);
    },
    answer502Lost: ({ context }) => {
      context.endReason = 'backend_lost';
      answer(context, 502, 'backend_lost', `node "${context.node ?? '?'}" went away before it answered`, true);
    },
    answer504: ({ context }) => {
      context.endReason = 'backend_timeout';
      answer(context, 504, 'backend_timeout', `node "${context.node ?? '?'}" did not answer within ${context.timeoutMs} ms`, true);
    },
    answer408: ({ context }) => {
      context.endReason = 'header_timeout';
      answer(context, 408, 'header_timeout', `request head not complete within ${context.limits.headerTimeoutMs} ms`, true);
    },
    cutResponse: ({ context, event }) => {
      // Past the head, no status can be sent: the client sees the connection close early.
      context.endReason = event.type === 'backend.lost' ? 'backend_lost' : 'backend_timeout';
      context.out({ type: 'session.error', status: 0, reason: `${context.endReason}_mid_response` });
    },
    backendEnded: ({ context }) => {
      context.endReason = 'backend_end';
      context.endSent = true;
    },
    nodeLost: ({ context }) => {
      // Idle: the next request is routed afresh. A lost node is not told `end`.
      context.endSent = true;
      unbind(context);
    },
    markDraining: ({ context }) => {
      context.draining = true;
    },
    dropUnexpected: ({ context, event }) => {
      if (event.type === 'backend.message') context.out({ type: 'session.drop', reason: `unexpected_${event.kind}` });
    },
    acceptWebSocket: ({ context }) => {
      const next = context.next;
      context.next = undefined;
      if (next?.type === 'http.upgrade') acceptWebSocket(context, next);
    },
    wsPump: ({ context, event }) => {
      if (event.type === 'conn.data') context.ws?.push(event.data);
      context.wsOutcome = pumpWebSocket(context);
    },
    // On entry the event is still the upgrade request's data, already handed over by acceptWebSocket.
    wsStart: ({ context }) => {
      context.wsOutcome = pumpWebSocket(context);
    },
    wsText: ({ context, event }) => {
      if (event.type === 'backend.message') wsToClient(context, false, event.body);
    },
    wsBinary: ({ context, event }) => {
      if (event.type === 'backend.message') wsToClient(context, true, event.body);
    },
    wsCloseNormal: ({ context }) => {
      context.endReason = 'backend_end';
      context.endSent = true;
      wsClose(context, CloseCode.Normal, '');
    },
    wsCloseAway: ({ context, event }) => {
      const lost = event.type === 'backend.lost';
      context.endReason = lost ? 'backend_lost' : 'shutdown';
      if (lost) context.endSent = true;
      wsClose(context, lost ? CloseCode.InternalError : CloseCode.GoingAway, lost ? 'backend gone' : 'going away');
    },
    wsAwaitClose: ({ context, event }) => {
      if (event.type === 'conn.data') context.ws?.push(event.data);
      if (clientClosed(context)) context.wsOutcome = 'closed';
    },
    tellNodeEnd: ({ context }) => {
      sendEnd(context);
    },
    endConnection: ({ context }) => {
      context.out({ type: 'conn.end' });
    },
    release: ({ context }) => {
      unbind(context);
    },
    shutdownReason: ended('shutdown'),
    idleReason: ended('idle'),
    keepAliveDone: ended('keep_alive_done'),
    clientClosedReason: ended('client_closed'),
    wsClosedReason: ended('websocket_closed'),
    wsErrorReason: ended('websocket_error'),
  },
}).createMachine({
  id: 'gatewaySession',
  context: ({ input }) => createSessionContext(input),
  initial: 'reading',
  on: {
    'conn.closed': { target: '.closed' },
  },
  states: {
    reading: {
      entry: ['armReading', 'resume', 'poll'],
      always: [
        { guard: 'nextRequest', target: 'waiting', actions: 'forward' },
        { guard: 'nextUpgrade', target: 'websocket', actions: 'acceptWebSocket' },
        { guard: 'nextRejectClosing', target: 'closing', actions: 'answerReject' },
        { guard: 'nextReject', target: 'reading', reenter: true, actions: 'answerReject' },
      ],
      on: {
        'conn.data': { actions: ['append', 'poll'] },
        'conn.end': { target: 'closing', actions: 'clientClosedReason' },
        'session.tick': [
          { guard: 'expiredMidHead', target: 'closing', actions: 'answer408' },
          { guard: 'expired', target: 'closing', actions: 'idleReason' },
        ],
        'session.drain': { target: 'closing', actions: 'shutdownReason' },
        'lifecycle.shutdown': { target: 'closing', actions: 'shutdownReason' },
        'backend.lost': { actions: 'nodeLost' },
        'backend.message': [{ guard: 'isEnd', target: 'closing', actions: 'backendEnded' }, { actions: 'dropUnexpected' }],
      },
    },
    waiting: {
      entry: 'armBackend',
      always: { guard: 'bodyBroken', target: 'closing', actions: 'answerBadBody' },
      on: {
        'conn.data': { actions: 'pumpBody' },
        'conn.end': { actions: 'clientEnded' },
        'backend.message': [
          { guard: 'headDoneKeep', target: 'reading', actions: 'applyResponse' },
          { guard: 'headDoneClose', target: 'closing', actions: ['applyResponse', 'keepAliveDone'] },
          { guard: 'headStarted', target: 'streaming', actions: 'applyResponse' },
          { guard: 'headInformational', actions: 'applyResponse' },
          { guard: 'headBad', target: 'closing', actions: 'answer502Bad' },
          { guard: 'isEnd', target: 'closing', actions: 'answer502Ended' },
          { guard: 'isChunk', target: 'closing', actions: 'answer502Bad' },
          { actions: 'dropUnexpected' },
        ],
        'backend.lost': { target: 'closing', actions: 'answer502Lost' },
        'session.tick': { guard: 'expired', target: 'closing', actions: 'answer504' },
        'session.drain': { actions: 'markDraining' },
        'lifecycle.shutdown': { actions: 'markDraining' },
      },
    },
    streaming: {
      entry: 'armBackend',
      always: { guard: 'bodyBroken', target: 'closing', actions: 'answerBadBody' },
      on: {
        'conn.data': { actions: 'pumpBody' },
        'conn.end': { actions: 'clientEnded' },
        'backend.message': [
          { guard: 'bodyDoneKeep', target: 'reading', actions: 'continueResponse' },
          { guard: 'bodyDoneClose', target: 'closing', actions: ['continueResponse', 'keepAliveDone'] },
          { guard: 'isBody', actions: ['continueResponse', 'armBackend'] },
          { guard: 'isEnd', target: 'closing', actions: 'backendEnded' },
          { actions: 'dropUnexpected' },
        ],
        'backend.lost': { target: 'closing', actions: 'cutResponse' },
        'session.tick': { guard: 'expired', target: 'closing', actions: 'cutResponse' },
        'session.drain': { actions: 'markDraining' },
        'lifecycle.shutdown': { actions: 'markDraining' },
      },
    },
    websocket: {
      entry: ['clearDeadline', 'wsStart'],
      always: [
        { guard: 'wsClosed', target: 'closing', actions: 'wsClosedReason' },
        { guard: 'wsFailed', target: 'closing', actions: 'wsErrorReason' },
      ],
      on: {
        'conn.data': { actions: 'wsPump' },
        'conn.end': { target: 'closing', actions: 'wsClosedReason' },
        'backend.message': [
          { guard: 'isText', actions: 'wsText' },
          { guard: 'isBinary', actions: 'wsBinary' },
          { guard: 'isEnd', target: 'wsClosing', actions: 'wsCloseNormal' },
          { actions: 'dropUnexpected' },
        ],
        'backend.lost': { target: 'wsClosing', actions: 'wsCloseAway' },
        'session.drain': { target: 'wsClosing', actions: 'wsCloseAway' },
        'lifecycle.shutdown': { target: 'wsClosing', actions: 'wsCloseAway' },
      },
    },
    wsClosing: {
      entry: ['armClose', 'tellNodeEnd'],
      always: { guard: 'wsClosed', target: 'closing' },
      on: {
        'conn.data': { actions: 'wsAwaitClose' },
        'conn.end': { target: 'closing' },
        'session.tick': { guard: 'expired', target: 'closing' },
      },
    },
    closing: {
      entry: ['tellNodeEnd', 'endConnection', 'armClose'],
      on: {
        'session.tick': { guard: 'expired', target: 'closed' },
      },
    },
    closed: {
      type: 'final',
      entry: 'release',
    },
  },
  output: ({ context }) => ({ reason: context.endReason, requests: context.requests }),
});

export type GatewaySessionLogic = typeof gatewaySession;
