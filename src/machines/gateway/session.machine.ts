import { setup } from 'xstate';
import { createSessionContext, type SessionContext } from './session-context.js';
import { enterClosed, enterClosing, enterHttp, enterWebSocket, enterWsClosing, step } from './session-steps.js';
import type { LifeChange, SessionActorEvent, SessionEndReason, SessionEvent, SessionInput, SessionLife } from './session-types.js';

export interface SessionOutput {
  readonly reason: SessionEndReason;
  readonly requests: number;
}

const LIFE_CHANGES: ReadonlySet<string> = new Set<LifeChange>(['session.upgraded', 'session.wsClose', 'session.close', 'session.closed']);

/**
 * One client connection's life (DESIGN 5.6), an actor per connection under
 * the gateway's sessions supervisor:
 *
 *   http ──upgraded──> websocket ──wsClose──> wsClosing
 *     │                  │                       │
 *     └──────close───────┴─────────close─────────┴──> closing ──closed──> closed
 *
 * `http` holds HTTP exchanges one after the other on a keep-alive
 * connection; each exchange (reading a head, waiting for the node,
 * streaming its response) is per-message work done by plain functions
 * (`session-steps.ts`) that the connection calls directly for client bytes
 * and node messages; they answer with the life change they lead to, which
 * the connection sends here. Rare events (a deadline, a lost node, drain,
 * shutdown, the client's FIN) come here and run the same functions. Every
 * way out passes through `closing` (the node is told `end`, the connection
 * ends after flushing) to `closed`, whose output says why.
 *
 * Time never arms a timer here: each state sets `context.deadline`, and
 * the gateway's sweep sends `session.tick` to sessions whose deadline
 * passed. A head still incomplete at its deadline gets 408, and so does a
 * body that stalls (a cut once the response has started); a node silent
 * past its virtual host's timeout, counted from when it has the whole
 * request, gets 504 (before any response byte) or a cut connection
 * (after); a node that goes away before answering gets 502.
 */
export const gatewaySession = setup({
  types: {
    context: {} as SessionContext,
    input: {} as SessionInput,
    events: {} as SessionActorEvent,
    output: {} as SessionOutput,
  },
  actions: {
    /** Runs an event's per-message work; the life change it leads to waits in the context for `always`. */
    step: ({ context, event }) => {
      context.change = step(context, event as SessionEvent);
    },
    crash: ({ event }) => {
      // The connection's call into the per-message code threw: fail like any actor whose action throws.
      throw (event as { error: unknown }).error;
    },
    enterHttp: ({ context }) => {
      context.change = enterHttp(context);
    },
    enterWebSocket: ({ context }) => {
      context.change = enterWebSocket(context);
    },
    enterWsClosing: ({ context }) => {
      context.change = undefined;
      enterWsClosing(context);
    },
    enterClosing: ({ context }) => {
      context.change = undefined;
      enterClosing(context);
    },
    enterClosed: ({ context }) => {
      context.change = undefined;
      enterClosed(context);
    },
  },
  guards: {
    changes: ({ context }, to: LifeChange) => context.change === to,
  },
}).createMachine({
  id: 'gatewaySession',
  context: ({ input }) => createSessionContext(input),
  initial: 'http',
  on: {
    'conn.data': { actions: 'step' },
    'backend.message': { actions: 'step' },
    'conn.end': { actions: 'step' },
    'conn.closed': { actions: 'step' },
    'session.tick': { actions: 'step' },
    'backend.lost': { actions: 'step' },
    'session.drain': { actions: 'step' },
    'lifecycle.shutdown': { actions: 'step' },
    'session.crash': { actions: 'crash' },
    // What the connection's direct calls into `session-steps.ts` led to.
    'session.close': '.closing',
    'session.closed': '.closed',
  },
  states: {
    http: {
      entry: 'enterHttp',
      on: { 'session.upgraded': 'websocket' },
      always: [
        { guard: { type: 'changes', params: 'session.upgraded' }, target: 'websocket' },
        { guard: { type: 'changes', params: 'session.close' }, target: 'closing' },
        { guard: { type: 'changes', params: 'session.closed' }, target: 'closed' },
      ],
    },
    websocket: {
      entry: 'enterWebSocket',
      on: { 'session.wsClose': 'wsClosing' },
      always: [
        { guard: { type: 'changes', params: 'session.wsClose' }, target: 'wsClosing' },
        { guard: { type: 'changes', params: 'session.close' }, target: 'closing' },
        { guard: { type: 'changes', params: 'session.closed' }, target: 'closed' },
      ],
    },
    wsClosing: {
      entry: 'enterWsClosing',
      always: [
        { guard: { type: 'changes', params: 'session.close' }, target: 'closing' },
        { guard: { type: 'changes', params: 'session.closed' }, target: 'closed' },
      ],
    },
    closing: {
      entry: 'enterClosing',
      // Already closing: a second close (the client's FIN while flushing) changes nothing.
      on: { 'session.close': {} },
      always: { guard: { type: 'changes', params: 'session.closed' }, target: 'closed' },
    },
    closed: {
      type: 'final',
      entry: 'enterClosed',
    },
  },
  output: ({ context }) => ({ reason: context.endReason, requests: context.requests }),
});

/** Whether an event type is a life change (what `step` returns), for the connection's fast path. */
export function isLifeChange(type: string): type is LifeChange {
  return LIFE_CHANGES.has(type);
}

export type GatewaySessionLogic = typeof gatewaySession;
export type { SessionLife };
