import { enqueueActions, setup } from 'xstate';
import { statusOfRequestError } from '../../protocol/blastbeat/http-status.js';
import { CloseCode } from '../../protocol/blastbeat/websocket.js';
import {
  answer,
  continueResponse,
  forwardRequest,
  mustClose,
  pumpBody,
  readRequest,
  sendEnd,
  startResponse,
  unbind,
} from './exchange.js';
import { createSessionContext, type SessionContext } from './session-context.js';
import type { SessionEndReason, SessionEvent, SessionInput, SessionInternalEvent } from './session-types.js';
import { acceptWebSocket, clientClosed, pumpWebSocket, wsClose, wsToClient } from './websocket-exchange.js';

export interface SessionOutput {
  readonly reason: SessionEndReason;
  readonly requests: number;
}

type Event = SessionEvent | SessionInternalEvent;

function ended(reason: SessionEndReason) {
  return ({ context }: { context: SessionContext }) => {
    context.endReason = reason;
  };
}

function kindIs(...kinds: string[]) {
  return ({ event }: { event: Event }) => event.type === 'backend.message' && kinds.includes(event.kind);
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
 * Commands go out through `input.out`: the machine touches no socket.
 */
export const gatewaySession = setup({
  types: {
    input: {} as SessionInput,
    context: {} as SessionContext,
    events: {} as Event,
    output: {} as SessionOutput,
  },
  guards: {
    expired: ({ context, event }) => event.type === 'session.tick' && context.deadline > 0 && event.now >= context.deadline,
    expiredMidHead: ({ context, event }) =>
      event.type === 'session.tick' && context.deadline > 0 && event.now >= context.deadline && context.headStarted,
    rejectCloses: ({ event }) => event.type === 'http.reject' && event.close,
    responseDone: ({ context }) => context.response?.done === true,
    mustClose: ({ context }) => mustClose(context),
    isHead: kindIs('headers', 'body'),
    isChunk: kindIs('chunk'),
    isEnd: kindIs('end'),
    isBody: kindIs('body', 'chunk'),
    isText: kindIs('websocket'),
    isBinary: kindIs('websocket-binary'),
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
    pollRequest: enqueueActions(({ context, enqueue }) => {
      const next = readRequest(context);
      if (next !== undefined) enqueue.raise(next);
    }),
    answerReject: ({ context, event }) => {
      if (event.type !== 'http.reject') return;
      if (event.close) context.endReason = 'bad_request';
      answer(context, event.status, event.reason, event.message, event.close);
    },
    forward: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'http.request') return;
      forwardRequest(context, event.head, event.route, event.packet);
      const body = pumpBody(context);
      if (body !== 'ok') enqueue.raise({ type: 'http.badBody', reason: body.reason, detail: body.detail });
    }),
    pumpBody: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'conn.data') return;
      const stream = context.stream;
      stream.push(event.data);
      const body = pumpBody(context);
      if (body !== 'ok') {
        enqueue.raise({ type: 'http.badBody', reason: body.reason, detail: body.detail });
        return;
      }
      // Pipelined requests wait in the buffer; past a bound, stop reading until the response is out.
      if (!stream.inBody && stream.buffered > context.limits.maxPipelined && !context.paused) {
        context.paused = true;
        context.out({ type: 'conn.pause' });
      }
    }),
    answerBadBody: ({ context, event }) => {
      if (event.type !== 'http.badBody') return;
      context.endReason = 'bad_request';
      if (context.response === undefined) answer(context, statusOfRequestError(event.reason), event.reason, event.detail, true);
      else context.out({ type: 'session.error', status: 0, reason: event.reason });
    },
    clientEnded: ({ context }) => {
      context.clientEnded = true;
    },
    respond: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'backend.message') return;
      const outcome = startResponse(context, event.body);
      if (outcome === 'started') enqueue.raise({ type: 'response.started' });
      else if (outcome === 'bad') enqueue.raise({ type: 'response.bad' });
    }),
    continueResponse: ({ context, event }) => {
      if (event.type !== 'backend.message' || (event.kind !== 'body' && event.kind !== 'chunk')) return;
      continueResponse(context, event.kind, event.body);
    },
    answer502Bad: ({ context }) => {
      context.endReason = 'bad_response';
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
    acceptWebSocket: ({ context, event }) => {
      if (event.type === 'http.upgrade') acceptWebSocket(context, event);
    },
    wsPump: enqueueActions(({ context, event, enqueue }) => {
      if (event.type === 'conn.data') context.ws?.push(event.data);
      const outcome = pumpWebSocket(context);
      if (outcome === 'closed') enqueue.raise({ type: 'ws.closed' });
      else if (outcome === 'failed') enqueue.raise({ type: 'ws.failed' });
    }),
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
      context.endReason = event.type === 'backend.lost' ? 'backend_lost' : 'shutdown';
      if (event.type === 'backend.lost') context.endSent = true;
      wsClose(context, event.type === 'backend.lost' ? CloseCode.InternalError : CloseCode.GoingAway, event.type === 'backend.lost' ? 'backend gone' : 'going away');
    },
    wsAwaitClose: enqueueActions(({ context, event, enqueue }) => {
      if (event.type === 'conn.data') context.ws?.push(event.data);
      if (clientClosed(context)) enqueue.raise({ type: 'ws.closed' });
    }),
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
      entry: ['armReading', 'resume', 'pollRequest'],
      on: {
        'conn.data': { actions: ['append', 'pollRequest'] },
        'http.request': { target: 'waiting', actions: 'forward' },
        'http.upgrade': { target: 'websocket', actions: 'acceptWebSocket' },
        'http.reject': [
          { guard: 'rejectCloses', target: 'closing', actions: 'answerReject' },
          { target: 'reading', reenter: true, actions: 'answerReject' },
        ],
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
      on: {
        'conn.data': { actions: 'pumpBody' },
        'conn.end': { actions: 'clientEnded' },
        'http.badBody': { target: 'closing', actions: 'answerBadBody' },
        'backend.message': [
          { guard: 'isHead', actions: 'respond' },
          { guard: 'isEnd', target: 'closing', actions: 'answer502Ended' },
          { guard: 'isChunk', target: 'closing', actions: 'answer502Bad' },
          { actions: 'dropUnexpected' },
        ],
        'response.started': { target: 'streaming' },
        'response.bad': { target: 'closing', actions: 'answer502Bad' },
        'backend.lost': { target: 'closing', actions: 'answer502Lost' },
        'session.tick': { guard: 'expired', target: 'closing', actions: 'answer504' },
        'session.drain': { actions: 'markDraining' },
        'lifecycle.shutdown': { actions: 'markDraining' },
      },
    },
    streaming: {
      entry: 'armBackend',
      always: { guard: 'responseDone', target: 'responded' },
      on: {
        'conn.data': { actions: 'pumpBody' },
        'conn.end': { actions: 'clientEnded' },
        'http.badBody': { target: 'closing', actions: 'answerBadBody' },
        'backend.message': [
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
    responded: {
      always: [{ guard: 'mustClose', target: 'closing', actions: 'keepAliveDone' }, { target: 'reading' }],
    },
    websocket: {
      entry: ['clearDeadline', 'wsPump'],
      on: {
        'conn.data': { actions: 'wsPump' },
        'ws.closed': { target: 'closing', actions: 'wsClosedReason' },
        'ws.failed': { target: 'closing', actions: 'wsErrorReason' },
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
      on: {
        'conn.data': { actions: 'wsAwaitClose' },
        'ws.closed': { target: 'closing' },
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
