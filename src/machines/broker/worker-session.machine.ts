import { assign, setup } from 'xstate';
import type { SessionEndReason } from './broker-core.js';

export interface WorkerSessionInput {
  readonly key: string;
  readonly hex: string;
  readonly service: string;
  readonly credit: number;
}

export type WorkerSessionEvent =
  | { type: 'session.update'; inFlight: number; served: number }
  | { type: 'session.end'; reason: SessionEndReason };

export interface WorkerSessionContext extends WorkerSessionInput {
  inFlight: number;
  served: number;
  endReason: SessionEndReason | undefined;
}

/**
 * The life of one registered worker as the broker sees it: idle or busy while
 * registered, then gone with a reason (expired, disconnected, replaced,
 * shutdown). The broker's routing table is the authority; this actor makes a
 * worker's life visible (inspector, logs) and is updated on heartbeat ticks,
 * not per message.
 */
export const workerSession = setup({
  types: {
    input: {} as WorkerSessionInput,
    context: {} as WorkerSessionContext,
    events: {} as WorkerSessionEvent,
    output: {} as { reason: SessionEndReason },
  },
  guards: {
    busy: ({ event }) => event.type === 'session.update' && event.inFlight > 0,
  },
  actions: {
    record: assign(({ event }) => (event.type === 'session.update' ? { inFlight: event.inFlight, served: event.served } : {})),
    recordEnd: assign(({ event }) => (event.type === 'session.end' ? { endReason: event.reason } : {})),
  },
}).createMachine({
  id: 'workerSession',
  context: ({ input }) => ({ ...input, inFlight: 0, served: 0, endReason: undefined }),
  initial: 'idle',
  on: {
    'session.end': { target: '.gone', actions: 'recordEnd' },
  },
  states: {
    idle: {
      on: { 'session.update': [{ guard: 'busy', target: 'busy', actions: 'record' }, { actions: 'record' }] },
    },
    busy: {
      on: { 'session.update': [{ guard: 'busy', actions: 'record' }, { target: 'idle', actions: 'record' }] },
    },
    gone: { type: 'final' },
  },
  output: ({ context }) => ({ reason: context.endReason ?? 'shutdown' }),
});
