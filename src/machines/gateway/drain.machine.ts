import { enqueueActions, setup } from 'xstate';
import type { GatewayTables } from './gateway-tables.js';

export interface GatewayDrainConfig {
  readonly tables: GatewayTables;
  /** systemId of the HTTP adapter, told to stop accepting. */
  readonly http: string;
  /** How long sessions get to finish their exchange. */
  readonly drainTimeoutMs: number;
  /** How often the drain checks whether every session has ended. */
  readonly pollMs?: number;
}

/**
 * The gateway tree's terminator, started last so it stops first (broadway's
 * pattern): on shutdown it closes the listening sockets, asks every session
 * to finish the exchange in flight and close, and ends when none is left or
 * the drain timeout passes. Only then are the HTTP adapter, the sessions and
 * the backend socket stopped.
 */
export function gatewayDrain(config: GatewayDrainConfig) {
  return setup({
    types: { events: {} as { type: 'lifecycle.shutdown' } },
    delays: { poll: config.pollMs ?? 20, drainTimeout: config.drainTimeoutMs },
    guards: {
      empty: () => config.tables.sessions.size === 0,
    },
    actions: {
      stopAccepting: enqueueActions(({ system, enqueue }) => {
        const http = system.get(config.http);
        if (http) enqueue.sendTo(http, { type: 'http.stopAccepting' });
      }),
      drainSessions: () => {
        for (const session of [...config.tables.sessions.values()]) session.send({ type: 'session.drain' });
      },
    },
  }).createMachine({
    id: 'gatewayDrain',
    initial: 'idle',
    states: {
      idle: {
        on: { 'lifecycle.shutdown': 'draining' },
      },
      draining: {
        entry: ['stopAccepting', 'drainSessions'],
        initial: 'checking',
        after: { drainTimeout: 'done' },
        states: {
          checking: {
            always: { guard: 'empty', target: '#gatewayDrain.done' },
            after: { poll: { target: 'checking', reenter: true } },
          },
        },
      },
      done: { type: 'final' },
    },
  });
}
