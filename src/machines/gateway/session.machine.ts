import { setup } from 'xstate';
import { createSessionContext, type SessionContext } from './session-context.js';
import { enterClosed, enterClosing, enterHttp, enterWebSocket, enterWsClosing, step } from './session-steps.js';
import type { LifeChange, SessionActorEvent, SessionEndReason, SessionEvent, SessionInput, SessionLife } from './session-types.js';

/** The actor's context: the session's state, by reference (see `context` below). */
export interface SessionActorContext {
  readonly session: SessionContext;
}

export interface SessionOutput {
  readonly reason: SessionEndReason;
  readonly requests: number;
}

const LIFE_CHANGES: ReadonlySet<string> = new Set<LifeChange>(['session.upgraded', 'session.wsClose', 'session.close', 'session.closed']);

/**
 * One client connection's life (docs/gateway.md "Inside"), an actor per connection under
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
 * Time never arms a timer here: each state sets the session's `deadline`, and
 * the gateway's sweep sends `session.tick` to sessions whose deadline
 * passed. A head still incomplete at its deadline gets 408, and so does a
 * body that stalls (a cut once the response has started); a node silent
 * past its virtual host's timeout, counted from when it has the whole
 * request, gets 504 (before any response byte) or a cut connection
 * (after); a node that goes away before answering gets 502.
 */
export const gatewaySession = setup({
  types: {
    context: {} as SessionActorContext,
    input: {} as SessionInput,
    events: {} as SessionActorEvent,
    output: {} as SessionOutput,
  },
  actions: {
    /** Runs an event's per-message work; the life change it leads to waits in the context for `always`. */
    step: ({ context: { session }, event }) => guarded(session, () => (session.change = step(session, event as SessionEvent))),
    crash: ({ context: { session }, event }) => {
      // The connection's call into the per-message code threw: fail like any actor whose action throws.
      const error = (event as { error: unknown }).error;
      session.out({ type: 'session.crashed', error });
      throw error;
    },
    enterHttp: ({ context: { session } }) => guarded(session, () => (session.change = enterHttp(session))),
    enterWebSocket: ({ context: { session } }) => guarded(session, () => (session.change = enterWebSocket(session))),
    enterWsClosing: ({ context: { session } }) =>
      guarded(session, () => {
        session.change = undefined;
        enterWsClosing(session);
      }),
    enterClosing: ({ context: { session } }) =>
      guarded(session, () => {
        session.change = undefined;
        enterClosing(session);
      }),
    enterClosed: ({ context: { session } }) =>
      guarded(session, () => {
        session.change = undefined;
        enterClosed(session);
      }),
  },
  guards: {
    changes: ({ context }, to: LifeChange) => context.session.change === to,
  },
}).createMachine({
  id: 'gatewaySession',
  // XState makes a machine's context with `assign`, which copies it into a new plain object: the session's
  // state, a class of one hidden class, would become a copy in dictionary mode (about 1.6 KiB per idle
  // session, and a slow property lookup on every message). So the context holds it, and it stays itself.
  context: ({ input }) => ({ session: createSessionContext(input) }),
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
  output: ({ context: { session } }) => ({ reason: session.endReason, requests: session.requests }),
});

/**
 * Runs an action's work; when it throws, the connection hears of it
 * (`session.crashed`, so it closes its socket) before the actor fails with
 * the error as XState fails any actor whose action throws. The connection
 * learns of the session's end the same way (`session.end`), without a
 * subscription (an observer and its bound methods for every idle session).
 */
function guarded(session: SessionContext, work: () => unknown): void {
  try {
    work();
  } catch (error) {
    session.out({ type: 'session.crashed', error });
    throw error;
  }
}

/** Whether an event type is a life change (what `step` returns), for the connection's fast path. */
export function isLifeChange(type: string): type is LifeChange {
  return LIFE_CHANGES.has(type);
}

export type GatewaySessionLogic = typeof gatewaySession;
export type { SessionLife };
