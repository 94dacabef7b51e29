import { assign, enqueueActions, setup } from 'xstate';
import type { EntryState } from '../../protocol/keywords.js';

export interface RegistryEntryInput {
  readonly service: string;
  readonly generation: number;
  readonly dispatch: string;
  readonly broadcast: string;
  /** systemId of the registry machine, told when this entry turns suspect, registered again, or expires. */
  readonly registry: string;
  /** Silence after which the dispatcher is suspect (still listed, flagged in lookups). */
  readonly suspectAfterMs: number;
  /** Silence after which it is dropped and its ports freed. */
  readonly expiryMs: number;
}

export type RegistryEntryEvent = { type: 'entry.heartbeat' } | { type: 'entry.release' };

/** What an entry tells the registry machine. */
export type RegistryEntryReport =
  | { type: 'registry.entryState'; service: string; generation: number; state: EntryState }
  | { type: 'registry.entryExpired'; service: string; generation: number };

export type RegistryEntryOutput = { reason: 'expired' | 'released' };

/**
 * One registered dispatcher, as the registry sees it: registered while it
 * heartbeats, suspect after a missed beat or two, expired after the expiry.
 * Heartbeats come every second or so, not per message, so a timer per entry
 * is cheap; its delays run on the system clock (SimulatedClock in tests).
 */
export const registryEntry = setup({
  types: {
    input: {} as RegistryEntryInput,
    context: {} as RegistryEntryInput & { endReason: RegistryEntryOutput['reason'] },
    events: {} as RegistryEntryEvent,
    output: {} as RegistryEntryOutput,
  },
  delays: {
    suspectAfter: ({ context }) => Math.min(context.suspectAfterMs, context.expiryMs),
    expireAfter: ({ context }) => Math.max(0, context.expiryMs - Math.min(context.suspectAfterMs, context.expiryMs)),
  },
  actions: {
    report: enqueueActions(({ context, system, enqueue }, params: { state: EntryState }) => {
      const registry = system.get(context.registry);
      const report: RegistryEntryReport = { type: 'registry.entryState', service: context.service, generation: context.generation, state: params.state };
      if (registry) enqueue.sendTo(registry, report);
    }),
    reportExpired: enqueueActions(({ context, system, enqueue }) => {
      const registry = system.get(context.registry);
      const report: RegistryEntryReport = { type: 'registry.entryExpired', service: context.service, generation: context.generation };
      if (registry) enqueue.sendTo(registry, report);
    }),
  },
}).createMachine({
  id: 'registryEntry',
  context: ({ input }) => ({ ...input, endReason: 'released' }),
  initial: 'registered',
  on: {
    'entry.release': '.released',
  },
  states: {
    registered: {
      on: { 'entry.heartbeat': { target: 'registered', reenter: true } },
      after: { suspectAfter: 'suspect' },
    },
    suspect: {
      entry: { type: 'report', params: { state: 'suspect' } },
      on: {
        'entry.heartbeat': { target: 'registered', actions: { type: 'report', params: { state: 'registered' } } },
      },
      after: { expireAfter: 'expired' },
    },
    expired: {
      type: 'final',
      entry: ['reportExpired', assign({ endReason: 'expired' as const })],
    },
    released: { type: 'final' },
  },
  output: ({ context }) => ({ reason: context.endReason }),
});
