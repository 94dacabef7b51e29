import { enqueueActions, setup } from 'xstate';

export interface HeartbeatMonitorInput {
  /** systemId of the actor that receives `heartbeat.tick`. */
  readonly target: string;
  readonly intervalMs: number;
}

export type HeartbeatTick = { type: 'heartbeat.tick' };

/**
 * Ticks at the heartbeat interval. Liveness is a timestamp compared on each
 * tick by whoever owns the peers, never a timer per message (docs/architecture.md "Hot path rules").
 * Its delays run on the actor system's clock, so tests drive it with
 * SimulatedClock.
 */
export const heartbeatMonitor = setup({
  types: {
    input: {} as HeartbeatMonitorInput,
    context: {} as HeartbeatMonitorInput & { ticks: number },
  },
  delays: {
    interval: ({ context }) => context.intervalMs,
  },
}).createMachine({
  id: 'heartbeatMonitor',
  context: ({ input }) => ({ ...input, ticks: 0 }),
  initial: 'waiting',
  states: {
    waiting: {
      after: {
        interval: {
          target: 'waiting',
          reenter: true,
          actions: enqueueActions(({ context, system, enqueue }) => {
            enqueue.assign({ ticks: context.ticks + 1 });
            // The target may be restarting; a missed tick is harmless, the next one comes.
            const target = system.get(context.target);
            if (target) enqueue.sendTo(target, { type: 'heartbeat.tick' } satisfies HeartbeatTick);
          }),
        },
      },
    },
  },
});
